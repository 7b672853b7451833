"""Batch sources: where each train step's batch comes from.

The train loop is written against one interface:

  source.num_labeled, source.num_unlabeled       sizes of the labeled and unlabeled sets
  source.next_inputs(num_steps) -> (shared, per_step)
      host side, once per dispatch of `num_steps` steps; both are pytrees of
      global device arrays (or None) that become ARGUMENTS of the compiled step,
      never constants baked into it
  source.batch(shared, per_step, key) -> batch
      inside the compiled step, once per step; `per_step` is that step's slice
  source.test_batches(batch_size) -> iterator of (batch, mask) host arrays

Two sources implement it:

- `DeviceSource` keeps the labeled and unlabeled sets on the device
  (replicated) and draws each batch inside the step from fold_in(key, step):
  no host work per step, and a resumed run draws exactly the same batches.
  For data sets that fit in device memory (digits, CIFAR, SVHN, STL-10).
- `StreamSource` reads TFDS through tf.data; each process reads its own
  part of every global batch, which `jax.make_array_from_process_local_data`
  assembles. For data sets that don't fit (ImageNet). Its order is
  reproducible for a seed but a resumed run starts a new pass.

A batch is {"image": uint8 [B, H, W, C], "label": int32 [B],
"unlabeled_image": uint8 [uB, H, W, C], "unlabeled_index": int32 [uB],
"unlabeled_label": int32 [uB] (held back; -1 where unknown)}.
"""

import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxssl.data.dataset import Dataset
from jaxssl.data.device_pipeline import make_device_data, sample_batch
from jaxssl.data.evaluation import eval_batches
from jaxssl.data.streaming import make_ssl_streams, make_test_stream, to_global_batch


class DeviceSource:
  """The train set on the device; each step draws its batch in the compiled step."""

  def __init__(self, dataset: Dataset, labeled_indices: np.ndarray,
               unlabeled_indices: np.ndarray, mesh: Mesh, labeled_batch_size: int,
               unlabeled_batch_size: int):
    """
    Args:
      dataset: the data set in host memory.
      labeled_indices: the labeled subset, indices into the train split.
      unlabeled_indices: the unlabeled set, indices into the unlabeled pool
        (`Dataset.pool_images`).
      mesh: the device mesh; the arrays are replicated over it.
      labeled_batch_size: B (global).
      unlabeled_batch_size: mu B (global).
    """
    self.dataset = dataset
    self.arrays = make_device_data(dataset, labeled_indices, unlabeled_indices,
                                   NamedSharding(mesh, P()))
    self.num_labeled, self.num_unlabeled = self.arrays.num_labeled, self.arrays.num_unlabeled
    self._batch_sizes = (labeled_batch_size, unlabeled_batch_size)

  def next_inputs(self, num_steps: int):
    del num_steps
    return self.arrays, None

  def batch(self, shared, per_step, key):
    del per_step
    return sample_batch(shared, key, *self._batch_sizes)

  def test_batches(self, batch_size: int):
    return eval_batches(self.dataset.test_images, self.dataset.test_labels, batch_size)


class StreamSource:
  """TFDS through tf.data: this process's part of every batch, read ahead on the host."""

  def __init__(self, name: str, data_dir: str | None, *, num_train: int,
               labeled_indices: np.ndarray,
               include_labeled: bool, extra_unlabeled_split: str, mesh: Mesh,
               labeled_batch_size: int, unlabeled_batch_size: int, image_size: int | None,
               seed: int, train_split: str = "train", test_split: str = "test"):
    """
    Args:
      name: the TFDS name (without "tfds:").
      data_dir: the TFDS data directory.
      num_train: the number of examples in the train split.
      labeled_indices: the labeled subset, indices into the train split.
      include_labeled: whether the unlabeled stream holds the labeled images too.
      extra_unlabeled_split: a split of unlabeled images added to the
        unlabeled stream, or "".
      mesh: the device mesh; batches are split over its "data" axis.
      labeled_batch_size, unlabeled_batch_size: global B and mu B.
      image_size: resize (shorter side) and centre-crop to this size, or None.
      seed: shuffling seed.
      train_split, test_split: the TFDS splits.
    """
    self._name, self._data_dir, self._image_size = name, data_dir, image_size
    self._test_split = test_split
    self._labeled, self._unlabeled, self.num_unlabeled = make_ssl_streams(
        name, data_dir, train_split=train_split, num_train=num_train,
        labeled_indices=labeled_indices,
        include_labeled=include_labeled, extra_unlabeled_split=extra_unlabeled_split,
        labeled_batch_size=labeled_batch_size, unlabeled_batch_size=unlabeled_batch_size,
        image_size=image_size, seed=seed)
    self.num_labeled = len(labeled_indices)
    self._stacked_sharding = NamedSharding(mesh, P(None, "data"))

  def next_inputs(self, num_steps: int):
    parts = []
    for _ in range(num_steps):
      labeled, unlabeled = next(self._labeled), next(self._unlabeled)
      parts.append({"image": labeled["image"], "label": labeled["label"],
                    "unlabeled_image": unlabeled["image"],
                    "unlabeled_index": unlabeled["index"],
                    "unlabeled_label": unlabeled["label"]})
    stacked = {key: np.stack([part[key] for part in parts]) for key in parts[0]}
    return None, to_global_batch(stacked, self._stacked_sharding)

  def batch(self, shared, per_step, key):
    del shared, key
    return per_step

  def test_batches(self, batch_size: int):
    return make_test_stream(self._name, self._data_dir, self._test_split, batch_size,
                            self._image_size)
