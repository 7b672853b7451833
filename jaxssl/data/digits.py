"""scikit-learn's 8x8 handwritten digits: the offline default data set."""

import functools
import importlib.util
import pathlib

import numpy as np

from jaxssl.data.dataset import Dataset
from jaxssl.errors import DatasetError

TEST_INDICES_FILE = pathlib.Path(__file__).with_name("digits_test_indices.txt")


def _digits_csv() -> pathlib.Path:
  """The digits file that scikit-learn ships (`sklearn/datasets/data/digits.csv.gz`).

  Found without importing scikit-learn, which would pull in scipy: 2-3 s at
  the start of every run and every test process.
  """
  spec = importlib.util.find_spec("sklearn")
  if spec is None or not spec.submodule_search_locations:
    raise DatasetError("the digits data set comes with scikit-learn, which is not installed: "
                       "pip install 'scikit-learn>=1.3', or choose another data set.")
  package = pathlib.Path(list(spec.submodule_search_locations)[0])
  path = package / "datasets" / "data" / "digits.csv.gz"
  if not path.is_file():
    raise DatasetError(
        f"the scikit-learn at {package} has no datasets/data/digits.csv.gz, the file jaxssl "
        "reads the digits from: install a scikit-learn that ships it (1.9 does), or choose "
        "another data set.")
  return path


@functools.cache
def _read_digits(csv: pathlib.Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Images, labels and the test mask, parsed once per file and process (read-only arrays).

  Parsing the CSV takes ~0.1 s; a sweep or a test process builds the data set
  many times. `load_digits` hands out copies (boolean indexing copies).
  """
  table = np.loadtxt(csv, delimiter=",", dtype=np.float64)
  images = np.rint(table[:, :64].reshape(-1, 8, 8) * (255.0 / 16.0)).astype(np.uint8)[..., None]
  labels = table[:, 64].astype(np.int32)
  is_test = np.zeros(len(labels), bool)
  is_test[np.loadtxt(TEST_INDICES_FILE, dtype=np.int64)] = True
  for array in (images, labels, is_test):
    array.setflags(write=False)
  return images, labels, is_test


def load_digits() -> Dataset:
  """The 1,797 8x8 grayscale digits of `sklearn.datasets.load_digits`.

  The data ships inside scikit-learn, so this works without internet. Pixel
  values 0..16 are rescaled to 0..255 (round(x * 255 / 16)) and stored as
  uint8 [N, 8, 8, 1].

  The split is fixed: the 360 test images (about 20%, 35 to 37 per class) are
  listed in `digits_test_indices.txt`, which is what
  `sklearn.model_selection.train_test_split(test_size=360, stratify=labels,
  random_state=0)` draws; the other 1,437 are the training images. Both
  splits keep the original order of the data set.

  Returns:
    A `Dataset` named "digits" with classes "0".."9".
  """
  images, labels, is_test = _read_digits(_digits_csv())
  return Dataset(
      name="digits",
      train_images=images[~is_test],
      train_labels=labels[~is_test],
      test_images=images[is_test],
      test_labels=labels[is_test],
      num_classes=10,
      class_names=tuple(str(d) for d in range(10)))
