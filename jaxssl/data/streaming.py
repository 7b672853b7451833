"""Streaming from TFDS via tf.data, for data sets too big for the device.

Each process reads its own part of the split and yields its part of every
global batch; `to_global_batch` assembles the parts into sharded arrays.
"""

from collections.abc import Iterator

import jax
import numpy as np
from jax.sharding import Sharding

from jaxssl.data.tfds_source import (check_features, import_tfds, open_split,
                                     tfds_builder)
from jaxssl.errors import ConfigError


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


def make_tfds_stream(name: str,
                     split: str,
                     batch_size: int,
                     *,
                     data_dir: str | None = None,
                     seed: int = 0,
                     image_key: str = "image",
                     label_key: str = "label",
                     image_size: int | None = None,
                     shuffle_buffer: int = 10_000
                     ) -> Iterator[dict[str, np.ndarray]]:
  """An endless, shuffled stream of this process's part of each batch.

  The split is cut into `jax.process_count()` even parts
  (`tfds.split_for_jax_process`) and this process reads only its part: files
  shuffled with `seed`, examples shuffled in a buffer, repeated forever,
  batched to batch_size / process_count, prefetched. The order is
  reproducible for a seed but does not resume mid-epoch; restarts draw anew.

  Args:
    name: a TFDS name, as in `load_tfds`; must be prepared under data_dir.
    split: the split, TFDS slicing allowed (e.g. "train[:10%]" as a labeled
      subset).
    batch_size: the global batch size, divisible by the process count.
    data_dir: the TFDS data directory.
    seed: shuffling seed.
    image_key: the uint8 image feature.
    label_key: the ClassLabel feature.
    image_size: if given, images are resized (shorter side) and center
      cropped to image_size x image_size; required when sizes vary.
    shuffle_buffer: examples in the shuffle buffer.

  Returns:
    An iterator of {"image": uint8 [b, H, W, C], "label": int32 [b]} numpy
    dicts with b = batch_size / jax.process_count().

  Raises:
    ConfigError: a non-positive or indivisible batch size, bad image_size.
    DatasetError: see `load_tfds`.
  """
  num_processes = jax.process_count()
  if batch_size <= 0 or batch_size % num_processes:
    raise ConfigError(
        f"stream batch_size={batch_size} must be a positive multiple of the "
        f"{num_processes} processes, so each reads an equal part; use e.g. "
        f"{num_processes * max(1, batch_size // num_processes)}.")
  if image_size is not None and image_size <= 0:
    raise ConfigError(f"image_size={image_size}; use a positive size or None.")
  tfds = import_tfds()
  import tensorflow as tf

  builder = tfds_builder(name, data_dir)
  check_features(builder, image_key, label_key, fixed_size=image_size is None)

  def to_example(features):
    image = features[image_key]
    if image_size is not None:
      image = _resize_and_center_crop(image, image_size)
    return {"image": image, "label": tf.cast(features[label_key], tf.int32)}

  dataset = open_split(
      builder, tfds.split_for_jax_process(split), shuffle_files=True,
      read_config=tfds.ReadConfig(shuffle_seed=seed))
  dataset = (dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
             .shuffle(shuffle_buffer, seed=seed)
             .repeat()
             .batch(batch_size // num_processes, drop_remainder=True)
             .prefetch(tf.data.AUTOTUNE))
  return iter(tfds.as_numpy(dataset))


def to_global_batch(local_batch: dict[str, np.ndarray],
                    sharding: Sharding) -> dict[str, jax.Array]:
  """Joins every process's local batch into global arrays with `sharding`.

  Args:
    local_batch: this process's part of the batch (leading axis split).
    sharding: normally `NamedSharding(mesh, P("data"))`.

  Returns:
    The same dict of global `jax.Array`s, batch axis = the sum over processes.
  """
  return jax.tree.map(
      lambda part: jax.make_array_from_process_local_data(sharding, part),
      local_batch)
