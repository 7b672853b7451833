"""Per-example arrays that follow the batch sharding under explicit mesh axes.

With explicit mesh axes (the default of `jax.make_mesh` since JAX 0.7),
shardings are part of array types: `vmap` refuses per-example inputs split
differently from the batch, and a gather along the batch axis must be told
its output sharding. Random draws come out unsplit, so the batch functions
pass them through `like_batch`. With auto axes or one device both helpers
change nothing.
"""

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P


def like_batch(values, images):
  """`values` [N, ...] split over devices the way the batch axis of `images` [N, ...] is."""
  sharding = jax.typeof(images).sharding
  batch_axis = sharding.spec[0] if sharding.spec else None
  if batch_axis is None:
    return values
  return jax.sharding.reshard(values, NamedSharding(sharding.mesh, P(batch_axis)))


def take_examples(batch, indices):
  """batch[indices] along axis 0, sharded like `batch`."""
  return batch.at[indices].get(out_sharding=jax.typeof(batch).sharding)
