"""Device mesh and shardings for data-parallel training.

One mesh axis, "data". Batches are split over it (`P("data")`); parameters,
optimizer state and method state are replicated (`P()`). `jax.jit` inserts the
gradient all-reduce, so batch-norm statistics and losses cover the global
batch, exactly as on one device.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxssl.errors import ConfigError, nearest_multiples

DATA_AXIS = "data"


def make_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D mesh over the first `num_devices` devices (all by default)."""
  devices = jax.devices()
  if num_devices is not None:
    if not 1 <= num_devices <= len(devices):
      raise ConfigError(
          f"num_devices={num_devices} but {len(devices)} devices are visible; "
          f"set config.num_devices between 1 and {len(devices)} (or leave it unset).")
    devices = devices[:num_devices]
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def check_divisible(batch_size: int, mesh: Mesh, what: str) -> None:
  """Refuses a global batch that can't be split evenly over the devices."""
  num_devices = mesh.devices.size
  if batch_size % num_devices:
    raise ConfigError(
        f"{what}={batch_size} does not divide over {num_devices} devices; "
        f"use a multiple of {num_devices} such as {nearest_multiples(batch_size, num_devices)}.")
