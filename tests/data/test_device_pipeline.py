"""sample_batch under jit on 1 and 8 devices; make_device_data; eval_batches."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxssl.data import (Dataset, DeviceData, eval_batches, make_device_data,
                         sample_batch, unlabeled_indices)
from jaxssl.errors import ConfigError, DatasetError

NUM_TRAIN = 40


def tiny_dataset() -> Dataset:
  # Every image is filled with its own index, so a batch shows what it drew.
  images = np.broadcast_to(
      np.arange(NUM_TRAIN, dtype=np.uint8)[:, None, None, None],
      (NUM_TRAIN, 4, 4, 1))
  labels = np.arange(NUM_TRAIN, dtype=np.int32) % 4
  return Dataset("tiny", images.copy(), labels, images[:8].copy(), labels[:8],
                 num_classes=4, class_names=("a", "b", "c", "d"))


LABELED = np.array([0, 1, 2, 3, 4, 5, 6, 7])
UNLABELED = np.arange(8, NUM_TRAIN)


@functools.partial(jax.jit, static_argnums=(2, 3))
def jitted_sample(data, key, labeled_batch_size, unlabeled_batch_size):
  return sample_batch(data, key, labeled_batch_size, unlabeled_batch_size)


def check_batch(batch, data, labeled_batch_size, unlabeled_batch_size):
  assert batch["image"].shape == (labeled_batch_size, 4, 4, 1)
  assert batch["unlabeled_image"].shape == (unlabeled_batch_size, 4, 4, 1)
  assert batch["image"].dtype == jnp.uint8
  assert batch["unlabeled_image"].dtype == jnp.uint8
  for key in ("label", "unlabeled_index", "unlabeled_label"):
    assert batch[key].dtype == jnp.int32
  index = np.asarray(batch["unlabeled_index"])
  assert index.min() >= 0 and index.max() < data.num_unlabeled
  # Images and labels come from the same drawn example.
  drawn = np.asarray(batch["image"])[:, 0, 0, 0]
  assert set(drawn) <= set(LABELED)
  np.testing.assert_array_equal(batch["label"], drawn % 4)
  np.testing.assert_array_equal(
      np.asarray(batch["unlabeled_image"])[:, 0, 0, 0], UNLABELED[index])
  np.testing.assert_array_equal(batch["unlabeled_label"], UNLABELED[index] % 4)


def test_sample_batch_under_jit_is_deterministic_per_key():
  data = make_device_data(tiny_dataset(), LABELED, UNLABELED)
  assert isinstance(data, DeviceData)
  assert (data.num_labeled, data.num_unlabeled) == (8, 32)
  key = jax.random.key(0)
  batch = jitted_sample(data, jax.random.fold_in(key, 3), 4, 12)
  check_batch(batch, data, 4, 12)
  same = jitted_sample(data, jax.random.fold_in(key, 3), 4, 12)
  other = jitted_sample(data, jax.random.fold_in(key, 4), 4, 12)
  for name in batch:
    np.testing.assert_array_equal(batch[name], same[name])
  assert not np.array_equal(batch["unlabeled_index"], other["unlabeled_index"])


def test_sample_batch_on_eight_devices():
  assert jax.device_count() == 8, "tests/conftest.py asks for 8 CPU devices"
  mesh = Mesh(np.array(jax.devices()), ("data",))
  data = make_device_data(tiny_dataset(), LABELED, UNLABELED,
                          sharding=NamedSharding(mesh, P()))
  assert data.unlabeled_images.sharding.is_fully_replicated
  assert len(data.unlabeled_images.sharding.device_set) == 8
  batch_sharding = NamedSharding(mesh, P("data"))
  # As in the train step: the constraint makes each device gather its part.
  step = jax.jit(lambda data, key: jax.lax.with_sharding_constraint(
      sample_batch(data, key, 8, 24), batch_sharding))
  batch = step(data, jax.random.key(1))
  check_batch(batch, data, 8, 24)
  for value in batch.values():
    assert value.sharding.is_equivalent_to(batch_sharding, value.ndim)
  single = make_device_data(tiny_dataset(), LABELED, UNLABELED)
  unsharded = jitted_sample(single, jax.random.key(1), 8, 24)
  for name in batch:
    np.testing.assert_array_equal(batch[name], unsharded[name])


@pytest.mark.parametrize("sizes", [(0, 4), (4, 0), (-1, 4)])
def test_sample_batch_refuses_non_positive_sizes(sizes):
  data = make_device_data(tiny_dataset(), LABELED, UNLABELED)
  with pytest.raises(ConfigError, match="positive batch size"):
    sample_batch(data, jax.random.key(0), *sizes)


@pytest.mark.parametrize("labeled, unlabeled, message", [
    (np.array([], np.int64), UNLABELED, "labeled_indices must be a non-empty"),
    (LABELED, np.array([0, NUM_TRAIN]),
     r"unlabeled_indices must be integers in \[0, 40\)"),
    (LABELED.astype(float), UNLABELED, "labeled_indices must be integers"),
])
def test_make_device_data_refuses_bad_indices(labeled, unlabeled, message):
  with pytest.raises(DatasetError, match=message):
    make_device_data(tiny_dataset(), labeled, unlabeled)


def test_eval_batches_pad_and_mask_the_last_batch():
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
  labels = np.arange(10)
  batches = list(eval_batches(images, labels, 4))
  assert len(batches) == 3
  for batch, mask in batches:
    assert batch["image"].shape == (4, 1, 1, 1)
    assert batch["label"].dtype == np.int32 and mask.dtype == bool
  last, last_mask = batches[2]
  np.testing.assert_array_equal(last_mask, [True, True, False, False])
  np.testing.assert_array_equal(last["label"], [8, 9, 0, 0])
  kept = np.concatenate([batch["label"][mask] for batch, mask in batches])
  np.testing.assert_array_equal(kept, labels)


def test_eval_batches_refuses_non_positive_size():
  with pytest.raises(ConfigError, match="eval batch_size=0"):
    eval_batches(np.zeros((2, 1, 1, 1), np.uint8), np.zeros(2), 0)


def test_dataset_refuses_malformed_arrays():
  images = np.zeros((4, 2, 2, 1), np.uint8)
  with pytest.raises(DatasetError, match="must be uint8"):
    Dataset("x", images.astype(np.float32), np.zeros(4, np.int32), images,
            np.zeros(4, np.int32), 2, ("a", "b"))
  with pytest.raises(DatasetError, match=r"labels span \[0, 5\]"):
    Dataset("x", images, np.array([0, 1, 5, 1], np.int32), images,
            np.zeros(4, np.int32), 2, ("a", "b"))


def test_extra_unlabeled_images_join_the_unlabeled_set_without_labels():
  """STL-10's "unlabelled" split: pool indices past the train split, label -1."""
  base = tiny_dataset()
  extra = np.full((5, 4, 4, 1), 200, np.uint8)
  dataset = Dataset("tiny", base.train_images, base.train_labels, base.test_images,
                    base.test_labels, num_classes=4, class_names=base.class_names,
                    extra_unlabeled_images=extra)
  pool = unlabeled_indices(NUM_TRAIN, LABELED, include_labeled=False,
                           num_extra=dataset.num_extra_unlabeled)
  np.testing.assert_array_equal(pool, np.arange(8, NUM_TRAIN + 5))
  data = make_device_data(dataset, LABELED, pool)
  assert data.num_unlabeled == NUM_TRAIN - 8 + 5
  np.testing.assert_array_equal(data.unlabeled_images[-5:], extra)
  np.testing.assert_array_equal(data.unlabeled_labels[-5:], -1)
  np.testing.assert_array_equal(data.unlabeled_labels[:-5], base.train_labels[8:])
  with pytest.raises(DatasetError, match="extra_unlabeled_images"):
    Dataset("tiny", base.train_images, base.train_labels, base.test_images, base.test_labels,
            num_classes=4, class_names=base.class_names,
            extra_unlabeled_images=np.zeros((2, 5, 5, 1), np.uint8))
