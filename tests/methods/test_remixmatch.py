"""ReMixMatch: the guess, the loss terms and the rotations by hand, its passes, training, resume."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import remixmatch as remixmatch_config
from jaxssl import models
from jaxssl.augment import ctaugment
from jaxssl.errors import ConfigError
from jaxssl.methods import remixmatch
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import (abstract_digits_inputs, assert_same_state, build_method,
                                   train_and_resume)


def test_guess_is_aligned_to_a_uniform_marginal_then_sharpened():
  # p = (0.5, 0.3, 0.2) over a running marginal (0.5, 0.25, 0.25): p / p~ = (1, 1.2, 0.8),
  # normalized (1/3, 0.4, 4/15); sharpened with T = 0.5: squares (1, 1.44, 0.64) / 3.08.
  logits = jnp.log(jnp.array([[0.5, 0.3, 0.2]]))
  guess = remixmatch.guess_labels(logits, jnp.array([0.5, 0.25, 0.25]), 0.5)
  np.testing.assert_allclose(guess[0], np.array([1.0, 1.44, 0.64]) / 3.08, rtol=1e-5)
  # No gradient flows into the guess.
  gradient = jax.grad(lambda z: remixmatch.guess_labels(z, jnp.full(3, 1 / 3), 0.5)[0, 0])(logits)
  np.testing.assert_array_equal(gradient, 0.0)


def test_loss_terms_by_hand():
  log3 = math.log(3.0)
  labeled_logits, labeled_targets = jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]])
  unlabeled_logits, unlabeled_targets = jnp.array([[log3, 0.0]]), jnp.array([[0.5, 0.5]])
  strong_logits, guesses = jnp.array([[0.0, log3]]), jnp.array([[1.0, 0.0]])
  rotation_logits, turns = jnp.zeros((1, 4)), jnp.array([2])
  loss, terms = remixmatch.objective(labeled_logits, labeled_targets, unlabeled_logits,
                                     unlabeled_targets, strong_logits, guesses, rotation_logits,
                                     turns, (1.5, 0.5, 0.25))
  expected = {"supervised_loss": math.log(2),                                  # H((1, 0), (1/2, 1/2))
              "unsupervised_loss": -0.5 * (math.log(0.75) + math.log(0.25)),  # p = (3/4, 1/4)
              "pre_mixup_loss": math.log(4),                                  # p_0 = 1/4
              "rotation_loss": math.log(4)}                                   # uniform over 4
  for name, value in expected.items():
    np.testing.assert_allclose(terms[name], value, rtol=1e-6, err_msg=name)
  np.testing.assert_allclose(loss, math.log(2) + 1.5 * expected["unsupervised_loss"]
                             + 0.5 * math.log(4) + 0.25 * math.log(4), rtol=1e-6)
  loss, terms = remixmatch.objective(labeled_logits, labeled_targets, unlabeled_logits,
                                     unlabeled_targets, strong_logits, guesses, None, turns,
                                     (1.5, 0.5, 0.0))
  assert "rotation_loss" not in terms
  np.testing.assert_allclose(loss, math.log(2) + 1.5 * expected["unsupervised_loss"]
                             + 0.5 * math.log(4), rtol=1e-6)


def test_rotations_are_quarter_turns():
  images = np.arange(4 * 3 * 3 * 2, dtype=np.float32).reshape(4, 3, 3, 2)
  turns = np.array([0, 1, 2, 3])
  rotated = np.asarray(remixmatch.rotate_quarters(jnp.asarray(images), jnp.asarray(turns)))
  for n, k in enumerate(turns):
    np.testing.assert_array_equal(rotated[n], np.rot90(images[n], k, axes=(0, 1)))
  with pytest.raises(ConfigError, match="square"):
    remixmatch.rotate_quarters(jnp.zeros((1, 4, 6, 1)), jnp.zeros(1, jnp.int32))


@pytest.fixture
def tiny_config(shrink):
  config = shrink(remixmatch_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 1
  config.method.strong_augment = "ctaugment"
  return config


def test_passes_rotation_head_and_probes(tiny_config):
  config = tiny_config
  b, mu_b, k = config.batch_size, config.batch_size, config.method.num_strong

  def passes(config):
    method = build_method(config)
    params, batch, apply_fn = abstract_digits_inputs(config)
    extra = method.init_extra(params, num_unlabeled=1)
    calls = []

    def counting_apply_fn(params, x, is_training, rng):
      calls.append((x.shape[0], is_training))
      return apply_fn(params, x, is_training, rng)

    _, aux = jax.eval_shape(lambda p: method.loss_fn(p, extra, batch, jax.random.key(0), 0,
                                                     counting_apply_fn), params)
    return calls, aux["metrics"]

  # Anchors, first strong views and their rotations; then X' and U'; then the probes.
  calls, metrics = passes(config)
  assert calls == [(3 * mu_b, True), (b + (k + 1) * mu_b, True), (b, False)]
  assert {"rotation_loss", "pre_mixup_loss", "probe_match"} <= set(metrics)
  config.method.rotation_weight = 0.0
  config.model.kwargs.extra_logits = 0
  calls, metrics = passes(config)
  assert calls[0] == (2 * mu_b, True) and "rotation_loss" not in metrics
  config.method.rotation_weight = 0.5
  with pytest.raises(ConfigError, match="extra_logits=4"):
    passes(config)


def test_training_lowers_the_loss_and_the_state_resumes(tiny_config, tmp_path):
  config = tiny_config
  config.method.rampup_steps = 0  # every term at its full weight from the start
  config.method.num_strong = 1  # one strong view to compile, not two
  config.optimizer.learning_rate = 0.01  # a clear drop within a few steps
  # Steps are cheap once compiled; MixUp makes single losses noisy, so compare averages.
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=12)
  losses = [float(h["loss"]) for h in history]
  assert np.mean(losses[-3:]) < np.mean(losses[:3])
  assert np.all(np.isfinite([h["rotation_loss"] for h in history]))
  assert not np.allclose(state.extra["marginal"], 0.1)
  assert (np.asarray(state.extra["ctaugment"]) != np.asarray(ctaugment.init_weights())).any()
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = remixmatch_config.get_config(arg)
  assert config.method.unlabeled_weight == 1.5 and config.method.temperature == 0.5
  # K = 8, but 4 on STL-10, 1 on CIFAR-10 with 40 labels, 2 on digits.
  expected = {"digits": 2, "stl10,labels=1000": 4, "cifar10,labels=40": 1}.get(arg, 8)
  assert config.method.num_strong == expected
  assert config.model.kwargs.extra_logits == 4
  build_method(config)


def test_the_rotation_head_is_extra_logits_of_any_network():
  model = models.create_model("small_cnn", 10, width=4, extra_logits=4)
  apply = models.make_apply_fn(model, [0.5], [0.25])

  def outputs(is_training):
    variables = models.init_variables(model, jax.random.key(0), (8, 8, 1))
    return apply(variables["params"], variables["batch_stats"], jnp.zeros((2, 8, 8, 1)),
                 is_training, None)[0]

  class_logits, rotation_logits = jax.eval_shape(lambda: outputs(True))
  assert class_logits.shape == (2, 10) and rotation_logits.shape == (2, 4)
  assert jax.eval_shape(lambda: outputs(False)).shape == (2, 10)  # evaluation: a classifier
  with pytest.raises(ConfigError, match="already returns a pair"):
    models.create_model("vit", 10, size="micro", distillation_token=True, extra_logits=4)
