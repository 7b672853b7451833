"""ShrinkMatch: unlabeled terms by hand, the running share of certain images, training, resume."""

import math
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest

from configs import shrinkmatch as shrinkmatch_config
from jaxssl.errors import ConfigError
from jaxssl.methods import shrinkmatch
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import (assert_same_state, build_method, trace_loss,
                                   train_and_resume)


@pytest.mark.parametrize("hard", [False, True])
def test_unlabeled_terms_two_classes(hard):
  opts = SimpleNamespace(threshold=0.95, hard_pseudo_labels=hard)
  probs = jnp.array([[0.96, 0.04], [0.7, 0.3]])
  unsupervised, shrunk, mask = shrinkmatch.unlabeled_terms(probs, jnp.zeros((2, 2)),
                                                           jnp.zeros((2, 2)), opts)
  np.testing.assert_array_equal(mask, [1.0, 0.0])
  # The certain image against a uniform strong prediction: H(q, 1/2) = log 2 for any target
  # q; the mean runs over both images.
  np.testing.assert_allclose(unsupervised, math.log(2.0) / 2, rtol=1e-6)
  # Two classes leave nothing to remove: no shrunk loss.
  np.testing.assert_array_equal(shrunk, [0.0, 0.0])


def test_soft_and_hard_targets_differ_on_a_confident_strong_prediction():
  probs = jnp.array([[0.96, 0.04, 0.0]])
  strong = jnp.array([[0.0, math.log(3.0), 0.0]])  # softmax (1/5, 3/5, 1/5)
  args = (probs, strong, jnp.zeros((1, 3)))
  soft, _, _ = shrinkmatch.unlabeled_terms(*args, SimpleNamespace(threshold=0.95,
                                                                  hard_pseudo_labels=False))
  hard, _, _ = shrinkmatch.unlabeled_terms(*args, SimpleNamespace(threshold=0.95,
                                                                  hard_pseudo_labels=True))
  np.testing.assert_allclose(hard, math.log(5.0), rtol=1e-6)
  np.testing.assert_allclose(soft, 0.96 * math.log(5.0) + 0.04 * math.log(5.0 / 3.0), rtol=1e-6)


def test_running_certain_ratio_starts_at_the_first_batch():
  mask = jnp.array([1.0, 0.0, 0.0, 0.0])
  first = shrinkmatch.running_certain_ratio(jnp.array(-1.0), mask, 0.9)
  np.testing.assert_allclose(first, 0.25)
  np.testing.assert_allclose(shrinkmatch.running_certain_ratio(first, jnp.ones(4), 0.9),
                             0.9 * 0.25 + 0.1)


@pytest.fixture
def tiny_config(shrink):
  config = shrink(shrinkmatch_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 1
  config.method.threshold = 0.5  # so that a few steps already give certain and uncertain images
  return config


def test_the_auxiliary_head_must_be_there(tiny_config):
  config = tiny_config
  config.model.kwargs.extra_logits = 0
  with pytest.raises(ConfigError, match="auxiliary classifier needs config.model.kwargs."
                                        "extra_logits=10"):
    trace_loss(config)


def test_training_keeps_the_certain_ratio_and_the_state_resumes(tiny_config, tmp_path):
  history, state, resumed = train_and_resume(tiny_config, tmp_path, num_steps=3)
  assert np.all(np.isfinite([h["loss"] for h in history]))
  # r_0 is the first batch's mask rate, then an average at momentum 0.999.
  np.testing.assert_allclose(history[0]["certain_ratio"], history[0]["mask_rate"], rtol=1e-6)
  np.testing.assert_allclose(
      history[1]["certain_ratio"], 0.999 * history[0]["certain_ratio"]
      + 0.001 * history[1]["mask_rate"], rtol=1e-5)
  assert float(state.extra["certain_ratio"]) == pytest.approx(history[-1]["certain_ratio"])
  assert all(0.0 <= h["shrunk_rate"] <= 1.0 - h["mask_rate"] for h in history)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = shrinkmatch_config.get_config(arg)
  assert config.method.threshold == 0.95 and config.method.certain_ratio_momentum == 0.999
  assert config.model.kwargs.extra_logits == config.data.num_classes
  build_method(config)
