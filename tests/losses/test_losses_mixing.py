"""MixUp coefficients and convex combinations."""

import functools

import jax
import numpy as np

from jaxssl import losses

RNG = np.random.default_rng(0)


@jax.jit
def both_variants(key):
  sample = functools.partial(losses.sample_mixup_lambda, key, 0.75, (4096,))
  return sample(mixmatch=True), sample(mixmatch=False)


def test_lambda_draws_of_both_variants():
  mixmatch_lam, vanilla_lam = both_variants(jax.random.PRNGKey(0))
  assert mixmatch_lam.shape == (4096,) and mixmatch_lam.dtype == np.float32
  # MixMatch: lambda' = max(lambda, 1 - lambda) >= 1/2 ...
  assert mixmatch_lam.min() >= 0.5 and mixmatch_lam.max() <= 1.0
  np.testing.assert_array_equal(mixmatch_lam, np.maximum(vanilla_lam, 1.0 - vanilla_lam))
  # ... while Beta(alpha, alpha) itself is symmetric about 1/2.
  assert vanilla_lam.min() >= 0.0 and vanilla_lam.max() <= 1.0
  assert 0.4 < np.mean(vanilla_lam < 0.5) < 0.6


def test_mixup_is_an_exact_convex_combination_per_example():
  x1 = np.ones((2, 2, 2, 1), np.float32)
  x2 = np.zeros((2, 2, 2, 1), np.float32)
  p1 = np.array([[1.0, 0.0], [1.0, 0.0]], np.float32)
  p2 = np.array([[0.0, 1.0], [0.5, 0.5]], np.float32)
  x, p = jax.jit(losses.mixup)(x1, p1, x2, p2, np.array([0.75, 0.5], np.float32))
  np.testing.assert_array_equal(x[0], np.full((2, 2, 1), 0.75))
  np.testing.assert_array_equal(x[1], np.full((2, 2, 1), 0.5))
  np.testing.assert_array_equal(p, [[0.75, 0.25], [0.75, 0.25]])


def test_mixup_with_scalar_lambda_matches_formula():
  x1, x2 = (RNG.uniform(size=(3, 4, 4, 3)).astype(np.float32) for _ in range(2))
  p1, p2 = (RNG.dirichlet(np.ones(5), size=3).astype(np.float32) for _ in range(2))
  mix = jax.jit(losses.mixup)
  x, p = mix(x1, p1, x2, p2, 0.3)
  np.testing.assert_allclose(x, 0.3 * x1 + 0.7 * x2, rtol=1e-6)
  np.testing.assert_allclose(p, 0.3 * p1 + 0.7 * p2, rtol=1e-6)
  np.testing.assert_allclose(np.sum(p, -1), np.ones(3), rtol=1e-6)
  np.testing.assert_array_equal(mix(x1, p1, x2, p2, 1.0)[0], x1)
