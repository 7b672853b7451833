"""TensorFlow Datasets loaded whole into host memory.

TensorFlow is imported only when a TFDS data set is used, so the digits and
folder sources and the device pipeline run without it.
"""

import functools

import numpy as np

from jaxssl.data.dataset import Dataset
from jaxssl.errors import ConfigError, DatasetError

# Examples per tf.data batch while copying a split into numpy.
_READ_BATCH = 4096


@functools.cache
def import_tfds():
  """Imports tensorflow_datasets, keeping TensorFlow off the accelerators."""
  try:
    import tensorflow as tf
    import tensorflow_datasets as tfds
  except ImportError as e:
    raise ConfigError(
        "TFDS data sets need TensorFlow and TensorFlow Datasets; install them "
        "with pip install 'jaxssl[tfds]', or use the 'digits' or "
        "'folder:<root>' source.") from e
  # TF only reads and decodes data here; left alone it would reserve GPU
  # memory that JAX needs.
  try:
    tf.config.set_visible_devices([], "GPU")
  except RuntimeError:  # The caller already started TF; keep its devices.
    pass
  return tfds


def tfds_builder(name: str, data_dir: str | None):
  """`tfds.builder(name)` with DatasetErrors for unknown names or versions."""
  tfds = import_tfds()
  try:
    return tfds.builder(name, data_dir=data_dir)
  except tfds.core.DatasetNotFoundError as e:
    raise DatasetError(
        f"TFDS has no data set {name!r}; check the name in the catalog "
        "https://www.tensorflow.org/datasets/catalog and write it as "
        "'tfds:<name>' or 'tfds:<name>:<version>'.") from e
  except AssertionError as e:  # How tfds reports an unknown version.
    raise DatasetError(
        f"cannot open TFDS data set {name!r}: {e}. Fix the version in "
        "'tfds:<name>:<version>' or leave it out.") from e


def check_features(builder, image_key: str, label_key: str,
                   fixed_size: bool) -> None:
  """Refuses data sets without uint8 images and class labels under the keys."""
  tfds = import_tfds()
  features = builder.info.features
  name = builder.info.full_name
  for key in (image_key, label_key):
    if key not in features:
      raise DatasetError(
          f"TFDS data set {name} has no feature {key!r} (it has "
          f"{sorted(features.keys())}); pass image_key/label_key naming its "
          "image and label features.")
  image, label = features[image_key], features[label_key]
  if not isinstance(image, tfds.features.Image) or image.np_dtype != np.uint8:
    raise DatasetError(
        f"TFDS feature {name}/{image_key} is {image!r}, not uint8 images; "
        "pick an image classification data set or another image_key.")
  if not isinstance(label, tfds.features.ClassLabel):
    raise DatasetError(
        f"TFDS feature {name}/{label_key} is {label!r}, not a class label; "
        "pick another label_key.")
  if fixed_size and None in image.shape:
    raise DatasetError(
        f"TFDS data set {name} has images of varying size {image.shape}; "
        "the in-memory source needs one size. Stream it with "
        "config.data.pipeline='stream' with config.data.image_size=S, which resizes.")


def open_split(builder, split: str, **as_dataset_kwargs):
  """`builder.as_dataset(split)`, never downloading a missing data set."""
  try:
    return builder.as_dataset(split=split, **as_dataset_kwargs)
  except AssertionError as e:  # How tfds reports data that isn't prepared.
    name = builder.info.full_name
    raise DatasetError(
        f"TFDS data set {name} is not prepared in {builder.data_dir} and "
        "jaxssl never downloads it (training machines are often offline). "
        f"On a machine with internet run `tfds build {builder.name} "
        "--data_dir=DIR`, copy DIR here and pass it as data_dir "
        "(config.data.data_dir), or point data_dir at a folder that already "
        "holds it.") from e
  except (KeyError, ValueError) as e:  # An unknown split name.
    raise DatasetError(
        f"cannot read split {split!r} of TFDS data set {builder.info.full_name}: "
        f"{e}. Its splits are {sorted(builder.info.splits.keys())}.") from e


def load_tfds(name: str,
              *,
              data_dir: str | None = None,
              train_split: str = "train",
              test_split: str = "test",
              image_key: str = "image",
              label_key: str = "label",
              extra_unlabeled_split: str = "") -> Dataset:
  """Loads a TFDS image classification data set fully into numpy.

  The data must already be prepared under `data_dir` (default
  ~/tensorflow_datasets); this never downloads, so an offline machine fails
  at once with instructions instead of hanging.

  Args:
    name: a TFDS name, optionally with config and version, e.g. "cifar10",
      "svhn_cropped:3.0.0" or "imagenette/160px".
    data_dir: the TFDS data directory.
    train_split: the split used for training (TFDS slicing such as
      "train[:90%]" works).
    test_split: the split used for evaluation, e.g. "validation".
    image_key: the uint8 image feature, of fixed size.
    label_key: the ClassLabel feature.
    extra_unlabeled_split: a split of images without labels to use as
      unlabeled data only (STL-10's "unlabelled"), or "" for none.

  Returns:
    A `Dataset` named "tfds:<name>".
  """
  tfds = import_tfds()
  builder = tfds_builder(name, data_dir)
  check_features(builder, image_key, label_key, fixed_size=True)
  arrays = {}
  for split in filter(None, (train_split, test_split, extra_unlabeled_split)):
    dataset = open_split(builder, split, shuffle_files=False)
    dataset = dataset.map(lambda ex: (ex[image_key], ex[label_key]))
    batches = list(tfds.as_numpy(dataset.batch(_READ_BATCH)))
    if not batches:
      raise DatasetError(
          f"split {split!r} of TFDS data set {builder.info.full_name} is "
          "empty; choose another split.")
    arrays[split] = (np.concatenate([images for images, _ in batches]),
                     np.concatenate([labels for _, labels in batches]))
  label = builder.info.features[label_key]
  return Dataset(
      name=f"tfds:{name}",
      train_images=arrays[train_split][0],
      train_labels=arrays[train_split][1].astype(np.int32),
      test_images=arrays[test_split][0],
      test_labels=arrays[test_split][1].astype(np.int32),
      num_classes=label.num_classes,
      class_names=tuple(label.names),
      extra_unlabeled_images=(arrays[extra_unlabeled_split][0] if extra_unlabeled_split
                              else None))
