"""2x2 max pooling whose gradient is elementwise instead of a select-and-scatter.

`nn.max_pool`'s gradient is XLA's select-and-scatter, which XLA:CPU lowers to
a variadic reduce-window over the window plus four index arrays (an argmax)
and a scatter: about 15 ms of FixMatch's digits step on 2 CPU cores, ~70 ms
with `jaxssl.compiler`'s options (benchmarks/results/train_step.md). `max_pool_2x2` computes the same values
and the same gradient with strided slices, compares, selects and pads that
XLA fuses, through a JVP rule that JAX transposes.
"""

import functools

import jax
import jax.numpy as jnp

_POSITIONS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _window_positions(x: jax.Array) -> list[jax.Array]:
  """x[:, a::2, b::2] for each window position (a, b) in row-major order (H, W even).

  Strided slices rather than a reshape to (N, H/2, 2, W/2, 2, C): they keep a
  batch sharded over devices without telling JAX the output's sharding.
  """
  return [x[:, a::2, b::2] for a, b in _POSITIONS]


def max_pool_2x2(x: jax.Array) -> jax.Array:
  """y[n, i, j, c] = max over a, b in {0, 1} of x[n, 2i + a, 2j + b, c] (stride 2, no padding).

  Equal to `nn.max_pool(x, (2, 2), strides=(2, 2))`, gradient included: the
  incoming gradient goes to the first maximum of each window in row-major
  order (a, b) = (0, 0), (0, 1), (1, 0), (1, 1), as XLA's select-and-scatter
  with the `>=` selection that JAX uses for max pooling; ties (e.g. a window
  of zeros after a ReLU) send nothing to the later positions. An odd last
  row or column is dropped, as `nn.max_pool`'s "VALID" padding does.
  """
  h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
  return _even_max_pool(x[:, :h, :w])


@jax.custom_jvp
def _even_max_pool(x: jax.Array) -> jax.Array:
  return functools.reduce(jnp.maximum, _window_positions(x))


@_even_max_pool.defjvp
def _even_max_pool_jvp(primals, tangents):
  """The tangent of the window's first maximum.

  The rule is linear in the tangent (strided slices and selects), so JAX
  transposes it into the gradient (selects and pads), and forward-mode
  differentiation (VAT's Hessian-vector product) works too.
  """
  (x,), (tangent,) = primals, tangents
  y = _even_max_pool(x)
  taken, y_tangent = jnp.zeros(y.shape, bool), jnp.zeros_like(y)
  for values, values_tangent in zip(_window_positions(x), _window_positions(tangent)):
    first = (values == y) & ~taken
    taken = taken | first
    y_tangent = jnp.where(first, values_tangent, y_tangent)
  return y, y_tangent
