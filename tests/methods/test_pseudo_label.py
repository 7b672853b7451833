"""Pseudo-Label: the thresholded loss, its ramp-up, one forward pass, presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import pseudo_label as pseudo_label_config
from tests.methods.helpers import build_method

@pytest.fixture
def tiny_config(shrink):
  return shrink(pseudo_label_config.get_config("digits"), num_devices=1)


def test_loss_is_finite_with_gradient_under_jit(digits_inputs, tiny_config):
  config = tiny_config
  config.method.threshold = 0.0  # every pseudo-label counts
  params, batch, apply_fn = digits_inputs(config)
  calls = []

  def recording_apply_fn(params, x, is_training, rng):
    calls.append(x.shape[0])
    return apply_fn(params, x, is_training, rng)

  @jax.jit
  def loss_and_grad(params, batch, step):
    return jax.value_and_grad(build_method(config).loss_fn, has_aux=True)(
        params, {}, batch, jax.random.key(2), step, recording_apply_fn)

  (loss, aux), grads = loss_and_grad(params, batch, jnp.int32(config.method.rampup_steps))
  metrics = aux["metrics"]
  # Labeled and unlabeled images share one forward pass.
  assert calls == [config.batch_size * (1 + config.unlabeled_ratio)]
  assert np.isfinite(loss) and metrics["mask_rate"] == 1.0
  assert metrics["unsupervised_weight"] == config.method.unlabeled_weight
  np.testing.assert_allclose(loss, metrics["supervised_loss"] + metrics["unsupervised_loss"],
                             rtol=1e-6)
  assert sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads)) > 0
  # The sigmoid ramp-up starts near 0: exp(-5) of the full weight.
  (_, aux_0), _ = loss_and_grad(params, batch, jnp.int32(0))
  np.testing.assert_allclose(aux_0["metrics"]["unsupervised_weight"], np.exp(-5.0), rtol=1e-5)


def test_threshold_masks_unconfident_predictions(digits_inputs, tiny_config):
  config = tiny_config
  config.method.threshold = 1.0  # an untrained network is never that sure
  params, batch, apply_fn = digits_inputs(config)
  loss_fn = build_method(config).loss_fn
  loss, aux = jax.jit(lambda p, b: loss_fn(p, {}, b, jax.random.key(0), 0, apply_fn))(
      params, batch)
  assert aux["metrics"]["mask_rate"] == 0.0 and aux["metrics"]["unsupervised_loss"] == 0.0
  np.testing.assert_allclose(loss, aux["metrics"]["supervised_loss"], rtol=1e-6)


def test_a_few_training_steps_on_digits(tiny_config, train_a_few_steps):
  train_a_few_steps(tiny_config)


def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = pseudo_label_config.get_config(preset_arg)
  assert config.method.threshold == 0.95
  state = lowered_step_on_preset(config, preset_arg)
  assert state.step.shape == ()
