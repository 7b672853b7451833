"""AdaMatch: logit interpolation, relative threshold, alignment and warm-up by hand and over steps."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import adamatch as adamatch_config
from jaxssl import losses
from jaxssl.methods import adamatch
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_interpolation_threshold_and_warmup_by_hand():
  joint, separate = jnp.zeros((3, 4)), jnp.full((3, 4), 2.0)
  mixed = losses.random_logit_interpolation(jax.random.key(0), joint, separate)
  # 2 (1 - lambda), one lambda in (0, 1) per logit.
  lam = 1.0 - np.asarray(mixed) / 2.0
  assert np.all((lam > 0) & (lam < 1)) and len(np.unique(lam)) == 12
  grads = jax.grad(lambda j, s: losses.random_logit_interpolation(jax.random.key(0), j, s).sum(),
                   argnums=(0, 1))(joint, separate)
  np.testing.assert_allclose(grads[0] + grads[1], 1.0, rtol=1e-6)
  # Confidences 0.9 and 0.7: c_tau = 0.9 * 0.8.
  probs = jnp.array([[0.9, 0.1], [0.3, 0.7]])
  np.testing.assert_allclose(losses.relative_confidence_threshold(probs, 0.9), 0.72, rtol=1e-6)
  # mu(t) = 1/2 - cos(pi t / W) / 2 with W = 4: 0, (1 - 1/sqrt 2) / 2, 1/2, ..., 1 from t = W.
  np.testing.assert_allclose(losses.cosine_rampup(jnp.arange(6), 4),
                             [0.0, (1 - math.sqrt(0.5)) / 2, 0.5, (1 + math.sqrt(0.5)) / 2,
                              1.0, 1.0], atol=1e-6)
  assert float(losses.cosine_rampup(0, 0)) == 1.0


def test_alignment_over_steps_of_made_up_predictions():
  uniform = jnp.array([0.5, 0.5])
  extra = {"labeled_marginal": uniform, "unlabeled_marginal": uniform}
  # Step 1 (m = 0.5): labeled mean (0.6, 0.4), unlabeled mean (0.2, 0.8).
  labeled = jnp.array([[0.8, 0.2], [0.4, 0.6]])
  weak = jnp.array([[0.2, 0.8], [0.2, 0.8]])
  extra, aligned = adamatch.align(extra, labeled, weak, 0.5)
  np.testing.assert_allclose(extra["labeled_marginal"], [0.55, 0.45], rtol=1e-6)
  np.testing.assert_allclose(extra["unlabeled_marginal"], [0.35, 0.65], rtol=1e-6)
  # q' = Normalize(q * (0.55, 0.45) / (0.35, 0.65)): class 0 scaled up.
  ratio = np.array([0.2 * 0.55 / 0.35, 0.8 * 0.45 / 0.65])
  np.testing.assert_allclose(aligned, [ratio / ratio.sum()] * 2, rtol=1e-6)
  # Step 2: labeled mean (0.7, 0.3), unlabeled mean (0.5, 0.5).
  extra, aligned = adamatch.align(extra, jnp.array([[0.7, 0.3]]), jnp.array([[0.5, 0.5]]), 0.5)
  np.testing.assert_allclose(extra["labeled_marginal"], [0.625, 0.375], rtol=1e-6)
  np.testing.assert_allclose(extra["unlabeled_marginal"], [0.425, 0.575], rtol=1e-6)
  ratio = np.array([0.625 / 0.425, 0.375 / 0.575])
  np.testing.assert_allclose(aligned, [ratio / ratio.sum()], rtol=1e-6)


def test_training_lowers_the_loss_and_resumes(shrink, tmp_path):
  config = shrink(adamatch_config.get_config("digits"))
  config.unlabeled_ratio = 2
  config.method.update(warmup_steps=2, alignment_momentum=0.5)
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=5)
  # mu(t) = 0, 1/2, then 1: compare the losses at full weight, and the supervised ones.
  np.testing.assert_allclose([m["unsupervised_weight"] for m in history], [0, 0.5, 1, 1, 1],
                             atol=1e-6)
  assert history[-1]["loss"] < history[2]["loss"]
  assert history[-1]["supervised_loss"] < history[0]["supervised_loss"]
  assert all(0.0 < m["confidence_threshold"] <= 0.9 for m in history)
  for marginal in state.extra.values():
    np.testing.assert_allclose(marginal.sum(), 1.0, rtol=1e-5)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = adamatch_config.get_config(arg)
  assert config.method.threshold == 0.9 and config.method.logit_interpolation
  assert config.method.warmup_steps == config.total_steps // 2
  build_method(config)
