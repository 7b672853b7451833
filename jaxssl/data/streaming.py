"""Streaming from TFDS via tf.data, for data sets too big for the device.

Each process reads its own part of the data and yields its part of every
global batch; `to_global_batch` assembles the parts into sharded arrays. The
order is reproducible for a seed but does not resume mid-epoch: a restarted
run draws anew.

For semi-supervised training (`make_ssl_streams`) the labeled subset and the
unlabeled set are picked by index in the train split: the split is read in
its stored order and numbered, the records are dealt to the processes
(record i to process i mod P) before their images are decoded, and each
process decodes only its own.
"""

import jax
import numpy as np
from jax.sharding import Sharding

from jaxssl.data.dataset import channel_stats
from jaxssl.data.tfds_source import (check_features, import_tfds, open_split,
                                     tfds_builder)
from jaxssl.errors import ConfigError, DatasetError


def _resize_and_center_crop(image, size: int):
  """Scales the shorter side to `size`, then crops the central square."""
  import tensorflow as tf

  height, width = tf.shape(image)[0], tf.shape(image)[1]
  scale = size / tf.cast(tf.minimum(height, width), tf.float32)
  new_height = tf.cast(tf.math.ceil(tf.cast(height, tf.float32) * scale), tf.int32)
  new_width = tf.cast(tf.math.ceil(tf.cast(width, tf.float32) * scale), tf.int32)
  image = tf.image.resize(image, (new_height, new_width), antialias=True)
  image = tf.image.resize_with_crop_or_pad(image, size, size)
  return tf.saturate_cast(tf.round(image), tf.uint8)


def _check_batch_size(batch_size: int, what: str = "stream batch_size") -> int:
  """The per-process share of a global batch, or a ConfigError."""
  num_processes = jax.process_count()
  if batch_size <= 0 or batch_size % num_processes:
    raise ConfigError(
        f"{what}={batch_size} must be a positive multiple of the "
        f"{num_processes} processes, so each reads an equal part; use e.g. "
        f"{num_processes * max(1, batch_size // num_processes)}.")
  return batch_size // num_processes


def _builder(name: str, data_dir: str | None, image_size: int | None,
             image_key: str = "image", label_key: str = "label"):
  if image_size is not None and image_size <= 0:
    raise ConfigError(f"image_size={image_size}; use a positive size or None.")
  builder = tfds_builder(name, data_dir)
  check_features(builder, image_key, label_key, fixed_size=image_size is None)
  return builder


def _decode(builder, image_size: int | None, image_key: str = "image",
            label_key: str = "label"):
  """A tf.data map from a record with an undecoded image to {"image", "label"}."""
  import tensorflow as tf

  image_feature = builder.info.features[image_key]

  def decode(features):
    image = image_feature.decode_example(features[image_key])
    if image_size is not None:
      image = _resize_and_center_crop(image, image_size)
    return {"image": image, "label": tf.cast(features[label_key], tf.int32)}
  return decode


def _numbered_records(builder, split: str, image_key: str = "image"):
  """(index, record) pairs of a split in stored order, images left encoded."""
  tfds = import_tfds()
  records = open_split(builder, split, shuffle_files=False,
                       decoders={image_key: tfds.decode.SkipDecoding()})
  return records.enumerate()


def stream_info(name: str, data_dir: str | None, image_size: int | None,
                train_split: str = "train"
                ) -> tuple[int, tuple[int, int, int], np.ndarray, tuple[np.ndarray, np.ndarray]]:
  """What a run needs before streaming: classes, image shape, train labels, channel stats.

  Reads every label of the train split (images stay encoded) and decodes the
  first 10,000 images for the per-channel mean and std (on the [0, 1] scale).

  Returns:
    (num_classes, (H, W, C), train labels int32 [N], (mean [C], std [C])).
  """
  tfds = import_tfds()
  builder = _builder(name, data_dir, image_size)
  labels = np.concatenate([
      batch["label"] for batch in tfds.as_numpy(
          open_split(builder, train_split, shuffle_files=False,
                     decoders={"image": tfds.decode.SkipDecoding()}).batch(4096))
  ]).astype(np.int32)
  sample = open_split(builder, train_split, shuffle_files=False).take(10_000)
  sample = sample.map(lambda features: _decode_sample(features, image_size))
  images = np.concatenate(list(tfds.as_numpy(sample.batch(1024))))
  return (builder.info.features["label"].num_classes, images.shape[1:], labels,
          channel_stats(images))


def _decode_sample(features, image_size):
  image = features["image"]
  return image if image_size is None else _resize_and_center_crop(image, image_size)


def make_ssl_streams(name: str, data_dir: str | None, *, train_split: str, num_train: int,
                     labeled_indices: np.ndarray, include_labeled: bool,
                     extra_unlabeled_split: str, labeled_batch_size: int,
                     unlabeled_batch_size: int, image_size: int | None, seed: int,
                     shuffle_buffer: int = 10_000):
  """The labeled and unlabeled streams of a semi-supervised run, this process's part.

  Args:
    name, data_dir: the TFDS data set.
    train_split: its train split.
    num_train: the number of examples in it.
    labeled_indices: the labeled subset, indices into the train split.
    include_labeled: whether the unlabeled stream holds the labeled images too
      (the FixMatch protocol).
    extra_unlabeled_split: a split of unlabeled images appended to the
      unlabeled stream (indices N, N + 1, ... after the N train images), or "".
    labeled_batch_size, unlabeled_batch_size: global batch sizes.
    image_size: resize and centre-crop to this side, or None.
    seed: shuffling seed.
    shuffle_buffer: examples in the unlabeled shuffle buffer.

  Returns:
    (labeled iterator of {"image", "label"}, unlabeled iterator of {"image",
    "label" (-1 in the extra split), "index"}, size of the unlabeled set).
  """
  tfds = import_tfds()
  import tensorflow as tf

  local_labeled = _check_batch_size(labeled_batch_size, "config.batch_size")
  local_unlabeled = _check_batch_size(unlabeled_batch_size,
                                      "config.batch_size * config.unlabeled_ratio")
  builder = _builder(name, data_dir, image_size)
  decode = _decode(builder, image_size)
  is_labeled = np.zeros(num_train, bool)
  is_labeled[labeled_indices] = True
  is_labeled = tf.constant(is_labeled)
  process, num_processes = jax.process_index(), jax.process_count()

  def mine(index, _):
    return index % num_processes == process

  def numbered(offset):
    return lambda index, record: {**decode(record), "index": tf.cast(index + offset, tf.int32)}

  labeled = (_numbered_records(builder, train_split)
             .filter(lambda index, _: tf.gather(is_labeled, index))
             .enumerate().filter(lambda position, pair: position % num_processes == process)
             .map(lambda position, pair: pair)
             .map(numbered(0), num_parallel_calls=tf.data.AUTOTUNE)
             .cache().shuffle(len(labeled_indices), seed=seed).repeat()
             .batch(local_labeled, drop_remainder=True).prefetch(tf.data.AUTOTUNE))

  unlabeled = _numbered_records(builder, train_split)
  if not include_labeled:
    unlabeled = unlabeled.filter(lambda index, _: tf.logical_not(tf.gather(is_labeled, index)))
  num_unlabeled = num_train if include_labeled else num_train - len(labeled_indices)
  unlabeled = unlabeled.filter(mine).map(numbered(0), num_parallel_calls=tf.data.AUTOTUNE)
  if extra_unlabeled_split:
    extra = _numbered_records(builder, extra_unlabeled_split)
    num_unlabeled += int(extra.cardinality())
    extra = extra.filter(mine).map(numbered(num_train), num_parallel_calls=tf.data.AUTOTUNE)
    unlabeled = unlabeled.concatenate(extra.map(lambda example: {**example, "label": -1}))
  unlabeled = (unlabeled.shuffle(shuffle_buffer, seed=seed).repeat()
               .batch(local_unlabeled, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
  if not num_unlabeled or not len(labeled_indices):
    raise DatasetError(f"TFDS data set {name}: the labeled or unlabeled set is empty.")
  return (iter(tfds.as_numpy(labeled)), iter(tfds.as_numpy(unlabeled)), num_unlabeled)


def make_test_stream(name: str, data_dir: str | None, split: str, batch_size: int,
                     image_size: int | None):
  """One pass over a split in order, as (batch, mask) like `eval_batches`.

  Every batch has exactly `batch_size` examples (zero-padded at the end,
  mask False there), read whole by every process.
  """
  tfds = import_tfds()
  builder = _builder(name, data_dir, image_size)
  records = open_split(builder, split, shuffle_files=False,
                       decoders={"image": tfds.decode.SkipDecoding()})
  for batch in tfds.as_numpy(records.map(_decode(builder, image_size)).batch(batch_size)):
    valid = len(batch["label"])
    padding = batch_size - valid
    images, labels = batch["image"], batch["label"]
    if padding:
      images = np.concatenate([images, np.zeros((padding, *images.shape[1:]), images.dtype)])
      labels = np.concatenate([labels, np.zeros(padding, labels.dtype)])
    yield {"image": images, "label": labels}, np.arange(batch_size) < valid


def to_global_batch(local_batch: dict[str, np.ndarray],
                    sharding: Sharding) -> dict[str, jax.Array]:
  """Joins every process's local batch into global arrays with `sharding`.

  Args:
    local_batch: this process's part of the batch (split along the axes that
      `sharding` splits).
    sharding: e.g. `NamedSharding(mesh, P("data"))`.

  Returns:
    The same dict of global `jax.Array`s.
  """
  return jax.tree.map(
      lambda part: jax.make_array_from_process_local_data(sharding, part),
      local_batch)
