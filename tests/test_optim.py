"""Schedules and optimizers against hand-computed values."""

import math

import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxssl import optim
from jaxssl.errors import ConfigError


def optimizer_config(**overrides):
  fields = dict(name="sgd", learning_rate=0.03, momentum=0.9, nesterov=True,
                weight_decay=5e-4, schedule="fixmatch_cosine", warmup_steps=0,
                b1=0.9, b2=0.999, grad_clip_norm=0.0, schedule_steps=0)
  fields.update(overrides)
  return ml_collections.ConfigDict(fields)


def test_fixmatch_cosine_hand_values():
  schedule = optim.fixmatch_cosine(0.03, total_steps=1000)
  assert float(schedule(0)) == pytest.approx(0.03)
  assert float(schedule(500)) == pytest.approx(0.03 * math.cos(7 * math.pi / 32))
  assert float(schedule(1000)) == pytest.approx(0.03 * math.cos(7 * math.pi / 16))


def test_schedule_steps_trains_the_start_of_a_longer_schedule():
  """20 steps of a 1,000-step cosine: the rate at step k is the long schedule's."""
  schedule = optim.make_schedule(optimizer_config(schedule_steps=1000), total_steps=20)
  assert float(schedule(20)) == pytest.approx(0.03 * math.cos(7 * math.pi * 20 / 16000))
  with pytest.raises(ConfigError, match="schedule_steps"):
    optim.make_schedule(optimizer_config(schedule_steps=-1), total_steps=20)


def test_warmup_cosine_peaks_after_warmup():
  schedule = optim.make_schedule(
      optimizer_config(schedule="warmup_cosine", warmup_steps=10, learning_rate=1e-3), 100)
  assert float(schedule(0)) == 0.0
  assert float(schedule(10)) == pytest.approx(1e-3)
  assert float(schedule(100)) == pytest.approx(0.0, abs=1e-9)


def test_weight_decay_only_on_kernels():
  params = {"conv": {"kernel": jnp.ones((3, 3, 1, 2)), "bias": jnp.ones((2,))},
            "pos_embedding": jnp.ones((1, 4, 2))}
  mask = optim.decay_mask(params)
  assert mask == {"conv": {"kernel": True, "bias": False}, "pos_embedding": False}


def test_sgd_step_adds_l2_gradient():
  tx = optim.make_optimizer(optimizer_config(momentum=0.0, nesterov=False,
                                             schedule="constant", learning_rate=0.1), 10)
  params = {"w": jnp.full((2, 2), 2.0), "b": jnp.full((2,), 2.0)}
  grads = {"w": jnp.ones((2, 2)), "b": jnp.ones((2,))}
  updates, _ = tx.update(grads, tx.init(params), params)
  new = optax.apply_updates(params, updates)
  np.testing.assert_allclose(new["w"], 2.0 - 0.1 * (1.0 + 5e-4 * 2.0), rtol=1e-6)
  np.testing.assert_allclose(new["b"], 2.0 - 0.1, rtol=1e-6)


@pytest.mark.parametrize("overrides, message", [
    ({"name": "lion"}, "optimizer.name"),
    ({"schedule": "step"}, "optimizer.schedule"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"weight_decay": -1.0}, "weight_decay"),
    ({"schedule_steps": -5}, "schedule_steps"),
])
def test_bad_optimizer_config(overrides, message):
  with pytest.raises(ConfigError, match=message):
    optim.make_optimizer(optimizer_config(**overrides), 10)
