"""MixMatch: label guessing, the mix step of Algorithm 1, the loss, presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import mixmatch as mixmatch_config
from jaxssl import losses
from jaxssl.methods import mixmatch
from tests.methods.helpers import build_method

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


def test_loss_shapes_and_gradient_under_jit(digits_inputs, tiny_config):
  config = tiny_config
  params, batch, apply_fn = digits_inputs(config)
  calls = []

  def recording_apply_fn(params, x, is_training, rng):
    calls.append((x.shape[0], is_training))
    return apply_fn(params, x, is_training, rng)

  @jax.jit
  def loss_and_grad(params, batch, step):
    return jax.value_and_grad(build_method(config).loss_fn, has_aux=True)(
        params, {}, batch, jax.random.key(2), step, recording_apply_fn)

  (loss, aux), grads = loss_and_grad(params, batch, jnp.int32(config.method.rampup_steps))
  views_b = config.method.num_augmentations * config.unlabeled_ratio * config.batch_size
  # The label-guessing pass over the K mu B views, then ONE pass over X' (B) and U' (K mu B).
  assert calls == [(views_b, True), (config.batch_size + views_b, True)]
  metrics = aux["metrics"]
  assert np.isfinite(loss)
  assert metrics["unsupervised_weight"] == config.method.unlabeled_weight
  np.testing.assert_allclose(
      loss, metrics["supervised_loss"] + config.method.unlabeled_weight
      * metrics["unsupervised_loss"], rtol=1e-5)
  assert sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads)) > 0
  # lambda_U ramps up linearly from 0.
  (_, aux_0), _ = loss_and_grad(params, batch, jnp.int32(0))
  assert aux_0["metrics"]["unsupervised_weight"] == 0.0


def test_a_few_training_steps_on_digits(tiny_config, train_a_few_steps):
  train_a_few_steps(tiny_config)


def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = mixmatch_config.get_config(preset_arg)
  assert config.method.temperature == 0.5 and config.method.mixup_alpha == 0.75
  state = lowered_step_on_preset(config, preset_arg)
  assert state.step.shape == ()
