"""KL divergence, squared error and entropy against hand-computed values."""

import math

import jax
import numpy as np
from jax.test_util import check_grads

from jaxssl import losses

RNG = np.random.default_rng(0)


def random_probs(shape=(8, 6), dtype=np.float32, scale=2.0):
  unnormalized = np.exp(scale * RNG.normal(size=shape))
  return (unnormalized / unnormalized.sum(-1, keepdims=True)).astype(dtype)


kl = jax.jit(losses.kl_divergence)
kl_with_logits = jax.jit(losses.kl_divergence_with_logits)


def test_kl_hand_values():
  p = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]], np.float32)
  q = np.array([[0.25, 0.75], [0.5, 0.5], [0.0, 1.0]], np.float32)
  np.testing.assert_allclose(kl(p, q), [0.5 * math.log(4.0 / 3.0), math.log(2.0), 0.0], rtol=1e-6)


def test_kl_is_nonnegative_and_zero_for_equal_inputs():
  p, q = random_probs(), random_probs()
  assert np.all(kl(p, q) > 0)
  np.testing.assert_allclose(kl(p, p), np.zeros(8), atol=1e-6)


def test_kl_is_not_symmetric():
  p, q = np.array([[0.5, 0.5]], np.float32), np.array([[0.75, 0.25]], np.float32)
  np.testing.assert_allclose(kl(p, q), [0.5 * math.log(4.0 / 3.0)], rtol=1e-6)
  np.testing.assert_allclose(kl(q, p), [0.75 * math.log(1.5) + 0.25 * math.log(0.5)], rtol=1e-6)


def test_kl_with_zero_probabilities_has_finite_gradient():
  p = np.array([[0.0, 0.25, 0.75]], np.float32)
  grad_q = jax.jit(jax.grad(lambda q: losses.kl_divergence(p, q).sum()))(
      np.array([[0.0, 0.5, 0.5]], np.float32))
  np.testing.assert_allclose(grad_q, [[0.0, -0.5, -1.5]], rtol=1e-6)


def test_kl_with_logits_matches_probabilities():
  p_logits = RNG.normal(scale=3.0, size=(8, 6)).astype(np.float32)
  q_logits = RNG.normal(scale=3.0, size=(8, 6)).astype(np.float32)
  softmax = jax.nn.softmax
  np.testing.assert_allclose(kl_with_logits(p_logits, q_logits),
                             kl(softmax(p_logits), softmax(q_logits)), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(kl_with_logits(p_logits, p_logits), np.zeros(8), atol=1e-6)


def test_squared_error_hand_value_and_where():
  p = np.array([[1.0, 0.0], [0.2, 0.8]], np.float32)
  q = np.array([[0.5, 0.5], [0.2, 0.8]], np.float32)
  squared_error = jax.jit(losses.squared_error)
  np.testing.assert_allclose(squared_error(p, q), [0.5, 0.0], atol=1e-7)
  np.testing.assert_array_equal(squared_error(p, q, where=np.array([False, True])), [0.0, 0.0])


def test_entropy_hand_values():
  p = np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]], np.float32)
  entropy = jax.jit(losses.entropy)
  np.testing.assert_allclose(entropy(p), [math.log(4.0), 0.0, math.log(2.0)], rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(entropy(p, where=np.array([0, 1, 1])), [0.0, 0.0, math.log(2.0)],
                             rtol=1e-6, atol=1e-7)
  # -inf logits (masked classes) contribute 0, not NaN.
  logits = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, -np.inf, -np.inf]], np.float32)
  np.testing.assert_allclose(jax.jit(losses.entropy_with_logits)(logits),
                             [math.log(4.0), math.log(2.0)], rtol=1e-6)


def test_gradients_numerically():
  with jax.enable_x64(True):
    logits, other_logits = RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))
    # Probabilities away from 0, so that finite-difference steps stay inside the simplex.
    p, q = random_probs((3, 5), np.float64, 0.5), random_probs((3, 5), np.float64, 0.5)
    check_grads(jax.jit(losses.kl_divergence), (p, q), order=1)
    check_grads(jax.jit(losses.kl_divergence_with_logits), (logits, other_logits), order=1)
    check_grads(jax.jit(losses.squared_error), (p, q), order=1)
    check_grads(jax.jit(losses.entropy), (p,), order=1)
    check_grads(jax.jit(losses.entropy_with_logits), (logits,), order=1)
