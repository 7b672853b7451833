"""scikit-learn's 8x8 handwritten digits: the offline default data set."""

import numpy as np

from jaxssl.data.dataset import Dataset

NUM_TEST = 360
SPLIT_SEED = 0


def load_digits() -> Dataset:
  """The 1,797 8x8 grayscale digits of `sklearn.datasets.load_digits`.

  The data ships inside scikit-learn, so this works without internet. Pixel
  values 0..16 are rescaled to 0..255 (round(x * 255 / 16)) and stored as
  uint8 [N, 8, 8, 1].

  The split is fixed: `sklearn.model_selection.train_test_split` with
  `test_size=360` (about 20%), stratified by label, `random_state=0`, giving
  1,437 train and 360 test images (35 to 37 per class in test). Both splits
  keep the original order of the data set.

  Returns:
    A `Dataset` named "digits" with classes "0".."9".
  """
  # Imported here because sklearn pulls in scipy, and `import jaxssl` should
  # stay fast for users who never touch digits.
  from sklearn import datasets, model_selection

  digits = datasets.load_digits()
  images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  labels = digits.target.astype(np.int32)
  train_idx, test_idx = model_selection.train_test_split(
      np.arange(len(labels)),
      test_size=NUM_TEST,
      stratify=labels,
      random_state=SPLIT_SEED)
  train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
  return Dataset(
      name="digits",
      train_images=images[train_idx],
      train_labels=labels[train_idx],
      test_images=images[test_idx],
      test_labels=labels[test_idx],
      num_classes=10,
      class_names=tuple(str(d) for d in range(10)))
