"""Ramp-up weights against the closed forms."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import losses


def test_sigmoid_rampup_values():
  steps = jnp.array([0, 50, 100, 200])
  np.testing.assert_allclose(jax.jit(losses.sigmoid_rampup)(steps, 100),
                             [math.exp(-5.0), math.exp(-1.25), 1.0, 1.0], rtol=1e-6)


def test_linear_rampup_values():
  steps = jnp.array([0, 25, 100, 150])
  np.testing.assert_allclose(jax.jit(losses.linear_rampup)(steps, 100), [0.0, 0.25, 1.0, 1.0])


def test_zero_rampup_means_full_weight():
  for ramp in (losses.sigmoid_rampup, losses.linear_rampup):
    np.testing.assert_array_equal(jax.jit(ramp)(jnp.array([0, 7]), 0), [1.0, 1.0])
