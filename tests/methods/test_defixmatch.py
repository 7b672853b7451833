"""DeFixMatch: the debiased loss by hand, the method's loss on made-up logits, training, resume."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import defixmatch as defixmatch_config
from jaxssl import losses
from jaxssl.methods import defixmatch, options
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


def test_debiased_loss_by_hand():
  # Unlabeled: (0.96, 0.04) passes tau = 0.95 with strong view (1/2, 1/2), (1/2, 1/2) does not.
  unlabeled_weak = jnp.log(jnp.array([[0.96, 0.04], [0.5, 0.5]]))
  unlabeled_strong = jnp.zeros((2, 2))
  # Labeled: (0.97, 0.03) passes, its strong view (1/4, 3/4) pays log 4.
  labeled_weak = jnp.log(jnp.array([[0.97, 0.03]]))
  labeled_strong = jnp.array([[0.0, math.log(3.0)]])
  value = losses.debiased_pseudo_label_loss(unlabeled_weak, unlabeled_strong, labeled_weak,
                                            labeled_strong, 0.95)
  np.testing.assert_allclose(value, math.log(2.0) / 2 - math.log(4.0), rtol=1e-6)
  # The same images on both sides: the terms cancel, and so do their gradients.
  grad = jax.grad(lambda s: losses.debiased_pseudo_label_loss(unlabeled_weak, s, unlabeled_weak,
                                                              s, 0.95))(unlabeled_strong)
  assert float(losses.debiased_pseudo_label_loss(unlabeled_weak, unlabeled_strong, unlabeled_weak,
                                                 unlabeled_strong, 0.95)) == 0.0
  np.testing.assert_array_equal(grad, 0.0)


def log_softmax(z):
  return z - np.log(np.exp(z).sum(-1, keepdims=True))


def pseudo_label_term(weak, strong, tau):
  """(1/N) sum_n 1(max q_n >= tau) H(argmax q_n, softmax(strong_n)), in numpy."""
  probs = np.exp(log_softmax(weak))
  confident = probs.max(-1) >= tau
  return (confident * -log_softmax(strong)[np.arange(len(probs)), probs.argmax(-1)]).mean()


def test_objective_on_made_up_logits():
  """L of the four views' logits against the formula, over a few draws."""
  method_config = defixmatch_config.get_config("digits").method
  method_config.threshold = 0.6
  opts = options.read(method_config, defixmatch.OPTIONS)
  b, mu_b, labels = 2, 4, np.array([1, 4])
  batch = {"label": jnp.asarray(labels), "unlabeled_label": jnp.full((mu_b,), -1)}
  for seed in range(3):
    logits = 3.0 * jax.random.normal(jax.random.key(seed), (2 * b + 2 * mu_b, 10))
    views = jnp.split(logits, [b, b + mu_b, b + 2 * mu_b])
    loss, metrics = defixmatch.objective(*views, batch, opts)
    labeled, weak, strong, labeled_strong = (np.asarray(v, np.float64) for v in views)
    supervised = -0.5 * (log_softmax(labeled)[[0, 1], labels].mean()
                         + log_softmax(labeled_strong)[[0, 1], labels].mean())
    debiased = (pseudo_label_term(weak, strong, 0.6)
                - pseudo_label_term(labeled, labeled_strong, 0.6))
    np.testing.assert_allclose(loss, supervised + 0.5 * debiased, rtol=1e-5)
    np.testing.assert_allclose(metrics["unsupervised_loss"], debiased, rtol=1e-5, atol=1e-6)
    assert metrics["labeled_mask_rate"] == (np.exp(log_softmax(labeled)).max(-1) >= 0.6).mean()


def test_training_lowers_the_loss_and_resumes(shrink, tmp_path):
  config = shrink(defixmatch_config.get_config("digits"))
  config.unlabeled_ratio = 2
  config.method.threshold = 0.0  # every pseudo-label counts: both terms of the difference act
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=6)
  assert history[-1]["loss"] < history[0]["loss"]
  assert all(m["mask_rate"] == 1.0 and m["labeled_mask_rate"] == 1.0 for m in history)
  assert all(m["unsupervised_loss"] != 0.0 for m in history)
  assert_same_state(state, resumed)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = defixmatch_config.get_config(arg)
  assert config.method.threshold == 0.95 and config.method.unlabeled_weight == 0.5
  build_method(config)
