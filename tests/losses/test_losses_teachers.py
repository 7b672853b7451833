"""Temporal ensembling and the EMA (Mean Teacher) teacher."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import losses


def test_bias_corrected_target_of_constant_predictions_is_exact():
  z = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
  alpha = 0.6
  update = jax.jit(losses.temporal_ensemble_update)
  target = jax.jit(losses.temporal_ensemble_target)
  ensemble = np.zeros_like(z)
  for t in (1, 2):
    ensemble = update(ensemble, z, alpha)
    np.testing.assert_allclose(target(ensemble, np.full((2,), t), alpha), z, rtol=1e-6)
  # Without the correction Z is (1 - alpha^2) z after two updates.
  np.testing.assert_allclose(ensemble, (1 - alpha**2) * z, rtol=1e-6)


def test_target_is_zero_where_never_updated():
  ensemble = np.array([[0.28, 0.12], [0.0, 0.0]], np.float32)
  target = jax.jit(losses.temporal_ensemble_target)(ensemble, np.array([1, 0]), 0.6)
  np.testing.assert_allclose(target, [[0.7, 0.3], [0.0, 0.0]], rtol=1e-6)
  assert np.all(np.isfinite(target))


def test_ema_teacher_matches_closed_form():
  alpha, steps = 0.9, 5
  rng = np.random.default_rng(0)
  student = [{"w": rng.normal(size=(3, 2)).astype(np.float32),
              "b": rng.normal(size=2).astype(np.float32)} for _ in range(steps + 1)]
  state = losses.init_teacher(student[0], alpha)
  np.testing.assert_array_equal(state.ema["w"], student[0]["w"])
  update = jax.jit(losses.update_teacher)
  for params in student[1:]:
    teacher, state = update(state, params, alpha)
  # theta'_n = alpha^n theta_0 + (1 - alpha) sum_k alpha^(n - k) theta_k
  for name in ("w", "b"):
    expected = alpha**steps * student[0][name] + (1 - alpha) * sum(
        alpha ** (steps - k) * student[k][name] for k in range(1, steps + 1))
    np.testing.assert_allclose(teacher[name], expected, rtol=1e-5)
    np.testing.assert_array_equal(state.ema[name], teacher[name])


def test_ema_teacher_state_is_a_pytree_and_decay_can_be_traced():
  params = {"w": jnp.ones(3)}
  transform = losses.ema_teacher(0.5)
  state = transform.init(params)
  assert len(jax.tree.leaves(state)) == 2  # the step count and the teacher's "w"

  @jax.jit
  def step(state, params, decay):
    return losses.update_teacher(state, params, decay)

  teacher, _ = step(state, {"w": jnp.full(3, 3.0)}, jnp.float32(0.25))
  np.testing.assert_allclose(teacher["w"], jnp.full(3, 0.25 * 1.0 + 0.75 * 3.0))


def test_averaging_decay_is_the_running_mean_then_the_ema():
  steps = np.arange(6)
  np.testing.assert_allclose(losses.averaging_decay(steps, 0.75),
                             [0.0, 0.5, 2 / 3, 0.75, 0.75, 0.75], rtol=1e-6)
  # Fed with these decays, an average started anywhere is the plain mean of the inputs.
  values, average = [3.0, 5.0, 10.0], 123.0
  for step, value in enumerate(values):
    decay = float(losses.averaging_decay(step, 0.99))
    average = decay * average + (1 - decay) * value
  assert average == pytest.approx(np.mean(values))
