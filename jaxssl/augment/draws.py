"""Per-example random numbers, drawn with one call per function.

A batch function draws all its per-example numbers at once,
`jax.random.uniform(key, (N, k))`, and derives integers and coin flips from
the columns: every separate `jax.random` call compiles its own threefry
kernel (0.1-0.3 s each on CPU), which adds up over an SSL training step.
"""

import jax.numpy as jnp


def integers(uniforms, low, high):
  """Whole numbers uniform in [low, high) (int32) from uniforms in [0, 1)."""
  scaled = jnp.floor(low + uniforms * (high - low))
  # float32 rounding can turn u * n into n for u just below 1.
  return jnp.minimum(scaled, high - 1).astype(jnp.int32)
