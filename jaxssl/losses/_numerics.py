"""Dtype and masking helpers shared by the loss modules."""

from typing import Optional

import jax
import jax.numpy as jnp


def upcast(x: jax.typing.ArrayLike) -> jax.Array:
  """Promotes bf16/fp16 (and integer) arrays to float32; wider floats stay as they are."""
  x = jnp.asarray(x)
  return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def apply_where(values: jax.Array, where: Optional[jax.typing.ArrayLike]) -> jax.Array:
  """Zeroes the per-example values that `where` (bool or 0/1, broadcastable) excludes."""
  if where is None:
    return values
  return jnp.where(jnp.asarray(where).astype(bool), values, 0.0)


def zero_where_unused(weights: jax.Array, log_terms: jax.Array) -> jax.Array:
  """log_terms where weights != 0, else 0, so weights * result is 0 (not NaN) at -inf logs.

  The outer product with the weights then has finite gradients too.
  """
  return jnp.where(weights != 0, log_terms, 0.0)


def safe_log(p: jax.Array) -> jax.Array:
  """log(p) where p > 0 and 0 elsewhere, with finite gradients at p = 0.

  Multiplied by p it implements the convention 0 log 0 = 0.
  """
  positive = p > 0
  return jnp.where(positive, jnp.log(jnp.where(positive, p, 1.0)), 0.0)
