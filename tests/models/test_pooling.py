"""max_pool_2x2 against flax's nn.max_pool: the same values and the same gradient."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl.models.pooling import max_pool_2x2


def flax_max_pool(x):
  return nn.max_pool(x, (2, 2), strides=(2, 2))


@pytest.mark.parametrize("shape", [(3, 8, 8, 4), (2, 7, 5, 3)])
def test_values_and_gradient_equal_flax_max_pool(shape):
  # After a ReLU a quarter of the windows of this size hold ties at zero.
  x = jax.nn.relu(jax.random.normal(jax.random.PRNGKey(0), shape))
  x = x.at[0, 2:4, 2:4, 0].set(1.5)  # a tie at a positive value
  expected, expected_vjp = jax.vjp(flax_max_pool, x)
  got, got_vjp = jax.jit(lambda x: jax.vjp(max_pool_2x2, x))(x)
  np.testing.assert_array_equal(got, expected)
  g = jax.random.normal(jax.random.PRNGKey(1), expected.shape)
  np.testing.assert_array_equal(got_vjp(g)[0], expected_vjp(g)[0])


def test_tied_window_sends_its_gradient_to_the_first_position_only():
  x = jnp.array([[[1.0, 1.0], [0.5, 1.0]]])[..., None]  # one 2x2 window, max tied three ways
  _, vjp = jax.vjp(max_pool_2x2, x)
  (grad,) = vjp(jnp.full((1, 1, 1, 1), 2.0))
  np.testing.assert_array_equal(grad[0, :, :, 0], [[2.0, 0.0], [0.0, 0.0]])


def test_bfloat16_keeps_the_dtype():
  x = jnp.arange(32, dtype=jnp.bfloat16).reshape(1, 4, 4, 2)
  y = max_pool_2x2(x)
  assert y.dtype == jnp.bfloat16
  np.testing.assert_array_equal(y[0, :, :, 0], [[10.0, 14.0], [26.0, 30.0]])


def test_forward_mode_matches_flax_max_pool():
  # VAT's Hessian-vector product differentiates forward over reverse.
  x = jax.nn.relu(jax.random.normal(jax.random.PRNGKey(2), (2, 6, 6, 3)))
  t = jax.random.normal(jax.random.PRNGKey(3), x.shape)
  np.testing.assert_array_equal(jax.jvp(max_pool_2x2, (x,), (t,))[1],
                                jax.jvp(flax_max_pool, (x,), (t,))[1])
  loss = lambda f: lambda x: jnp.sum(f(x) ** 3)
  hvp = lambda f: jax.jvp(jax.grad(loss(f)), (x,), (t,))[1]
  np.testing.assert_allclose(hvp(max_pool_2x2), hvp(flax_max_pool), rtol=1e-6)
