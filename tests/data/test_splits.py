"""Labeled split: balanced, seeded, persisted and verified on resume."""

import json

import numpy as np
import pytest

from jaxssl.data import labeled_split, persist_split, unlabeled_indices
from jaxssl.errors import DatasetError, WorkdirMismatchError

LABELS = np.repeat(np.arange(4), 25)[np.random.default_rng(1).permutation(100)]


def test_labeled_split_is_balanced_sorted_and_unique():
  indices = labeled_split(LABELS, num_labeled=40, num_classes=4, seed=0)
  assert len(indices) == 40
  assert np.all(np.diff(indices) > 0)
  np.testing.assert_array_equal(np.bincount(LABELS[indices]), [10] * 4)


def test_labeled_split_depends_only_on_seed():
  first = labeled_split(LABELS, 20, 4, seed=3)
  np.testing.assert_array_equal(first, labeled_split(LABELS, 20, 4, seed=3))
  assert not np.array_equal(first, labeled_split(LABELS, 20, 4, seed=4))


@pytest.mark.parametrize("num_labeled, message", [
    (0, "positive multiple of num_classes=4"),
    (-8, "positive multiple"),
    (10, "such as 8 or 12"),
    (3, r"such as 4\.$"),  # not "4 or 4": below the first multiple, only that one
    (120, "class 0 has 25 train examples but num_labeled=120 needs 30"),
])
def test_labeled_split_refuses_bad_counts(num_labeled, message):
  with pytest.raises(DatasetError, match=message):
    labeled_split(LABELS, num_labeled, 4, seed=0)


def test_unlabeled_indices_include_or_hold_out_labeled():
  labeled = np.array([1, 5, 7])
  np.testing.assert_array_equal(unlabeled_indices(10, labeled), np.arange(10))
  np.testing.assert_array_equal(
      unlabeled_indices(10, labeled, include_labeled=False),
      [0, 2, 3, 4, 6, 8, 9])


def test_persist_split_writes_then_verifies(tmp_path):
  workdir = tmp_path / "run"
  indices = labeled_split(LABELS, 8, 4, seed=0)
  fingerprint = {"dataset": "digits", "num_labeled": 8, "seed": 0}
  persist_split(str(workdir), indices, fingerprint)
  stored = json.loads((workdir / "labeled_split.json").read_text())
  assert stored["indices"] == indices.tolist()
  assert stored["fingerprint"] == fingerprint
  assert len(stored["sha256"]) == 64
  # A resumed run with the same split passes, whatever the index dtype.
  persist_split(str(workdir), indices.astype(np.int32), dict(fingerprint))


def test_persist_split_refuses_other_split_and_keeps_file(tmp_path):
  indices = labeled_split(LABELS, 8, 4, seed=0)
  persist_split(str(tmp_path), indices, {"seed": 0})
  path = tmp_path / "labeled_split.json"
  before = path.read_bytes()
  with pytest.raises(WorkdirMismatchError) as error:
    persist_split(str(tmp_path), labeled_split(LABELS, 8, 4, seed=1),
                  {"seed": 1})
  message = str(error.value)
  assert "{'seed': 0}" in message and "{'seed': 1}" in message
  assert "new --workdir" in message and str(path) in message
  with pytest.raises(WorkdirMismatchError, match="other indices"):
    persist_split(str(tmp_path), indices[::-1][:4], {"seed": 0})
  assert path.read_bytes() == before


def test_persist_split_refuses_damaged_file(tmp_path):
  path = tmp_path / "labeled_split.json"
  path.write_text("{not json")
  with pytest.raises(WorkdirMismatchError, match="not a labeled split"):
    persist_split(str(tmp_path), np.arange(4), {})
  path.write_text(json.dumps(
      {"fingerprint": {}, "sha256": "0" * 64, "indices": [0, 1, 2, 3]}))
  with pytest.raises(WorkdirMismatchError, match="damaged"):
    persist_split(str(tmp_path), np.arange(4), {})
