"""Sharpening, confidence masks, FixMatch and Pseudo-Label losses."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from jaxssl import losses

RNG = np.random.default_rng(0)
sharpen = jax.jit(losses.sharpen)


def random_probs(shape, scale, dtype=np.float32):
  unnormalized = np.exp(scale * RNG.normal(size=shape))
  return (unnormalized / unnormalized.sum(-1, keepdims=True)).astype(dtype)


def test_sharpen_with_unit_temperature_is_identity():
  p = random_probs((8, 10), 1.0)
  np.testing.assert_allclose(sharpen(p, 1.0), p, rtol=1e-5, atol=1e-7)


def test_sharpen_hand_value_and_rows_sum_to_one():
  p = np.array([[0.2, 0.8], [0.0, 1.0]], np.float32)
  np.testing.assert_allclose(sharpen(p, 0.5), [[0.04 / 0.68, 0.64 / 0.68], [0.0, 1.0]], rtol=1e-6)
  many = random_probs((32, 10), 3.0)
  for temperature in (0.05, 0.5, 2.0):
    np.testing.assert_allclose(np.sum(sharpen(many, temperature), -1), np.ones(32), rtol=1e-6)


def test_sharpen_tends_to_one_hot_as_temperature_goes_to_zero():
  p = np.array([[0.2, 0.5, 0.3], [0.45, 0.1, 0.45 - 1e-3]], np.float32)
  np.testing.assert_allclose(sharpen(p, 1e-4), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], atol=1e-6)
  assert sharpen(p, 0.1)[0, 1] > sharpen(p, 0.5)[0, 1] > 0.5


def test_sharpen_gradients():
  with jax.enable_x64(True):
    check_grads(jax.jit(lambda q: losses.sharpen(q, 0.5)), (random_probs((3, 4), 0.5, np.float64),),
                order=1)
  grad = jax.jit(jax.grad(lambda q: losses.sharpen(q, 0.5)[0, 1]))(
      np.array([[0.0, 0.4, 0.6]], np.float32))
  assert np.all(np.isfinite(grad))


def test_hard_pseudo_labels_and_confidence_mask_counts():
  probs = np.array([[0.95, 0.05], [0.94, 0.06], [0.02, 0.98], [0.5, 0.5], [0.0, 1.0]], np.float32)
  np.testing.assert_array_equal(jax.jit(losses.hard_pseudo_labels)(probs), [0, 0, 1, 0, 1])
  mask = jax.jit(losses.confidence_mask)(probs, 0.95)
  assert mask.dtype == jnp.float32
  np.testing.assert_array_equal(mask, [1.0, 0.0, 1.0, 0.0, 1.0])
  assert float(jax.jit(losses.confidence_mask)(probs, 0.5).sum()) == 5.0
  assert float(jax.jit(losses.confidence_mask)(probs, 0.99).sum()) == 1.0


# Weak-view predictions q_b: rows 0 and 2 pass tau = 0.95 (labels 0 and 2), row 1 does not.
WEAK_LOGITS = np.log(
    np.array([[0.96, 0.02, 0.02], [0.5, 0.3, 0.2], [0.01, 0.01, 0.98]], np.float32))
STRONG_LOGITS = np.log(
    np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]], np.float32))


def test_fixmatch_loss_on_constructed_batch():
  loss = jax.jit(losses.fixmatch_unlabeled_loss)(WEAK_LOGITS, STRONG_LOGITS, 0.95)
  np.testing.assert_allclose(loss, [math.log(2.0), 0.0, -math.log(0.8)], rtol=1e-5)
  np.testing.assert_allclose(loss.mean(), (math.log(2.0) - math.log(0.8)) / 3, rtol=1e-5)


def test_fixmatch_gradient_only_into_strong_logits():
  grad_fn = jax.jit(jax.grad(lambda w, s: losses.fixmatch_unlabeled_loss(w, s, 0.95).sum(),
                             argnums=(0, 1)))
  grad_weak, grad_strong = grad_fn(WEAK_LOGITS, STRONG_LOGITS)
  np.testing.assert_array_equal(grad_weak, np.zeros((3, 3)))
  # d CE / d z = softmax(z) - onehot(label) on unmasked rows, 0 on the masked row.
  np.testing.assert_allclose(
      grad_strong, [[-0.5, 0.25, 0.25], [0.0, 0.0, 0.0], [0.1, 0.1, -0.2]], atol=1e-6)


def test_pseudo_label_loss_value_threshold_and_gradient():
  logits = np.log(np.array([[0.75, 0.25], [0.1, 0.9]], np.float32))
  loss_fn = jax.jit(losses.pseudo_label_loss)
  np.testing.assert_allclose(loss_fn(logits), [-math.log(0.75), -math.log(0.9)], rtol=1e-6)
  np.testing.assert_allclose(loss_fn(logits, 0.8), [0.0, -math.log(0.9)], rtol=1e-6)
  grad = jax.jit(jax.grad(lambda z: losses.pseudo_label_loss(z).sum()))(logits)
  np.testing.assert_allclose(grad, [[-0.25, 0.25], [0.1, -0.1]], atol=1e-6)


def test_distribution_alignment_and_its_running_marginal_by_hand():
  probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]], np.float32)
  marginal = np.array([0.5, 0.25, 0.25], np.float32)
  aligned = jax.jit(losses.distribution_alignment)(probs, marginal)
  # Row 0: (0.6/0.5, 0.3/0.25, 0.1/0.25) = (1.2, 1.2, 0.4), normalized by 2.8.
  np.testing.assert_allclose(aligned[0], [1.2 / 2.8, 1.2 / 2.8, 0.4 / 2.8], rtol=1e-6)
  # A non-uniform target multiplies in: p(y) = (0.2, 0.4, 0.4) gives (0.24, 0.48, 0.16) / 0.88.
  target = np.array([0.2, 0.4, 0.4], np.float32)
  np.testing.assert_allclose(losses.distribution_alignment(probs, marginal, target)[0],
                             np.array([0.24, 0.48, 0.16]) / 0.88, rtol=1e-6)
  # A marginal equal to the target leaves predictions unchanged.
  np.testing.assert_allclose(losses.distribution_alignment(probs, target, target), probs,
                             rtol=1e-6)
  updated = jax.jit(losses.update_marginal)(marginal, probs, 0.9)
  np.testing.assert_allclose(updated, 0.9 * marginal + 0.1 * np.array([0.4, 0.25, 0.35]),
                             rtol=1e-6)
