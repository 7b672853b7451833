"""Mean Teacher: the loss, the teacher is the EMA of the student, batch stats, presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import mean_teacher as mt_config
from jaxssl import train
from jaxssl.methods import mean_teacher
from tests.methods.helpers import (assert_every_step_moves_the_parameters, build_method,
                                   ema_closed_form, parameter_history)

@pytest.fixture
def config(shrink):
  """The digits config with a tiny model and batch."""
  config = shrink(mt_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 1
  config.method.rampup_steps = 2
  config.method.teacher_decay_rampup = 0.5
  config.method.teacher_decay = 0.9
  return config


def init_extra(params, config):
  return build_method(config).init_extra(params, num_unlabeled=1)


def test_teacher_is_a_constant_target_and_student_batch_stats_are_kept(digits_inputs, config):
  params, batch, apply_fn = digits_inputs(config)
  teacher = jax.tree.map(lambda p: p + 1.0, params)
  extra = init_extra(teacher, config)
  calls = []

  def tagging_apply_fn(params, x, is_training, rng):
    # Tags the returned batch statistics with the parameters the pass used.
    calls.append((x.shape[0], is_training))
    logits, _ = apply_fn(params, x, is_training, rng)
    return logits, {"first_param": jax.tree.leaves(params)[0]}

  loss_fn = build_method(config).loss_fn

  def loss(params):
    return loss_fn(params, extra, batch, jax.random.key(0), 5, tagging_apply_fn)

  (_, aux), grad_of_student = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
  images = config.batch_size * (1 + config.unlabeled_ratio)
  assert calls == [(images, True), (images, True)]
  np.testing.assert_array_equal(aux["batch_stats"]["first_param"], jax.tree.leaves(params)[0])
  assert sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grad_of_student)) > 0

  def loss_of_teacher(teacher_params):
    teacher_extra = {"teacher": extra["teacher"]._replace(ema=teacher_params)}
    return loss_fn(params, teacher_extra, batch, jax.random.key(0), 5, tagging_apply_fn)[0]

  grad_of_teacher = jax.jit(jax.grad(loss_of_teacher))(extra["teacher"].ema)
  assert all(float(jnp.abs(g).sum()) == 0 for g in jax.tree.leaves(grad_of_teacher))


def test_teacher_is_the_ema_of_the_student_history(config):
  exp = train.build(config)
  state, history = parameter_history(exp, jax.random.key(0), 4)
  # alpha_t, the decay of update t: steps 0, 1 ramp up; 2, 3 after.
  alphas = np.array([0.5, 0.5, 0.9, 0.9])
  expected, _ = ema_closed_form(history, alphas)
  teacher = exp.method.eval_params(state.params, state.extra)
  for got, want in zip(jax.tree.leaves(teacher), jax.tree.leaves(expected)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(mean_teacher.teacher_decay(jnp.arange(4), config.method), alphas,
                             rtol=1e-6)


def test_a_few_training_steps_on_digits_ramp_the_consistency_weight_up(config,
                                                                       train_a_few_steps):
  logged = train_a_few_steps(config)
  # w(t) = w_max exp(-5 (1 - t / T)^2) for t < T (here 2), then w_max (Laine & Aila's ramp-up).
  ramp = np.exp(-5.0 * (1.0 - np.minimum(np.arange(4) / config.method.rampup_steps, 1.0)) ** 2)
  np.testing.assert_allclose([m["unsupervised_weight"] for m in logged],
                             config.method.max_weight * ramp, rtol=1e-5)
  for metrics in logged:
    assert metrics["unsupervised_loss"] > 0  # the teacher's and the student's noise differ
    np.testing.assert_allclose(
        metrics["loss"],
        metrics["supervised_loss"] + metrics["unsupervised_weight"] * metrics["unsupervised_loss"],
        rtol=1e-6)
    assert 0.0 <= metrics["pseudo_label_accuracy"] <= 1.0
  assert_every_step_moves_the_parameters(logged)


def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = mt_config.get_config(preset_arg)
  assert 0 < config.method.teacher_decay_rampup <= config.method.teacher_decay < 1
  state = lowered_step_on_preset(config, preset_arg)
  assert jax.tree.structure(state.extra["teacher"].ema) == jax.tree.structure(state.params)
