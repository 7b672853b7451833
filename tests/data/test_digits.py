"""load_digits reads scikit-learn's file and the committed split without importing scikit-learn."""

import importlib.machinery
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from jaxssl.data import digits
from jaxssl.errors import DatasetError


def test_images_labels_and_split_equal_scikit_learns():
  from sklearn import datasets, model_selection
  reference = datasets.load_digits()
  train_idx, test_idx = model_selection.train_test_split(
      np.arange(len(reference.target)), test_size=360, stratify=reference.target,
      random_state=0)
  images = np.rint(reference.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  dataset = digits.load_digits()
  np.testing.assert_array_equal(dataset.train_images, images[np.sort(train_idx)])
  np.testing.assert_array_equal(dataset.train_labels, reference.target[np.sort(train_idx)])
  np.testing.assert_array_equal(dataset.test_images, images[np.sort(test_idx)])
  np.testing.assert_array_equal(dataset.test_labels, reference.target[np.sort(test_idx)])


def test_each_load_hands_out_its_own_arrays():
  first = digits.load_digits()
  first.train_images[:] = 0
  first.test_labels[:] = -1
  second = digits.load_digits()  # parsed once per process, copied for every caller
  assert second.train_images.max() == 255 and second.test_labels.min() == 0
  assert second.train_images.flags.writeable


def test_loading_does_not_import_scikit_learn_or_scipy():
  code = ("import sys; from jaxssl.data import digits; digits.load_digits(); "
          "assert not [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')]")
  subprocess.run([sys.executable, "-c", code], check=True)


def test_without_scikit_learn_the_error_names_the_package_to_install(monkeypatch):
  monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
  with pytest.raises(DatasetError, match=r"not installed: pip install 'scikit-learn"):
    digits.load_digits()


def test_a_scikit_learn_without_the_file_is_named_in_the_error(monkeypatch, tmp_path):
  spec = importlib.machinery.ModuleSpec("sklearn", None, is_package=True)
  spec.submodule_search_locations = [str(tmp_path)]
  monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
  with pytest.raises(DatasetError, match=f"scikit-learn at {tmp_path} has no .*digits.csv.gz"):
    digits.load_digits()
