"""Device-resident data: the train set lives on the device, batches too.

For data sets that fit in device memory (digits, CIFAR, SVHN, STL-10) the
train loop samples each batch inside its jitted step, so the host does no
work per step.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Sharding

from jaxssl.data.dataset import Dataset
from jaxssl.errors import ConfigError, DatasetError


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class DeviceData:
  """The labeled and unlabeled train sets as device arrays (a pytree).

  Attributes:
    labeled_images: uint8 [L, H, W, C].
    labeled_labels: int32 [L].
    unlabeled_images: uint8 [U, H, W, C].
    unlabeled_labels: int32 [U], held-back true labels for diagnostics only
      (-1 for images of an extra unlabeled split).
  """

  labeled_images: jax.Array
  labeled_labels: jax.Array
  unlabeled_images: jax.Array
  unlabeled_labels: jax.Array

  @property
  def num_labeled(self) -> int:
    """L; a Python int, static under jit."""
    return self.labeled_labels.shape[0]

  @property
  def num_unlabeled(self) -> int:
    """U; a Python int, static under jit."""
    return self.unlabeled_labels.shape[0]


def _checked_indices(indices: np.ndarray, size: int, what: str) -> np.ndarray:
  indices = np.asarray(indices)
  if indices.ndim != 1 or not indices.size:
    raise DatasetError(
        f"{what} must be a non-empty 1-D index array, got shape "
        f"{indices.shape}; build it with labeled_split/unlabeled_indices.")
  if not np.issubdtype(indices.dtype, np.integer) or (
      indices.min() < 0 or indices.max() >= size):
    raise DatasetError(
        f"{what} must be integers in [0, {size}), got "
        f"{indices.dtype} in [{indices.min()}, {indices.max()}].")
  return indices


def make_device_data(dataset: Dataset,
                     labeled_indices: np.ndarray,
                     unlabeled_indices: np.ndarray,
                     sharding: Sharding | None = None) -> DeviceData:
  """Copies the labeled and unlabeled subsets of the train split to the device.

  Args:
    dataset: the source data set.
    labeled_indices: indices into the train split, from `labeled_split`.
    unlabeled_indices: indices into the unlabeled pool (`Dataset.pool_images`:
      the train split, then any extra unlabeled images), from
      `unlabeled_indices`.
    sharding: where to put the arrays, normally replicated over the mesh
      (`NamedSharding(mesh, P())`); every process must pass the same data.
      None puts them on the default device.

  Returns:
    The `DeviceData`.
  """
  num_train = len(dataset.train_labels)
  labeled = _checked_indices(labeled_indices, num_train, "labeled_indices")
  unlabeled = _checked_indices(unlabeled_indices, num_train + dataset.num_extra_unlabeled,
                               "unlabeled_indices")
  host = DeviceData(
      labeled_images=dataset.train_images[labeled],
      labeled_labels=dataset.train_labels[labeled],
      unlabeled_images=dataset.pool_images(unlabeled),
      unlabeled_labels=dataset.pool_labels(unlabeled))
  if sharding is None:
    return jax.device_put(host)
  # Works across processes too, where the mesh has devices that aren't local.
  return jax.tree.map(
      lambda array: jax.make_array_from_callback(
          array.shape, sharding, array.__getitem__), host)


def sample_batch(device_data: DeviceData,
                 key: jax.Array,
                 labeled_batch_size: int,
                 unlabeled_batch_size: int) -> dict[str, jax.Array]:
  """Draws a train batch on the device; pure and jit-able.

  Indices are drawn uniformly with replacement from `key`, independently for
  the labeled and unlabeled parts. Call it inside the jitted step with
  `jax.random.fold_in(key, step)`, so a resumed run draws the same batches.
  (Sampling with replacement instead of epoch permutations needs no state,
  and the two differ little when the set is much larger than a batch.)
  Under a mesh, constrain the result to the batch sharding
  (`jax.lax.with_sharding_constraint`) so each device gathers only its part.

  Args:
    device_data: from `make_device_data`.
    key: a PRNG key.
    labeled_batch_size: B, a static positive int.
    unlabeled_batch_size: mu * B, a static positive int.

  Returns:
    {"image": uint8 [B, H, W, C], "label": int32 [B],
     "unlabeled_image": uint8 [mu*B, H, W, C],
     "unlabeled_index": int32 [mu*B] (index into the unlabeled set),
     "unlabeled_label": int32 [mu*B] (diagnostics only, never in a loss)}
  """
  for name, size in (("labeled_batch_size", labeled_batch_size),
                     ("unlabeled_batch_size", unlabeled_batch_size)):
    if size <= 0:
      raise ConfigError(f"{name}={size}; set it to a positive batch size.")
  labeled_key, unlabeled_key = jax.random.split(key)
  labeled_index = jax.random.randint(
      labeled_key, (labeled_batch_size,), 0, device_data.num_labeled, jnp.int32)
  unlabeled_index = jax.random.randint(
      unlabeled_key, (unlabeled_batch_size,), 0, device_data.num_unlabeled,
      jnp.int32)
  return {
      "image": device_data.labeled_images[labeled_index],
      "label": device_data.labeled_labels[labeled_index],
      "unlabeled_image": device_data.unlabeled_images[unlabeled_index],
      "unlabeled_index": unlabeled_index,
      "unlabeled_label": device_data.unlabeled_labels[unlabeled_index],
  }
