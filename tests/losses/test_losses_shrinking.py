"""ShrinkMatch's shrunk class space and loss: hand-derived cases, the paper's loop, gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import losses

# Jitted: run op by op, each call would compile every operation inside separately.
shrunk_class_loss = jax.jit(losses.shrunk_class_loss)
shrunk_class_space = jax.jit(losses.shrunk_class_space)


def loop_reference(q, z, tau):
  """The paper's procedure, one image at a time: drop the runners-up until the top is certain."""
  order = np.argsort(-q, kind="stable")
  top = order[0]
  if q[top] >= tau:
    return 0.0
  for first_kept in range(2, len(q)):
    kept = [top, *order[first_kept:]]
    if q[top] / q[kept].sum() >= tau:
      return q[top] * (np.log(np.exp(z[kept]).sum()) - z[top])
  return 0.0


def test_hand_derived_space_in_the_classes_own_order():
  # Sorted: 0.5 (class 2), 0.3 (3), 0.15 (1), 0.05 (0). Dropping class 3: 0.5 / 0.7 = 0.71;
  # dropping 3 and 1: 0.5 / 0.55 = 0.91 >= 0.9. Kept: classes 2 and 0.
  q = jnp.array([[0.05, 0.15, 0.5, 0.3]])
  keep, weight = shrunk_class_space(q, 0.9)
  np.testing.assert_array_equal(keep, [[True, False, True, False]])
  np.testing.assert_allclose(weight, [0.5])
  z = jnp.array([[1.0, 5.0, 2.0, 7.0]])
  np.testing.assert_allclose(shrunk_class_loss(q, z, 0.9),
                             [0.5 * (math.log(math.exp(2.0) + math.exp(1.0)) - 2.0)], rtol=1e-6)


def test_certain_and_unreachable_predictions_get_no_loss():
  z = jnp.array([[3.0, 0.0, -1.0]] * 3)
  q = jnp.array([[0.96, 0.03, 0.01],   # certain: FixMatch's loss covers it
                 [0.40, 0.35, 0.25],   # without the runner-up only 0.4 / 0.65 = 0.62 < 0.95
                 [0.40, 0.35, 0.25]])
  np.testing.assert_array_equal(shrunk_class_loss(q[:2], z[:2], 0.95), [0.0, 0.0])
  # At tau = 0.6 the second image's space exists: classes 0 and 2, weight 0.4.
  keep, weight = shrunk_class_space(q[2:], 0.6)
  np.testing.assert_array_equal(keep, [[True, False, True]])
  np.testing.assert_allclose(weight, [0.4])


@pytest.mark.parametrize("tau", [0.5, 0.8, 0.95])
def test_matches_the_papers_loop_on_random_predictions(tau):
  rng = np.random.default_rng(int(tau * 100))
  # Peaked and flat predictions, so that certain, shrunk and dropped images all occur.
  q = np.concatenate([rng.dirichlet(np.full(10, 0.1), size=128),
                      rng.dirichlet(np.full(10, 3.0), size=128)]).astype(np.float32)
  z = rng.normal(size=(256, 10)).astype(np.float32)
  expected = [loop_reference(q[b], z[b], tau) for b in range(256)]
  certain = np.count_nonzero(q.max(-1) >= tau)
  shrunk = np.count_nonzero(expected)
  dropped = 256 - certain - shrunk  # none at tau <= 1/2, where q_(1) / (q_(1) + q_(C)) >= 1/2
  assert certain >= 5 and shrunk >= 5 and (dropped >= 5 or tau <= 0.5)
  np.testing.assert_allclose(shrunk_class_loss(q, z, tau), expected, rtol=1e-5, atol=1e-6)


def test_removed_classes_get_no_gradient_and_the_top_class_is_pushed_up():
  q = jnp.array([[0.05, 0.15, 0.5, 0.3]])
  grad = jax.grad(lambda z: shrunk_class_loss(q, z, 0.9).sum())(jnp.zeros((1, 4)))
  # Two kept classes at equal logits: d/dz of 0.5 (log(e^z2 + e^z0) - z2) is (0.25, 0, -0.25, 0).
  np.testing.assert_allclose(grad, [[0.25, 0.0, -0.25, 0.0]], atol=1e-7)


def test_bfloat16_logits_give_the_float32_loss():
  rng = np.random.default_rng(0)
  q = rng.dirichlet(np.full(10, 0.3), size=64).astype(np.float32)
  z = jnp.asarray(rng.normal(size=(64, 10)), jnp.bfloat16)
  low = shrunk_class_loss(q, z, 0.8)
  assert low.dtype == jnp.float32
  np.testing.assert_allclose(low, shrunk_class_loss(q, z.astype(jnp.float32), 0.8),
                             rtol=1e-6)
