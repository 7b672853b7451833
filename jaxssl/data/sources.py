"""`load_source`: one name string picks digits, a TFDS data set or a folder."""

import os

from jaxssl.data.dataset import Dataset
from jaxssl.data.digits import load_digits
from jaxssl.data.folder import load_folder
from jaxssl.data.tfds_source import load_tfds
from jaxssl.errors import ConfigError

SOURCE_FORMS = (
    "'digits' (scikit-learn's 8x8 digits, offline)",
    "'tfds:<name>[:<version>]' such as 'tfds:cifar10' (prepared under data_dir)",
    "'folder:<root>' with images in root/{train,test}/<class>/",
)


def load_source(name: str,
                data_dir: str | None = None,
                *,
                train_split: str = "train",
                test_split: str = "test",
                extra_unlabeled_split: str = "") -> Dataset:
  """Loads the data set that `name` describes into host memory.

  Args:
    name: "digits", "tfds:<name>[:<version>]" or "folder:<root>".
    data_dir: the TFDS data directory for "tfds:" names; for "folder:" names
      a relative root is taken relative to it. "digits" ships with
      scikit-learn and ignores it.
    train_split: the TFDS split or folder used for training.
    test_split: the TFDS split or folder used for evaluation (e.g.
      "validation" for ImageNet).
    extra_unlabeled_split: a TFDS split of unlabeled images added to the
      unlabeled data (STL-10's "unlabelled"); "" for none.

  Returns:
    The `Dataset`.

  Raises:
    ConfigError: `name` has none of the forms above, or digits was asked for
      other splits than its fixed ones.
    DatasetError: the data set is missing, empty or unreadable.
  """
  kind, _, argument = name.partition(":")
  if extra_unlabeled_split and kind != "tfds":
    raise ConfigError(
        f"config.data.extra_unlabeled_split={extra_unlabeled_split!r} names a TFDS split, but "
        f"the source is {name!r}; set it to '' or use a 'tfds:' source.")
  if name == "digits":
    if (train_split, test_split) != ("train", "test"):
      raise ConfigError(
          "the digits source has one fixed train/test split; leave "
          "train_split and test_split at 'train' and 'test'.")
    return load_digits()
  if kind == "tfds" and argument:
    return load_tfds(argument, data_dir=data_dir, train_split=train_split,
                     test_split=test_split, extra_unlabeled_split=extra_unlabeled_split)
  if kind == "folder" and argument:
    root = os.path.join(data_dir, argument) if data_dir else argument
    return load_folder(root, train_split=train_split, test_split=test_split)
  raise ConfigError(
      f"unknown data source {name!r}; use one of: {', '.join(SOURCE_FORMS)}.")
