"""make_apply_fn: normalisation, batch statistics, dropout rngs; drop-path."""

import functools

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxssl import models
from jaxssl.models.layers import DropPath, drop_path_rates

IMAGE_SHAPE = (8, 8, 1)


def key(seed):
  # "rbg" keys compile far faster than threefry on CPU; the models don't care.
  return jax.random.key(seed, impl="rbg")


@functools.cache
def small_cnn():
  """A tiny SmallCNN with dropout, its variables, a jitted apply_fn and images."""
  model = models.create_model("small_cnn", 4, width=4, dropout_rate=0.5)
  variables = jax.jit(lambda k: models.init_variables(model, k, IMAGE_SHAPE))(key(0))
  apply_fn = jax.jit(models.make_apply_fn(model, mean=[0.3], std=[0.2]), static_argnums=3)
  images = jax.random.uniform(key(1), (6, *IMAGE_SHAPE))
  return model, variables, apply_fn, images


def test_normalises_inputs_per_channel():
  model, variables, apply_fn, images = small_cnn()
  logits, _ = apply_fn(variables["params"], variables["batch_stats"], images, False, None)
  reference = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, (images - 0.3) / 0.2)
  np.testing.assert_allclose(logits, reference, rtol=1e-5, atol=1e-5)


def test_train_updates_batch_stats():
  _, variables, apply_fn, images = small_cnn()
  _, new_stats = apply_fn(variables["params"], variables["batch_stats"], images, True, key(2))
  assert jax.tree.structure(new_stats) == jax.tree.structure(variables["batch_stats"])
  changed = jax.tree.map(lambda old, new: not np.allclose(old, new),
                         variables["batch_stats"], new_stats)
  assert all(jax.tree.leaves(changed))


def test_batch_stats_cover_the_global_batch_when_sharded():
  _, variables, apply_fn, _ = small_cnn()
  mesh = jax.make_mesh((jax.device_count(),), ("data",))
  images = jax.random.uniform(key(5), (2 * jax.device_count(), *IMAGE_SHAPE))
  sharded = jax.device_put(images, NamedSharding(mesh, P("data")))
  run = lambda x: apply_fn(variables["params"], variables["batch_stats"], x, True, key(2))
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6),
               run(sharded), run(images))


def test_eval_returns_batch_stats_unchanged_and_uses_running_statistics():
  _, variables, apply_fn, images = small_cnn()
  whole, stats = apply_fn(variables["params"], variables["batch_stats"], images, False, None)
  jax.tree.map(np.testing.assert_array_equal, stats, variables["batch_stats"])
  # Running statistics make each example's output independent of the rest of the batch.
  first, _ = apply_fn(variables["params"], variables["batch_stats"], images[:1], False, None)
  np.testing.assert_allclose(whole[:1], first, rtol=1e-5, atol=1e-5)


def test_dropout_is_deterministic_per_rng_and_off_in_eval():
  _, variables, apply_fn, images = small_cnn()
  run = functools.partial(apply_fn, variables["params"], variables["batch_stats"], images)
  a, b, c = run(True, key(3))[0], run(True, key(3))[0], run(True, key(4))[0]
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  np.testing.assert_array_equal(run(False, None)[0], run(False, key(4))[0])


RESIDUAL = {
    "wrn": (dict(depth=10, width=1), (16, 16, 3)),
    "resnet18": (dict(width=2), (16, 16, 3)),
    "resnet50": (dict(width=2), (16, 16, 3)),
    "vit": (dict(size="micro", patch_size=4), (8, 8, 1)),
}


@pytest.mark.parametrize("name", sorted(RESIDUAL))
def test_stochastic_depth_draws_dropout_rngs_in_residual_models(name):
  kwargs, image_shape = RESIDUAL[name]
  images = jnp.zeros((2, *image_shape))

  def train_without_rngs(stochastic_depth_rate):
    model = models.create_model(name, 3, stochastic_depth_rate=stochastic_depth_rate, **kwargs)
    variables = models.init_variables(model, key(0), image_shape)
    return model.apply(variables, images, train=True, mutable=["batch_stats"])

  jax.eval_shape(lambda: train_without_rngs(0.0))
  with pytest.raises(flax.errors.InvalidRngError, match="dropout"):
    jax.eval_shape(lambda: train_without_rngs(0.2))


def test_stochastic_depth_is_deterministic_per_rng():
  kwargs, image_shape = RESIDUAL["wrn"]
  model = models.create_model("wrn", 3, stochastic_depth_rate=0.5, **kwargs)
  apply_fn = models.make_apply_fn(model, mean=[0.5] * 3, std=[0.5] * 3)

  @jax.jit
  def train_logits(dropout_keys):
    variables = models.init_variables(model, key(0), image_shape)
    images = jax.random.uniform(key(1), (4, *image_shape))
    run = lambda k: apply_fn(variables["params"], variables["batch_stats"], images, True, k)
    return [run(k)[0] for k in dropout_keys]

  first, same, other = train_logits([key(5), key(5), key(6)])
  np.testing.assert_array_equal(first, same)
  assert not np.allclose(first, other)


def test_drop_path_rates_rise_linearly_from_zero():
  np.testing.assert_allclose(drop_path_rates(0.2, 5), [0.0, 0.05, 0.1, 0.15, 0.2])
  assert drop_path_rates(0.3, 1) == [0.3]


def test_drop_path_drops_whole_examples_and_keeps_expectation():
  x = jnp.ones((4000, 3, 2))
  y = jax.jit(lambda x: DropPath(0.25).apply({}, x, train=True, rngs={"dropout": key(0)}))(x)
  per_example = np.asarray(y).reshape(4000, -1)
  np.testing.assert_allclose(np.unique(per_example), [0.0, 1.0 / 0.75], rtol=1e-6)
  assert np.all(per_example.min(1) == per_example.max(1))
  assert np.mean(per_example[:, 0] == 0.0) == pytest.approx(0.25, abs=0.03)
  assert float(y.mean()) == pytest.approx(1.0, abs=0.05)
  np.testing.assert_array_equal(DropPath(0.25).apply({}, x, train=False), x)
