"""Helpers the method tests import (fixtures live in conftest.py)."""

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
