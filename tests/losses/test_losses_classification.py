"""Cross-entropy against hand-computed values."""

import math

import jax
import numpy as np
from jax.test_util import check_grads

from jaxssl import losses

RNG = np.random.default_rng(0)
# softmax([0, ln 2, ln 3]) = [1/6, 2/6, 3/6]
LOGITS = np.log(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], np.float32))

cross_entropy = jax.jit(losses.softmax_cross_entropy)
integer_cross_entropy = jax.jit(losses.softmax_cross_entropy_with_integer_labels)


def test_integer_label_cross_entropy_hand_value():
  ce = integer_cross_entropy(LOGITS, np.array([2, 1]))
  np.testing.assert_allclose(ce, [math.log(2.0), math.log(3.0)], rtol=1e-6)


def test_soft_target_cross_entropy_hand_value():
  targets = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]], np.float32)
  ce = cross_entropy(LOGITS, targets)
  np.testing.assert_allclose(ce, [0.5 * math.log(12.0), math.log(3.0)], rtol=1e-6)


def test_one_hot_targets_match_integer_labels():
  logits = RNG.normal(scale=4.0, size=(16, 10)).astype(np.float32)
  labels = RNG.integers(0, 10, size=16)
  soft = cross_entropy(logits, np.eye(10, dtype=np.float32)[labels])
  np.testing.assert_allclose(soft, integer_cross_entropy(logits, labels), rtol=1e-5)


def test_cross_entropy_is_finite_for_extreme_logits():
  logits = np.array([[1000.0, -1000.0]], np.float32)
  np.testing.assert_allclose(integer_cross_entropy(logits, np.array([1])), [2000.0])
  grad = jax.jit(jax.grad(lambda z: losses.softmax_cross_entropy(z, np.array([[0.0, 1.0]])).sum()))(
      logits)
  np.testing.assert_allclose(grad, [[1.0, -1.0]])


def test_masked_classes_with_minus_inf_logits_stay_finite():
  logits = np.array([[0.0, math.log(3.0), -np.inf]], np.float32)
  targets = np.array([[0.5, 0.5, 0.0]], np.float32)
  ce, grad = jax.jit(jax.value_and_grad(lambda z: losses.softmax_cross_entropy(z, targets).sum()))(
      logits)
  np.testing.assert_allclose(ce, 0.5 * math.log(4.0) + 0.5 * math.log(4.0 / 3.0), rtol=1e-6)
  np.testing.assert_allclose(grad, [[-0.25, 0.25, 0.0]], rtol=1e-6)


def test_where_zeroes_excluded_examples():
  ce = integer_cross_entropy(LOGITS, np.array([2, 1]), where=np.array([False, True]))
  np.testing.assert_allclose(ce, [0.0, math.log(3.0)], rtol=1e-6)
  targets = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]], np.float32)
  ce = cross_entropy(LOGITS, targets, where=np.array([1.0, 0.0]))
  np.testing.assert_allclose(ce, [0.5 * math.log(12.0), 0.0], rtol=1e-6)


def test_cross_entropy_gradients_numerically():
  with jax.enable_x64(True):
    logits = RNG.normal(size=(4, 5))
    targets = np.exp(RNG.normal(size=(4, 5)))
    targets /= targets.sum(-1, keepdims=True)
    labels = np.array([0, 4, 2, 1])
    check_grads(jax.jit(losses.softmax_cross_entropy), (logits, targets), order=1)
    check_grads(jax.jit(lambda z: losses.softmax_cross_entropy_with_integer_labels(z, labels)),
                (logits,), order=1)
