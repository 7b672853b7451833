"""MixMatch: label guessing, the mix step of Algorithm 1, the loss, presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import mixmatch as mixmatch_config
from jaxssl import losses
from jaxssl.methods import mixmatch
from tests.methods.conftest import WITH_STL10
from tests.methods.helpers import (abstract_digits_inputs,
                                   assert_every_step_moves_the_parameters, build_method)

@pytest.fixture
def tiny_config(shrink):
  return shrink(mixmatch_config.get_config("digits"), num_devices=1)


def test_guessed_labels_are_sharpened_averages_without_gradient():
  logits = jax.random.normal(jax.random.key(0), (2, 5, 10))  # K = 2 views of 5 images
  guesses = mixmatch.guess_labels(logits, temperature=0.5)
  assert guesses.shape == (5, 10)
  np.testing.assert_allclose(guesses.sum(-1), 1.0, rtol=1e-6)
  mean = jax.nn.softmax(logits).mean(0)
  np.testing.assert_allclose(guesses, mean**2 / (mean**2).sum(-1, keepdims=True), rtol=1e-5)
  # Sharpening with T < 1 makes every guess more confident than the average it came from.
  assert bool(jnp.all(guesses.max(-1) >= mean.max(-1)))
  grad = jax.grad(lambda z: (mixmatch.guess_labels(z, 0.5) * jnp.arange(10.0)).sum())(logits)
  np.testing.assert_array_equal(grad, 0.0)


def test_mix_follows_algorithm_1():
  labeled_size, unlabeled_size, num_classes = 4, 12, 16  # |X^| = B, |U^| = K mu B
  size = labeled_size + unlabeled_size
  # Row i is the constant image i with the one-hot target of class i, so a mixed row
  # shows which rows went into it and with what weight.
  images = jnp.broadcast_to(jnp.arange(size, dtype=jnp.float32)[:, None, None, None],
                            (size, 3, 3, 1))
  probs = jax.nn.one_hot(jnp.arange(size), num_classes)
  x, p, u, q = mixmatch.mix(jax.random.key(0), images[:labeled_size], probs[:labeled_size],
                            images[labeled_size:], probs[labeled_size:], alpha=0.75)
  assert x.shape == (labeled_size, 3, 3, 1) and p.shape == (labeled_size, num_classes)
  assert u.shape == (unlabeled_size, 3, 3, 1) and q.shape == (unlabeled_size, num_classes)
  mixed_images, mixed_probs = jnp.concatenate([x, u]), jnp.concatenate([p, q])
  np.testing.assert_allclose(mixed_probs.sum(-1), 1.0, rtol=1e-6)
  # lambda' = max(lambda, 1 - lambda) >= 1/2: each row keeps at least half of itself.
  own_weight = mixed_probs[jnp.arange(size), jnp.arange(size)]
  assert bool(jnp.all(own_weight >= 0.5 - 1e-6))
  # Images and targets are mixed with the same partner and the same lambda'.
  np.testing.assert_allclose(mixed_images[:, 0, 0, 0], mixed_probs @ jnp.arange(16.0),
                             rtol=1e-5)
  # The partners are a permutation of Concat(X^, U^): each row is used once as a partner.
  partner_weight = mixed_probs - own_weight[:, None] * probs
  partners = jnp.where(own_weight < 1.0 - 1e-6, jnp.argmax(partner_weight, -1),
                       jnp.arange(size))
  assert len(set(np.asarray(partners).tolist())) == size


def test_mixup_lambda_is_at_least_one_half():
  lam = losses.sample_mixup_lambda(jax.random.key(0), 0.75, shape=(1000,))
  assert float(lam.min()) >= 0.5 and float(lam.max()) <= 1.0


def test_one_label_guessing_pass_then_one_pass_over_the_mixed_batch(tiny_config):
  config = tiny_config
  params, batch, apply_fn = abstract_digits_inputs(config)
  calls = []

  def recording_apply_fn(params, x, is_training, rng):
    calls.append((x.shape[0], is_training))
    return apply_fn(params, x, is_training, rng)
  loss_fn = build_method(config).loss_fn
  jax.eval_shape(lambda p: loss_fn(p, {}, batch, jax.random.key(2), 0, recording_apply_fn),
                 params)
  views_b = config.method.num_augmentations * config.unlabeled_ratio * config.batch_size
  # The label-guessing pass over the K mu B views, then ONE pass over X' (B) and U' (K mu B).
  assert calls == [(views_b, True), (config.batch_size + views_b, True)]


def test_a_few_training_steps_on_digits_ramp_lambda_u_up_linearly(tiny_config,
                                                                   train_a_few_steps):
  config = tiny_config
  logged = train_a_few_steps(config)
  # lambda_U(t) = lambda_U t / T: 0 at the first step.
  np.testing.assert_allclose(
      [m["unsupervised_weight"] for m in logged],
      config.method.unlabeled_weight * np.arange(4) / config.method.rampup_steps, rtol=1e-5)
  for metrics in logged:
    assert metrics["unsupervised_loss"] > 0
    np.testing.assert_allclose(
        metrics["loss"],
        metrics["supervised_loss"] + metrics["unsupervised_weight"] * metrics["unsupervised_loss"],
        rtol=1e-5)
  assert_every_step_moves_the_parameters(logged)


@pytest.mark.parametrize("preset_arg", WITH_STL10)
def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = mixmatch_config.get_config(preset_arg)
  assert config.method.temperature == 0.5 and config.method.mixup_alpha == 0.75
  state = lowered_step_on_preset(config, preset_arg)
  assert state.step.shape == ()
