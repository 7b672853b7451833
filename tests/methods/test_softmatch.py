"""SoftMatch: truncated Gaussian weights by hand and over steps, uniform alignment, training, resume."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from configs import softmatch as softmatch_config
from jaxssl import losses
from jaxssl.methods import softmatch
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_moments_and_weights_by_hand():
  probs = jnp.array([[0.9, 0.1], [0.5, 0.5], [0.7, 0.3]])
  # Confidences (0.9, 0.5, 0.7): mean 0.7, unbiased variance (0.04 + 0.04) / 2 = 0.04.
  mean, variance = losses.update_confidence_moments(0.1, 1.0, probs, 0.9)
  np.testing.assert_allclose([mean, variance], [0.9 * 0.1 + 0.1 * 0.7, 0.9 + 0.1 * 0.04],
                             rtol=1e-6)
  # mu = 0.7, s2 = 0.04: 0.5 is 0.2 below; n = 2 gives exp(-0.04 / 0.02), n = 1 exp(-0.04 / 0.08).
  np.testing.assert_allclose(losses.truncated_gaussian_weight(probs, 0.7, 0.04),
                             [1.0, math.exp(-2.0), 1.0], rtol=1e-5)
  np.testing.assert_allclose(losses.truncated_gaussian_weight(probs, 0.7, 0.04, 1.0, 0.5),
                             [0.5, 0.5 * math.exp(-0.5), 0.5], rtol=1e-5)


def test_weights_over_steps_of_made_up_confidences():
  extra = {"confidence_mean": jnp.float32(0.5), "confidence_variance": jnp.float32(1.0)}
  # Step 1 (momentum 0.5): confidences (0.9, 0.7), mean 0.8, variance 0.02; both above mu.
  extra, weights = softmatch.weigh(extra, jnp.array([[0.9, 0.1], [0.3, 0.7]]), 0.5, 2.0)
  np.testing.assert_allclose([extra["confidence_mean"], extra["confidence_variance"]],
                             [0.65, 0.51], rtol=1e-6)
  np.testing.assert_allclose(weights, [1.0, 1.0])
  # Step 2: confidences (0.6, 0.8): mu = 0.675, s2 = 0.265; 0.6 weighs exp(-0.075^2 / (2 s2 / 4)).
  extra, weights = softmatch.weigh(extra, jnp.array([[0.6, 0.4], [0.2, 0.8]]), 0.5, 2.0)
  np.testing.assert_allclose([extra["confidence_mean"], extra["confidence_variance"]],
                             [0.675, 0.265], rtol=1e-6)
  np.testing.assert_allclose(weights, [math.exp(-0.075**2 / (2 * 0.265 / 4)), 1.0], rtol=1e-5)


def test_uniform_alignment_enters_the_weights():
  # A marginal that over-predicts class 0: after one update (momentum 0.5) p^ = (0.7, 0.3).
  extra = {"marginal": jnp.array([0.6, 0.4]), "confidence_mean": jnp.float32(0.9),
           "confidence_variance": jnp.float32(0.01)}
  probs = jnp.array([[0.8, 0.2], [0.8, 0.2]])
  state, weights = softmatch.weigh(extra, probs, 0.5, 2.0)
  np.testing.assert_allclose(state["marginal"], [0.7, 0.3], rtol=1e-6)
  # q' = Normalize(0.8 / 0.7, 0.2 / 0.3): confidence 0.6316 instead of 0.8, both rows alike.
  aligned = 0.8 / 0.7 / (0.8 / 0.7 + 0.2 / 0.3)
  np.testing.assert_allclose(state["confidence_mean"], 0.5 * 0.9 + 0.5 * aligned, rtol=1e-6)
  np.testing.assert_allclose(state["confidence_variance"], 0.005, rtol=1e-5)
  below = aligned - state["confidence_mean"]
  np.testing.assert_allclose(weights, math.exp(-below**2 / (2 * 0.005 / 4)), rtol=1e-4)


def test_training_lowers_the_loss_and_the_state_resumes(shrink, tmp_path):
  config = shrink(softmatch_config.get_config("digits"))
  config.unlabeled_ratio = 2
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=8)
  assert history[-1]["loss"] < history[0]["loss"]
  assert 0.0 < history[-1]["mask_rate"] <= 1.0  # the mean weight
  assert state.extra["confidence_variance"] < 1.0  # from s2_0 = 1 toward the batches' variance
  np.testing.assert_allclose(state.extra["marginal"].sum(), 1.0, rtol=1e-5)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = softmatch_config.get_config(arg)
  assert config.method.uniform_alignment and config.method.num_sigma == 2
  build_method(config)
