"""CoMatch: memory smoothing and the graphs in the unlabeled terms, training, resume."""

import math
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest

from configs import comatch as comatch_config
from jaxssl.methods import comatch, memory_bank
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_unlabeled_terms_smooth_only_with_a_full_bank():
  # t = 1 / ln 3 turns similarities (1, 0) into weights (3/4, 1/4).
  opts = SimpleNamespace(temperature=1 / math.log(3.0), smoothing_alpha=0.5, threshold=0.6,
                         graph_threshold=0.5)
  bank = memory_bank.push(memory_bank.init(2, 2, (2,), jnp.float32), jnp.eye(2), jnp.eye(2))
  probs = jnp.full((2, 2), 0.5)
  args = (probs, jnp.array([[1.0, 0.0], [1.0, 0.0]]), jnp.zeros((2, 2)), jnp.eye(2), jnp.eye(2),
          bank)
  log_w = np.log([0.75, 0.25])  # log W^z rows: (3/4, 1/4) and (1/4, 3/4)
  # Empty bank: q = p = (1/2, 1/2), below tau; q_b . q_b' = 1/2 >= tau_c links the pair:
  # W^q rows (1, 1/2) / (3/2).
  unsupervised, contrastive, pseudo, mask = comatch.unlabeled_terms(*args, False, opts)
  np.testing.assert_allclose(pseudo, probs)
  assert float(unsupervised) == 0.0 and not mask.any()
  np.testing.assert_allclose(contrastive, -(2 * log_w[0] + log_w[1]) / 3, rtol=1e-6)
  # Full bank: q = (1/2)(1/2, 1/2) + (1/2)(3/4, 1/4) = (5/8, 3/8), confident; the strong
  # prediction is uniform; q_b . q_b' = 17/32, so W^q rows (1, 17/32) / (49/32).
  unsupervised, contrastive, pseudo, mask = comatch.unlabeled_terms(*args, True, opts)
  np.testing.assert_allclose(pseudo, [[0.625, 0.375]] * 2, rtol=1e-6)
  assert mask.all()
  np.testing.assert_allclose(unsupervised, math.log(2.0), rtol=1e-6)
  np.testing.assert_allclose(contrastive, -(32 * log_w[0] + 17 * log_w[1]) / 49, rtol=1e-6)


def test_training_fills_the_bank_and_the_state_resumes(shrink, tmp_path):
  config = shrink(comatch_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 1
  config.method.bank_size = 24  # full after two steps of 8 + 8 views
  config.method.embedding_size = config.model.kwargs.extra_logits = 8
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=3)
  assert np.all(np.isfinite([h["loss"] for h in history]))
  assert all(h["contrastive_loss"] > 0.0 for h in history)
  bank = state.extra["bank"]
  assert int(bank["filled"]) == 24 and int(bank["pointer"]) == (3 * 16) % 24
  np.testing.assert_allclose(bank["targets"].sum(-1), 1.0, rtol=1e-5)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = comatch_config.get_config(arg)
  assert config.method.temperature == 0.2 and config.method.graph_threshold == 0.8
  assert config.method.bank_size == 5 * (config.unlabeled_ratio + 1) * config.batch_size
  assert config.model.kwargs.extra_logits == config.method.embedding_size
  build_method(config)
