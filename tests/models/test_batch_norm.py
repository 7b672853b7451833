"""jaxssl's BatchNorm is flax's function and variables, computed as one multiply-add."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl.models.batch_norm import BatchNorm

OPTIONS = dict(momentum=0.9, epsilon=1e-3)


def both(use_running_average=False, **kwargs):
  kwargs.update(OPTIONS, use_running_average=use_running_average)
  return BatchNorm(**kwargs), nn.BatchNorm(**kwargs)


def images(seed=0, shape=(6, 4, 4, 3)):
  # Channels with their own offsets and scales, so the statistics are not ~(0, 1).
  x = jax.random.normal(jax.random.key(seed), shape)
  return x * jnp.array([0.5, 2.0, 3.0]) + jnp.array([1.0, -2.0, 0.0])


def test_normalizes_each_channel_by_hand():
  x = images()
  ours, _ = both()
  variables = ours.init(jax.random.key(0), x)
  params = {"scale": jnp.array([1.0, 2.0, 0.5]), "bias": jnp.array([0.0, 1.0, -1.0])}
  y, updated = ours.apply({**variables, "params": params}, x, mutable=["batch_stats"])
  flat = np.asarray(x, np.float64).reshape(-1, 3)
  mean, var = flat.mean(0), flat.var(0)
  expected = (flat - mean) / np.sqrt(var + 1e-3) * params["scale"] + params["bias"]
  np.testing.assert_allclose(np.asarray(y).reshape(-1, 3), expected, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(updated["batch_stats"]["mean"], 0.1 * mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(updated["batch_stats"]["var"], 0.9 + 0.1 * var, rtol=1e-5)


def test_same_variables_outputs_updates_and_gradients_as_flax():
  ours, flax_bn = both()
  x = images()
  variables = ours.init(jax.random.key(0), x)
  assert jax.tree.map(jnp.shape, variables) == jax.tree.map(
      jnp.shape, flax_bn.init(jax.random.key(0), x))
  for a, b in zip(jax.tree.leaves(variables),
                  jax.tree.leaves(flax_bn.init(jax.random.key(0), x))):
    np.testing.assert_array_equal(a, b)
  params = {"scale": jnp.array([1.0, 2.0, 0.5]), "bias": jnp.array([0.0, 1.0, -1.0])}
  variables = {**variables, "params": params}

  def loss(module, params, x):
    y, updated = module.apply({**variables, "params": params}, x, mutable=["batch_stats"])
    return jnp.sum(jnp.sin(y) * jnp.arange(3.0)), (y, updated)

  (ours_loss, (ours_y, ours_stats)), ours_grads = jax.value_and_grad(
      loss, argnums=(1, 2), has_aux=True)(ours, params, x)
  (flax_loss, (flax_y, flax_stats)), flax_grads = jax.value_and_grad(
      loss, argnums=(1, 2), has_aux=True)(flax_bn, params, x)
  np.testing.assert_allclose(ours_y, flax_y, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ours_loss, flax_loss, rtol=1e-5)
  for a, b in zip(jax.tree.leaves((ours_stats, ours_grads)),
                  jax.tree.leaves((flax_stats, flax_grads))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_evaluation_uses_the_running_averages_as_flax():
  x = images()
  stats = {"mean": jnp.array([0.5, -1.0, 0.0]), "var": jnp.array([2.0, 4.0, 0.25])}
  params = {"scale": jnp.array([1.0, 2.0, 0.5]), "bias": jnp.array([0.0, 1.0, -1.0])}
  ours, flax_bn = both(use_running_average=True)
  outputs = [module.apply({"params": params, "batch_stats": stats}, x)
             for module in (ours, flax_bn)]
  np.testing.assert_allclose(*outputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, None])
def test_output_dtype_and_float32_statistics(dtype):
  x = images().astype(jnp.bfloat16)
  ours, flax_bn = both(dtype=dtype)
  variables = ours.init(jax.random.key(0), x)
  (ours_y, ours_stats), (flax_y, flax_stats) = [
      module.apply(variables, x, mutable=["batch_stats"]) for module in (ours, flax_bn)]
  assert ours_y.dtype == flax_y.dtype == (dtype or jnp.float32)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(ours_stats))
  np.testing.assert_allclose(ours_y.astype(np.float32), flax_y.astype(np.float32),
                             rtol=2e-2, atol=2e-2)
  for a, b in zip(jax.tree.leaves(ours_stats), jax.tree.leaves(flax_stats)):
    np.testing.assert_allclose(a, b, rtol=1e-6)
