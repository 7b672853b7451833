"""SimMatch: the bank's gate on the unlabeled terms, the projection head, training, resume."""

from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest

from configs import simmatch as simmatch_config
from jaxssl.errors import ConfigError
from jaxssl.methods import memory_bank, simmatch
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import (assert_same_state, build_method, trace_loss,
                                   train_and_resume)


def test_unlabeled_terms_calibrate_only_with_a_full_bank():
  method_opts = SimpleNamespace(temperature=1.0, smoothing_alpha=0.5, threshold=0.65)
  bank = memory_bank.push(memory_bank.init(2, 2), jnp.eye(2), jnp.array([0, 1]))
  weak_probs = jnp.array([[0.6, 0.4]])
  args = (weak_probs, jnp.array([[1.0, 0.0]]), jnp.zeros((1, 2)), jnp.array([[0.0, 1.0]]), bank)
  # Empty bank: FixMatch's soft loss on p^w, below the threshold: masked; no l_in.
  unsupervised, in_loss, pseudo, mask = simmatch.unlabeled_terms(*args, False, method_opts)
  np.testing.assert_allclose(pseudo, weak_probs)
  assert float(mask[0]) == 0.0 and float(unsupervised) == 0.0 and float(in_loss) == 0.0
  # Full bank: q = softmax((1, 0)) = (e, 1) / (e + 1); p^ = 0.5 p^w + 0.5 q, confident enough.
  unsupervised, in_loss, pseudo, mask = simmatch.unlabeled_terms(*args, True, method_opts)
  q = np.array([np.e, 1.0]) / (np.e + 1.0)
  np.testing.assert_allclose(pseudo[0], 0.5 * np.array([0.6, 0.4]) + 0.5 * q, rtol=1e-6)
  assert float(mask[0]) == 1.0
  np.testing.assert_allclose(unsupervised, np.log(2.0), rtol=1e-6)  # uniform strong prediction
  # q^ = (0.6 q_0, 0.4 q_1) normalized; the strong view's similarities softmax((0, 1)).
  target = np.array([0.6 * q[0], 0.4 * q[1]]) / (0.6 * q[0] + 0.4 * q[1])
  np.testing.assert_allclose(in_loss, -(target * np.log(q[::-1])).sum(), rtol=1e-5)


@pytest.fixture
def tiny_config(shrink):
  config = shrink(simmatch_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 1
  config.method.bank_size = 10  # full after two labeled batches of 8
  config.method.embedding_size = config.model.kwargs.extra_logits = 8
  config.method.threshold = 0.5  # so that a few steps already give confident pseudo-labels
  return config


def test_the_projection_head_must_match(tiny_config):
  config = tiny_config
  config.model.kwargs.extra_logits = 4
  with pytest.raises(ConfigError, match="extra_logits=8"):
    trace_loss(config)


def test_training_fills_the_bank_and_the_state_resumes(tiny_config, tmp_path):
  history, state, resumed = train_and_resume(tiny_config, tmp_path, num_steps=3)
  assert history[0]["in_loss"] == 0.0 and history[-1]["in_loss"] > 0.0
  assert np.all(np.isfinite([h["loss"] for h in history]))
  bank = state.extra["bank"]
  assert int(bank["filled"]) == 10 and int(bank["pointer"]) == (3 * 8) % 10
  np.testing.assert_allclose(np.linalg.norm(bank["embeddings"], axis=-1), 1.0, rtol=1e-5)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = simmatch_config.get_config(arg)
  assert config.method.temperature == 0.1 and config.method.smoothing_alpha == 0.9
  assert config.method.bank_size == config.data.num_labeled
  assert config.model.kwargs.extra_logits == config.method.embedding_size
  build_method(config)
