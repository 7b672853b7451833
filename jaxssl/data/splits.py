"""The labeled subset: drawn once per (data set, labels, seed), kept on disk."""

import hashlib
import json
import os

import numpy as np

from jaxssl.errors import DatasetError, WorkdirMismatchError, nearest_multiples

SPLIT_FILE = "labeled_split.json"


def labeled_split(labels: np.ndarray, num_labeled: int, num_classes: int,
                  seed: int) -> np.ndarray:
  """Indices of a class-balanced labeled subset, as in the SSL literature.

  Draws num_labeled / num_classes examples of every class uniformly without
  replacement, with a numpy generator seeded by `seed`, so one seed always
  gives the same subset and different seeds give different ones.

  Args:
    labels: int [N] train labels in [0, num_classes).
    num_labeled: size of the subset; a positive multiple of num_classes, or
      -1 for every training example (fully supervised).
    num_classes: number of classes.
    seed: the split seed.

  Returns:
    int64 [num_labeled] sorted indices into `labels`.

  Raises:
    DatasetError: num_labeled is not positive, not divisible by num_classes,
      or a class has fewer examples than its share.
  """
  if num_labeled == -1:
    return np.arange(len(labels), dtype=np.int64)
  if num_labeled <= 0:
    raise DatasetError(
        f"num_labeled={num_labeled}; it must be a positive multiple of "
        f"num_classes={num_classes}, e.g. {4 * num_classes} (or -1 for every label).")
  if num_labeled % num_classes:
    raise DatasetError(
        f"num_labeled={num_labeled} can't be split evenly over "
        f"{num_classes} classes; use a multiple of {num_classes} such as "
        f"{nearest_multiples(num_labeled, num_classes)}.")
  per_class = num_labeled // num_classes
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  chosen = []
  for label in range(num_classes):
    members = np.flatnonzero(labels == label)
    if len(members) < per_class:
      raise DatasetError(
          f"class {label} has {len(members)} train examples but "
          f"num_labeled={num_labeled} needs {per_class} per class; use at "
          f"most {num_classes * min(np.bincount(labels, minlength=num_classes))} "
          "labels.")
    chosen.append(rng.choice(members, size=per_class, replace=False))
  return np.sort(np.concatenate(chosen)).astype(np.int64)


def unlabeled_indices(num_train: int, labeled: np.ndarray,
                      include_labeled: bool = True, num_extra: int = 0) -> np.ndarray:
  """Indices of the unlabeled set in the unlabeled pool (`Dataset.pool_images`).

  FixMatch and MixMatch use the whole train split as unlabeled data, labeled
  examples included (`include_labeled=True`); other protocols hold them out.
  The `num_extra` images of an extra unlabeled split (indices num_train ...)
  are always included.

  Returns:
    int64 sorted indices: < num_train into the train split, the rest extra.
  """
  everything = np.arange(num_train + num_extra, dtype=np.int64)
  if include_labeled:
    return everything
  return np.setdiff1d(everything, labeled)


def indices_sha256(indices: np.ndarray) -> str:
  """A hash of the indices that doesn't depend on their numpy dtype."""
  return hashlib.sha256(np.asarray(indices, "<i8").tobytes()).hexdigest()


def persist_split(workdir: str, indices: np.ndarray, fingerprint: dict) -> None:
  """Writes the labeled split to workdir/labeled_split.json, or checks it.

  The first call writes the indices, their sha256 and `fingerprint`. Every
  later call (a resumed run) must bring the same fingerprint and indices, so
  a run can never continue on a different labeled subset. The file is never
  overwritten.

  Args:
    workdir: the run's directory (created if missing).
    indices: the labeled indices from `labeled_split`.
    fingerprint: JSON-serializable facts that determine the split, e.g.
      {"dataset": "tfds:cifar10", "num_labeled": 250, "seed": 0,
       "train_labels_sha256": ...}.

  Raises:
    WorkdirMismatchError: the workdir holds another split, or a file that is
      not a valid split.
  """
  path = os.path.join(workdir, SPLIT_FILE)
  record = {
      "fingerprint": json.loads(json.dumps(fingerprint)),
      "sha256": indices_sha256(indices),
      "indices": [int(i) for i in indices],
  }
  if not os.path.exists(path):
    os.makedirs(workdir, exist_ok=True)
    # Write then rename, so a crash never leaves half a file, and processes
    # sharing the workdir never read one.
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as f:
      json.dump(record, f)
    os.replace(temporary, path)
    return
  fix = (f"Use a new --workdir for this configuration, or delete {path} "
         "(and the run's checkpoints) to start over.")
  try:
    with open(path) as f:
      stored = json.load(f)
    stored_hash = indices_sha256(stored["indices"])
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise WorkdirMismatchError(
        f"{path} is not a labeled split written by jaxssl ({e}). {fix}") from e
  if stored_hash != stored.get("sha256"):
    raise WorkdirMismatchError(
        f"{path} is damaged: its indices don't match its sha256. {fix}")
  if stored.get("fingerprint") != record["fingerprint"]:
    raise WorkdirMismatchError(
        f"{path} holds the labeled split of {stored.get('fingerprint')}, but "
        f"this run asks for {record['fingerprint']}. {fix}")
  if stored_hash != record["sha256"]:
    raise WorkdirMismatchError(
        f"{path} has the same fingerprint {record['fingerprint']} but other "
        f"indices (sha256 {stored_hash[:12]}... vs {record['sha256'][:12]}...), "
        f"so the split would change on resume. {fix}")
