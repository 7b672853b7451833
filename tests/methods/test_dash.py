"""Dash: the dynamic threshold by hand and over steps, the warm-up's rho^, training, resume."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from configs import dash as dash_config
from jaxssl import losses
from jaxssl.methods import dash, options
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_threshold_and_selection_by_hand():
  np.testing.assert_allclose(losses.dash_threshold(0, 0.5), 1.0001 * 0.5, rtol=1e-6)
  np.testing.assert_allclose(losses.dash_threshold(2, 0.5), 1.0001 * 0.5 / 1.27**2, rtol=1e-6)
  np.testing.assert_allclose(losses.dash_threshold(2, 0.5, minimum=0.4), 0.4)
  # -log 0.9 = 0.105 is kept at rho = 0.3, -log 0.6 = 0.511 is not.
  probs = jnp.array([[0.9, 0.1], [0.4, 0.6]])
  np.testing.assert_array_equal(losses.loss_threshold_mask(probs, 0.3), [1.0, 0.0])
  np.testing.assert_array_equal(losses.loss_threshold_mask(probs, -math.log(0.6)), [1.0, 1.0])


def test_threshold_over_steps_of_made_up_losses():
  config = dash_config.get_config("digits").method
  config.update(min_threshold=0.45, decay_every=3, warmup_steps=2)
  opts = options.read(config, dash.OPTIONS)
  supervised = [2.3, 1.5, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1]
  rho_hat, thresholds = jnp.float32(0.0), []
  for step, loss in enumerate(supervised):
    rho_hat, rho = dash.schedule(step, jnp.float32(loss), rho_hat, opts)
    thresholds.append(float(rho))
  # rho^ = the supervised loss at step T_0 = 2, then rho_t = max(C gamma^-(t-1) rho^, 0.45),
  # t - 1 = (step - 2) // 3.
  assert float(rho_hat) == pytest.approx(0.8)
  expected = [max(1.0001 * 0.8 * 1.27**-((step - 2) // 3), 0.45) for step in range(2, 12)]
  np.testing.assert_allclose(thresholds[2:], expected, rtol=1e-6)
  np.testing.assert_allclose(thresholds[2:8], [0.80008] * 3 + [0.80008 / 1.27] * 3, rtol=1e-6)
  assert thresholds[-1] == pytest.approx(0.45)


def test_training_lowers_the_loss_and_the_state_resumes(shrink, tmp_path):
  config = shrink(dash_config.get_config("digits"))
  config.unlabeled_ratio = 2
  config.method.update(warmup_steps=3, decay_every=2)
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=8)
  # Steps 0-2 are the supervised warm-up; the unlabeled loss joins at step 3.
  assert all(m["mask_rate"] == 0.0 and m["unsupervised_loss"] == 0.0 for m in history[:3])
  assert history[2]["loss"] < history[0]["loss"]
  assert history[-1]["loss"] < history[3]["loss"]
  # rho^ is step 3's supervised loss, and the threshold starts at C rho^.
  np.testing.assert_allclose(state.extra["rho_hat"], history[3]["supervised_loss"], rtol=1e-5)
  np.testing.assert_allclose(history[3]["loss_threshold"], 1.0001 * state.extra["rho_hat"],
                             rtol=1e-5)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = dash_config.get_config(arg)
  assert config.method.threshold_scale == 1.0001 and config.method.threshold_decay == 1.27
  build_method(config)
