"""Pi-model: the loss, one forward pass for both views, gradient through both, presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import pi_model as pi_model_config
from tests.methods.helpers import assert_every_step_moves_the_parameters, build_method

@pytest.fixture
def config(shrink):
  """The digits config with a tiny model and batch."""
  config = shrink(pi_model_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 2
  config.method.rampup_steps = 0  # full weight from step 0
  return config


def test_both_views_share_one_forward_pass_and_both_get_gradient(digits_inputs, config):
  params, batch, apply_fn = digits_inputs(config)
  calls = []

  def recording_apply_fn(params, x, is_training, rng):
    calls.append((x.shape[0], is_training))
    return apply_fn(params, x, is_training, rng)

  loss_fn = build_method(config).loss_fn
  jax.eval_shape(lambda p: loss_fn(p, {}, batch, jax.random.key(0), 0, recording_apply_fn),
                 params)
  images = config.batch_size * (1 + config.unlabeled_ratio)
  assert calls == [(2 * images, True)]

  # The consistency is differentiated through both passes, as in Laine & Aila's
  # Algorithm 1: both views' logits receive a gradient (a stop-gradient on z~
  # would leave the second view's at 0).
  def consistency_of_logits(logits):
    def fixed_logits_apply_fn(params, x, is_training, rng):
      return logits, {}
    return loss_fn(params, {}, batch, jax.random.key(0), 0,
                   fixed_logits_apply_fn)[1]["metrics"]["unsupervised_loss"]

  logits = jax.random.normal(jax.random.key(1), (2 * images, 10))
  grad = jax.jit(jax.grad(consistency_of_logits))(logits)
  assert jnp.abs(grad[:images]).sum() > 0 and jnp.abs(grad[images:]).sum() > 0


def test_a_few_training_steps_on_digits_at_the_full_consistency_weight(config,
                                                                       train_a_few_steps):
  logged = train_a_few_steps(config)
  for metrics in logged:
    assert metrics["unsupervised_loss"] > 0
    np.testing.assert_allclose(metrics["unsupervised_weight"], config.method.max_weight)
    np.testing.assert_allclose(
        metrics["loss"],
        metrics["supervised_loss"] + config.method.max_weight * metrics["unsupervised_loss"],
        rtol=1e-6)
    assert 0.0 <= metrics["pseudo_label_accuracy"] <= 1.0
  assert_every_step_moves_the_parameters(logged)


def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = pi_model_config.get_config(preset_arg)
  assert config.method.max_weight > 0 and config.method.rampup_steps > 0
  state = lowered_step_on_preset(config, preset_arg)
  assert state.step.shape == ()
