"""UDA: sharpened masked consistency and TSA by hand, the schedules over steps, training, resume."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import uda as uda_config
from jaxssl import losses
from jaxssl.methods import uda
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_sharpened_consistency_by_hand():
  # Weak predictions (0.9, 0.1) and (0.6, 0.4); strong logits 0, i.e. (1/2, 1/2).
  weak = jnp.log(jnp.array([[0.9, 0.1], [0.6, 0.4]]))
  strong = jnp.zeros((2, 2))
  # Only the first passes beta = 0.8; T = 0.5 squares it: (0.81, 0.01) / 0.82. H(q, 1/2) = log 2.
  np.testing.assert_allclose(losses.uda_unlabeled_loss(weak, strong, 0.5, 0.8),
                             [math.log(2.0), 0.0], rtol=1e-6)
  # Against strong logits (0, log 3), i.e. (1/4, 3/4): H = -(81 log(1/4) + log(3/4)) / 82.
  strong = jnp.array([[0.0, math.log(3.0)]] * 2)
  expected = -(81 * math.log(0.25) + math.log(0.75)) / 82
  np.testing.assert_allclose(losses.uda_unlabeled_loss(weak, strong, 0.5, 0.8), [expected, 0.0],
                             rtol=1e-6)
  # The target carries no gradient: d/d weak = 0.
  grad = jax.grad(lambda w: losses.uda_unlabeled_loss(w, strong, 0.5, 0.8).sum())(weak)
  np.testing.assert_array_equal(grad, 0.0)


def test_training_signal_annealing_by_hand():
  logits = jnp.log(jnp.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]]))
  labels = jnp.array([0, 0, 1])
  # Correct-class probabilities 0.7, 0.2, 0.5: at eta = 0.6 the first is dropped.
  np.testing.assert_array_equal(losses.tsa_mask(logits, labels, 0.6), [0.0, 1.0, 1.0])
  loss, kept = uda.annealed_cross_entropy(logits, labels, 0.6)
  np.testing.assert_allclose([loss, kept], [(-math.log(0.2) - math.log(0.5)) / 2, 2 / 3],
                             rtol=1e-6)
  # Nothing kept: the loss is 0 (Z = max(1, 0)), not 0/0.
  loss, kept = uda.annealed_cross_entropy(logits, labels, 0.1)
  assert float(loss) == 0.0 and float(kept) == 0.0
  # eta = 1 ("none") keeps every example: the plain mean cross-entropy.
  loss, _ = uda.annealed_cross_entropy(logits, labels, losses.tsa_threshold(5, 10, 2, "none"))
  np.testing.assert_allclose(loss, -(math.log(0.7) + math.log(0.2) + math.log(0.5)) / 3,
                             rtol=1e-6)


@pytest.mark.parametrize("schedule, alpha", [
    ("linear", lambda r: r),
    ("log", lambda r: 1 - math.exp(-5 * r)),
    ("exp", lambda r: math.exp(5 * (r - 1))),
])
def test_tsa_schedules_over_steps(schedule, alpha):
  # K = 4 classes, T = 8 steps: eta_t = alpha(t/T) * 3/4 + 1/4, rising from about 1/4
  # toward 1 (log ends at 1 - 3/4 exp(-5), exp starts at 1/4 + 3/4 exp(-5)), then flat.
  thresholds = [float(losses.tsa_threshold(t, 8, 4, schedule)) for t in range(0, 11)]
  expected = [alpha(min(t / 8, 1.0)) * 0.75 + 0.25 for t in range(0, 11)]
  np.testing.assert_allclose(thresholds, expected, rtol=1e-6)
  assert np.all(np.diff(thresholds[:9]) > 0) and thresholds[8:] == [thresholds[8]] * 3


def test_training_lowers_the_loss_and_resumes(shrink, tmp_path):
  config = shrink(uda_config.get_config("digits"))
  config.unlabeled_ratio = 2
  config.method.update(threshold=0.2, tsa="linear", tsa_steps=6)
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=6)
  assert history[-1]["loss"] < history[0]["loss"]
  # eta_t = (t / 6) (1 - 1/10) + 1/10 at the step t of each row.
  np.testing.assert_allclose([m["tsa_threshold"] for m in history],
                             [t / 6 * 0.9 + 0.1 for t in range(6)], rtol=1e-6)
  assert any(m["mask_rate"] > 0 for m in history)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = uda_config.get_config(arg)
  assert config.method.temperature == 0.4 and config.method.threshold == 0.8
  assert config.method.tsa == "none" and config.method.tsa_steps == config.total_steps
  build_method(config)
