"""Helpers the tests import (fixtures live in conftest.py)."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import models, train
from jaxssl.checkpointing import Checkpointer
from jaxssl.methods import make_method


def build_method(config):
  """`config.method`'s Method for 8x8 grey digits."""
  return make_method(config.method, num_classes=config.data.num_classes,
                     image_shape=(8, 8, 1), flip=config.data.flip)


def run_steps(exp, state, step_fn, num_steps):
  """`num_steps` dispatches of a compiled step (`train.make_step`); returns (state, metrics)."""
  metrics = None
  for _ in range(num_steps):
    shared, per_step = exp.source.next_inputs(exp.config.steps_per_dispatch)
    state, metrics = step_fn(state, shared, per_step, exp.inputs.frozen)
  return state, metrics


def assert_every_step_moves_the_parameters(logged):
  """The parameter norms logged at the steps of a run (`train_a_few_steps`) all differ."""
  assert len({metrics["param_norm"] for metrics in logged}) == len(logged)


def parameter_history(exp, key, num_steps):
  """The state after `num_steps` single steps and the parameters theta_0 .. theta_k on the way."""
  init_key, step_key = jax.random.split(key)
  state = train.init_state(exp, init_key)
  step_fn = train.make_step(exp, step_key)
  history = [jax.device_get(state.params)]
  for _ in range(num_steps):
    state, _ = run_steps(exp, state, step_fn, 1)
    history.append(jax.device_get(state.params))
  return state, history


def ema_closed_form(history, alphas):
  """theta'_k = prod_t a_t theta_0 + sum_t (1 - a_t) prod_{j > t} a_j theta_{t+1}.

  The EMA of `history` = [theta_0, ..., theta_k] started at theta_0, update t
  having decay alphas[t]. Returns (the average's pytree, its coefficients).
  """
  coefficients = [np.prod(alphas)] + [(1 - a) * np.prod(alphas[t + 1:])
                                      for t, a in enumerate(alphas)]
  assert np.isclose(sum(coefficients), 1.0)
  average = jax.tree.map(lambda *thetas: sum(c * t for c, t in zip(coefficients, thetas)),
                         *history)
  return average, coefficients


def train_and_resume(config, workdir, num_steps):
  """`num_steps` single steps on one device, then the last one again from a checkpoint.

  The state before the last step is saved and restored (`Checkpointer`);
  the last step runs from the state in memory and from the restored one.
  Returns (the metrics of every step, the final state, the resumed final state).
  """
  config.num_devices = 1
  exp = train.build(config)
  state = train.init_state(exp, jax.random.key(0))
  step_fn = train.make_step(exp, jax.random.key(1))
  history = []
  for _ in range(num_steps - 1):
    state, metrics = run_steps(exp, state, step_fn, 1)
    history.append(jax.device_get(metrics))
  checkpointer = Checkpointer(str(workdir), 1)
  checkpointer.save(int(state.step), state)
  checkpointer.close()
  # Zeros as the template (its structure and shardings), so nothing comes from memory.
  restored = Checkpointer(str(workdir), 1).restore(jax.tree.map(jnp.zeros_like, state))
  resumed, _ = run_steps(exp, restored, step_fn, 1)
  state, metrics = run_steps(exp, state, step_fn, 1)  # donates `state`: after the save
  history.append(jax.device_get(metrics))
  return history, jax.device_get(state), jax.device_get(resumed)


def assert_same_state(state, resumed):
  """Parameters and method state of two train states are equal."""
  assert int(state.step) == int(resumed.step)
  jax.tree.map(np.testing.assert_array_equal, state.extra, resumed.extra)
  jax.tree.map(np.testing.assert_array_equal, state.params, resumed.params)


def abstract_digits_inputs(config):
  """(params, batch, apply_fn) of `config`'s model on 8x8 digits for `jax.eval_shape` only.

  The parameters are shapes (`jax.ShapeDtypeStruct`), so nothing is compiled:
  a quick check of a loss's passes and outputs. `apply_fn(params, x, train, rng)`
  has batch statistics of zeros closed over.
  """
  model, apply = models.build_model(config, config.data.num_classes, [0.5], [0.25])
  variables = jax.eval_shape(lambda: models.init_variables(model, jax.random.key(0), (8, 8, 1)))
  batch_stats = jax.tree.map(lambda leaf: np.zeros(leaf.shape, leaf.dtype),
                             variables["batch_stats"])
  unlabeled = config.unlabeled_ratio * config.batch_size
  batch = {"image": jnp.zeros((config.batch_size, 8, 8, 1), jnp.uint8),
           "label": jnp.zeros(config.batch_size, jnp.int32),
           "unlabeled_image": jnp.zeros((unlabeled, 8, 8, 1), jnp.uint8),
           "unlabeled_index": jnp.zeros(unlabeled, jnp.int32),
           "unlabeled_label": jnp.zeros(unlabeled, jnp.int32)}

  def apply_fn(params, x, is_training, rng):
    return apply(params, batch_stats, x, is_training, rng)
  return variables["params"], batch, apply_fn


def trace_loss(config):
  """Traces `config`'s method loss on abstract digits inputs (`jax.eval_shape`): output shapes."""
  method = build_method(config)
  params, batch, apply_fn = abstract_digits_inputs(config)
  extra = method.init_extra(params, num_unlabeled=1)
  return jax.eval_shape(lambda p: method.loss_fn(p, extra, batch, jax.random.key(0), 0, apply_fn),
                        params)
