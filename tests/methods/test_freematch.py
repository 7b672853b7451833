"""FreeMatch: self-adaptive thresholds and fairness loss by hand and over steps, training, resume."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from configs import freematch as freematch_config
from jaxssl import losses
from jaxssl.methods import freematch
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_thresholds_by_hand():
  probs = jnp.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]])
  # tau = 0.9 * 0.1 + 0.1 * mean(0.7, 0.4).
  np.testing.assert_allclose(losses.update_global_threshold(0.1, probs, 0.9), 0.145, rtol=1e-6)
  # MaxNorm(0.2, 0.5, 0.3) = (0.4, 1, 0.6), times tau = 0.5.
  np.testing.assert_allclose(losses.freematch_thresholds(0.5, jnp.array([0.2, 0.5, 0.3])),
                             [0.2, 0.5, 0.3], rtol=1e-6)


def test_fairness_loss_by_hand():
  strong = jnp.log(jnp.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7],
                              [0.5, 0.25, 0.25]]))
  mask = jnp.array([1.0, 1.0, 0.0, 1.0])
  # Masked rows 0, 1, 3 predict 0, 1, 0: h_bar = (2, 1, 0), p_bar = (1.3, 1.25, 0.45) / 4,
  # p_bar / h_bar = (0.1625, 0.3125, 0) -> SumNorm (0.1625, 0.3125) / 0.475.
  # p~ / h~ = (0.5, 0.3, 0.2) / (0.5, 0.25, 0.25) = (1, 1.2, 0.8) -> SumNorm / 3.
  expected = (math.log(0.1625 / 0.475) / 3 + 0.4 * math.log(0.3125 / 0.475))
  loss = losses.fairness_loss(strong, mask, jnp.array([0.5, 0.3, 0.2]),
                              jnp.array([0.5, 0.25, 0.25]))
  np.testing.assert_allclose(loss, expected, rtol=1e-5)
  assert losses.fairness_loss(strong, jnp.zeros(4), jnp.full(3, 1 / 3), jnp.full(3, 1 / 3)) == 0


def test_thresholds_over_steps_of_made_up_confidences():
  extra = {"global_threshold": jnp.float32(0.5), "class_marginal": jnp.full(2, 0.5),
           "label_histogram": jnp.full(2, 0.5)}
  # Step 1 (momentum 0.5): mean max q = 0.8, mean q = (0.8, 0.2), both predict class 0.
  extra = freematch.update_state(extra, jnp.array([[0.9, 0.1], [0.7, 0.3]]), 0.5)
  np.testing.assert_allclose(extra["global_threshold"], 0.65, rtol=1e-6)
  np.testing.assert_allclose(extra["class_marginal"], [0.65, 0.35], rtol=1e-6)
  np.testing.assert_allclose(extra["label_histogram"], [0.75, 0.25], rtol=1e-6)
  np.testing.assert_allclose(
      losses.freematch_thresholds(extra["global_threshold"], extra["class_marginal"]),
      [0.65, 0.35], rtol=1e-6)
  # Step 2: mean max q = 0.7, mean q = (0.3, 0.7), both predict class 1.
  probs = jnp.array([[0.2, 0.8], [0.4, 0.6]])
  extra = freematch.update_state(extra, probs, 0.5)
  np.testing.assert_allclose(extra["global_threshold"], 0.675, rtol=1e-6)
  np.testing.assert_allclose(extra["class_marginal"], [0.475, 0.525], rtol=1e-6)
  np.testing.assert_allclose(extra["label_histogram"], [0.375, 0.625], rtol=1e-6)
  thresholds = losses.freematch_thresholds(extra["global_threshold"], extra["class_marginal"])
  np.testing.assert_allclose(thresholds, [0.475 / 0.525 * 0.675, 0.675], rtol=1e-6)
  np.testing.assert_array_equal(losses.class_thresholds_mask(probs, thresholds), [1.0, 0.0])


def test_training_lowers_the_loss_and_the_state_resumes(shrink, tmp_path):
  config = shrink(freematch_config.get_config("digits"))
  config.unlabeled_ratio = 2
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=8)
  assert history[-1]["loss"] < history[0]["loss"]
  assert state.extra["global_threshold"] > 0.1  # tau_0 = 1/C, rising with the confidence
  np.testing.assert_allclose(state.extra["class_marginal"].sum(), 1.0, rtol=1e-5)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = freematch_config.get_config(arg)
  assert config.method.fairness_weight == 0.001
  build_method(config)
