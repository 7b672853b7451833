"""Pseudo-Label: the thresholded loss, its ramp-up, one forward pass, presets."""

import jax
import numpy as np
import pytest

from configs import pseudo_label as pseudo_label_config
from tests.methods.helpers import (abstract_digits_inputs,
                                   assert_every_step_moves_the_parameters, build_method)

@pytest.fixture
def tiny_config(shrink):
  return shrink(pseudo_label_config.get_config("digits"), num_devices=1)


def test_labeled_and_unlabeled_images_share_one_forward_pass(tiny_config):
  params, batch, apply_fn = abstract_digits_inputs(tiny_config)
  calls = []

  def recording_apply_fn(params, x, is_training, rng):
    calls.append(x.shape[0])
    return apply_fn(params, x, is_training, rng)
  loss_fn = build_method(tiny_config).loss_fn
  jax.eval_shape(lambda p: loss_fn(p, {}, batch, jax.random.key(2), 0, recording_apply_fn),
                 params)
  assert calls == [tiny_config.batch_size * (1 + tiny_config.unlabeled_ratio)]


def test_threshold_masks_unconfident_predictions(digits_inputs, tiny_config):
  config = tiny_config
  config.method.threshold = 1.0  # an untrained network is never that sure
  params, batch, apply_fn = digits_inputs(config)
  loss_fn = build_method(config).loss_fn
  loss, aux = jax.jit(lambda p, b: loss_fn(p, {}, b, jax.random.key(0), 0, apply_fn))(
      params, batch)
  assert aux["metrics"]["mask_rate"] == 0.0 and aux["metrics"]["unsupervised_loss"] == 0.0
  np.testing.assert_allclose(loss, aux["metrics"]["supervised_loss"], rtol=1e-6)


def test_a_few_training_steps_on_digits_with_every_pseudo_label_kept(tiny_config,
                                                                     train_a_few_steps):
  config = tiny_config
  config.method.threshold = 0.0  # every pseudo-label counts
  logged = train_a_few_steps(config)
  # The sigmoid ramp-up w(t) = w_max exp(-5 (1 - t / T)^2) starts at exp(-5) of w_max.
  ramp = np.exp(-5.0 * (1.0 - np.arange(4) / config.method.rampup_steps) ** 2)
  np.testing.assert_allclose([m["unsupervised_weight"] for m in logged],
                             config.method.unlabeled_weight * ramp, rtol=1e-5)
  for metrics in logged:
    assert metrics["mask_rate"] == 1.0 and metrics["unsupervised_loss"] > 0
    np.testing.assert_allclose(
        metrics["loss"],
        metrics["supervised_loss"] + metrics["unsupervised_weight"] * metrics["unsupervised_loss"],
        rtol=1e-6)
  assert_every_step_moves_the_parameters(logged)


def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = pseudo_label_config.get_config(preset_arg)
  assert config.method.threshold == 0.95
  state = lowered_step_on_preset(config, preset_arg)
  assert state.step.shape == ()
