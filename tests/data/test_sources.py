"""load_source: digits, name parsing, and no TensorFlow on import."""

import subprocess
import sys

import numpy as np
import pytest

from jaxssl.data import load_source
from jaxssl.errors import ConfigError


def test_digits_shapes_ranges_and_fixed_split():
  dataset = load_source("digits")
  assert dataset.name == "digits"
  assert dataset.train_images.shape == (1437, 8, 8, 1)
  assert dataset.test_images.shape == (360, 8, 8, 1)
  assert dataset.train_images.dtype == np.uint8
  assert dataset.train_labels.dtype == np.int32
  assert dataset.train_images.min() == 0 and dataset.train_images.max() == 255
  assert dataset.num_classes == 10 and dataset.class_names[3] == "3"
  assert dataset.image_shape == (8, 8, 1)
  # Stratified: every class has 35 to 37 of the 360 test images.
  assert set(np.bincount(dataset.test_labels)) <= {35, 36, 37}
  again = load_source("digits")
  np.testing.assert_array_equal(dataset.test_images, again.test_images)


@pytest.mark.parametrize("name", ["mnist", "tfds:", "folder:", "digit", ""])
def test_unknown_source_lists_valid_forms(name):
  with pytest.raises(ConfigError, match="'digits'.*'tfds:<name>.*'folder:<root>'"):
    load_source(name)


def test_digits_refuses_other_splits():
  with pytest.raises(ConfigError, match="fixed train/test split"):
    load_source("digits", test_split="validation")


def test_import_does_not_load_tensorflow():
  code = ("import sys, jaxssl.data; "
          "assert not [m for m in sys.modules if m.startswith('tensorflow')]")
  subprocess.run([sys.executable, "-c", code], check=True)
