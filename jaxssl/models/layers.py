"""Building blocks shared by the residual networks: stochastic depth."""

import flax.linen as nn
import jax
import jax.numpy as jnp


def drop_path_rates(stochastic_depth_rate: float, num_blocks: int) -> list[float]:
  """Per-block drop rates rising linearly from 0 to `stochastic_depth_rate`.

  Huang et al. 2016, "Deep Networks with Stochastic Depth", linear decay rule,
  in the `linspace(0, rate, depth)` form that DeiT (Touvron et al. 2021) uses:
  the first block is never dropped and the last is dropped with the full rate.
  """
  if num_blocks == 1:
    return [stochastic_depth_rate]
  return [stochastic_depth_rate * i / (num_blocks - 1) for i in range(num_blocks)]


class DropPath(nn.Module):
  """Drops a residual branch per example (stochastic depth).

  Huang et al. 2016. During training each example keeps the branch with
  probability 1 - rate, and a kept branch is scaled by 1 / (1 - rate) so the
  expectation matches evaluation, where the branch is always kept. The mask is
  drawn from the "dropout" rng stream.
  """

  rate: float

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    if not train or self.rate == 0.0:
      return x
    keep_prob = 1.0 - self.rate
    mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    keep = jax.random.bernoulli(self.make_rng("dropout"), keep_prob, mask_shape)
    return jnp.where(keep, x / keep_prob, jnp.zeros_like(x))
