"""FlexMatch: learning effect, curriculum thresholds by hand and over steps, training, resume."""

import jax.numpy as jnp
import numpy as np
import pytest

from configs import flexmatch as flexmatch_config
from jaxssl import losses
from jaxssl.methods import flexmatch
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_learning_effect_and_thresholds_by_hand():
  latest = jnp.array([0, 0, 1, -1, -1, -1, 2, -1])
  sigma = losses.learning_effect(latest, 3)
  np.testing.assert_array_equal(sigma, [2.0, 1.0, 1.0])
  # Warm-up: 4 of 8 examples unused, so beta = sigma / max(2, 4) = (1/2, 1/4, 1/4).
  np.testing.assert_allclose(losses.flexmatch_thresholds(sigma, 8, 0.95),
                             0.95 * np.array([1 / 3, 1 / 7, 1 / 7]), rtol=1e-6)
  np.testing.assert_allclose(losses.flexmatch_thresholds(sigma, 8, 0.95, mapping="linear"),
                             0.95 * np.array([0.5, 0.25, 0.25]), rtol=1e-6)
  # Without it beta = sigma / 2 = (1, 1/2, 1/2); M(1) = 1, M(1/2) = 1/3.
  np.testing.assert_allclose(losses.flexmatch_thresholds(sigma, 8, 0.95, warmup=False),
                             0.95 * np.array([1.0, 1 / 3, 1 / 3]), rtol=1e-6)
  # Before any confident prediction every threshold is 0.
  for warmup in (True, False):
    np.testing.assert_array_equal(
        losses.flexmatch_thresholds(losses.learning_effect(jnp.full(5, -1), 3), 5, 0.95,
                                    warmup=warmup), 0.0)
  probs = jnp.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
  np.testing.assert_array_equal(
      losses.class_thresholds_mask(probs, jnp.array([0.6, 0.5, 0.45])), [0.0, 1.0, 0.0])


def test_thresholds_over_steps_of_made_up_confidences():
  tau, latest = 0.9, jnp.full(6, -1, jnp.int32)
  # Step 1: u_0 confident "0"; u_1 unsure; u_2 drawn twice, its first confident prediction wins.
  latest = flexmatch.update_latest_labels(
      latest, jnp.array([0, 1, 2, 2]),
      jnp.array([[0.95, 0.03, 0.02], [0.2, 0.5, 0.3], [0.02, 0.02, 0.96], [0.97, 0.02, 0.01]]),
      tau)
  np.testing.assert_array_equal(latest, [0, -1, 2, -1, -1, -1])
  # sigma = (1, 0, 1), 4 unused: beta = (1/4, 0, 1/4), M(1/4) = 1/7.
  np.testing.assert_allclose(losses.flexmatch_thresholds(losses.learning_effect(latest, 3), 6,
                                                         tau), [tau / 7, 0.0, tau / 7], rtol=1e-6)
  # Step 2: u_0 unsure keeps "0"; u_4 unsure first, then confident "2".
  latest = flexmatch.update_latest_labels(
      latest, jnp.array([1, 0, 3, 4, 4]),
      jnp.array([[0.05, 0.92, 0.03], [0.3, 0.6, 0.1], [0.91, 0.05, 0.04], [0.4, 0.3, 0.3],
                 [0.01, 0.04, 0.95]]), tau)
  np.testing.assert_array_equal(latest, [0, 1, 2, 0, 2, -1])
  # sigma = (2, 1, 2), 1 unused: beta = (1, 1/2, 1), M(1/2) = 1/3.
  np.testing.assert_allclose(losses.flexmatch_thresholds(losses.learning_effect(latest, 3), 6,
                                                         tau), [tau, tau / 3, tau], rtol=1e-6)


def test_training_lowers_the_loss_and_the_state_resumes(shrink, tmp_path):
  config = shrink(flexmatch_config.get_config("digits"))
  config.unlabeled_ratio = 2
  config.method.threshold = 0.5  # so that a few steps already give confident predictions
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=8)
  assert history[-1]["loss"] < history[0]["loss"]
  assert (state.extra["latest_labels"] >= 0).any()
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = flexmatch_config.get_config(arg)
  assert config.method.threshold == 0.95 and config.method.mapping == "convex"
  build_method(config)
