"""MixUp and other convex combinations: of inputs, of their targets, of logits."""

from typing import Sequence

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import upcast


def sample_mixup_lambda(
    key: jax.Array,
    alpha: float,
    shape: Sequence[int] = (),
    mixmatch: bool = True,
) -> jax.Array:
  r"""Draws the MixUp coefficient lambda ~ Beta(alpha, alpha).

  .. math::
    \lambda \sim \mathrm{Beta}(\alpha, \alpha), \qquad
    \lambda' = \max(\lambda, 1 - \lambda) \; \text{(MixMatch)}

  Zhang et al., 2018, "mixup: Beyond Empirical Risk Minimization"; the
  max(lambda, 1 - lambda) variant is from Berthelot et al., 2019 (MixMatch,
  Sec. 3.3): it keeps the mixed example closer to its first argument, so the
  labeled half of the batch stays mostly labeled.

  Args:
    key: PRNG key.
    alpha: Beta concentration alpha > 0 (0.75 in MixMatch).
    shape: Output shape: ``()`` for one lambda per batch, ``(N,)`` for one per
      example.
    mixmatch: If True, return lambda' = max(lambda, 1 - lambda) in [0.5, 1].

  Returns:
    lambda (or lambda'), float32 array of ``shape``.
  """
  lam = jax.random.beta(key, alpha, alpha, shape, dtype=jnp.float32)
  return jnp.maximum(lam, 1.0 - lam) if mixmatch else lam


def mixup(
    x1: jax.typing.ArrayLike,
    p1: jax.typing.ArrayLike,
    x2: jax.typing.ArrayLike,
    p2: jax.typing.ArrayLike,
    lam: jax.typing.ArrayLike,
) -> tuple[jax.Array, jax.Array]:
  r"""Mixes two batches of inputs and their targets with the same lambda.

  .. math::
    x' = \lambda x_1 + (1 - \lambda) x_2, \qquad
    p' = \lambda p_1 + (1 - \lambda) p_2

  Zhang et al., 2018; Berthelot et al., 2019 (MixMatch, eqs. for x' and p'
  in Sec. 3.3, used with lambda' from :func:`sample_mixup_lambda`).

  Args:
    x1: Inputs, shape ``[N, ...]``.
    p1: Targets of x1 (probabilities), shape ``[N, C]``.
    x2: Inputs to mix in (e.g. a shuffled batch), same shape as x1.
    p2: Targets of x2, same shape as p1.
    lam: A scalar or per-example ``[N]`` coefficient; a per-example lambda
      broadcasts over the trailing axes of x and p.

  Returns:
    ``(x', p')``, each with the dtype that x (or p) and lam promote to
    (float32 for bf16 or integer inputs mixed with a float32 lambda).
  """
  lam = jnp.asarray(lam)

  def mix(a, b):
    a, b = jnp.asarray(a), jnp.asarray(b)
    weight = lam.reshape(lam.shape + (1,) * (a.ndim - lam.ndim))
    return weight * a + (1.0 - weight) * b

  return mix(x1, x2), mix(p1, p2)


def mixup_shuffled(
    key: jax.Array,
    x: jax.typing.ArrayLike,
    p: jax.typing.ArrayLike,
    alpha: float,
    mixmatch: bool = False,
) -> tuple[jax.Array, jax.Array]:
  r"""MixUp of every row of a batch with a random row of the same batch.

  .. math::
    (x'_i, p'_i) = \mathrm{MixUp}((x_i, p_i), (x_{\pi(i)}, p_{\pi(i)})),
    \qquad \pi \text{ a random permutation}

  with a lambda per row from :func:`sample_mixup_lambda` (Zhang et al., 2018;
  MixMatch's W = Shuffle(Concat(X^, U^)) with lambda', Berthelot et al.,
  2019, Algorithm 1). A row may draw itself.

  Args:
    key: PRNG key (split into the permutation's and lambda's).
    x: Inputs, shape ``[N, ...]``.
    p: Their target distributions, shape ``[N, C]``.
    alpha: Beta(alpha, alpha) concentration.
    mixmatch: Use lambda' = max(lambda, 1 - lambda), as MixMatch.

  Returns:
    ``(x', p')`` as :func:`mixup`.
  """
  shuffle_key, lambda_key = jax.random.split(key)
  order = jax.random.permutation(shuffle_key, jnp.shape(x)[0])
  lam = sample_mixup_lambda(lambda_key, alpha, shape=(jnp.shape(x)[0],), mixmatch=mixmatch)
  x, p = jnp.asarray(x), jnp.asarray(p)
  return mixup(x, p, x[order], p[order], lam)


def random_logit_interpolation(
    key: jax.Array,
    joint_logits: jax.typing.ArrayLike,
    separate_logits: jax.typing.ArrayLike,
) -> jax.Array:
  r"""AdaMatch's random logit interpolation of the labeled logits.

  .. math::
    Z_{\mathrm{source}} = \lambda \cdot Z'_{\mathrm{source}}
                        + (1 - \lambda) \cdot Z''_{\mathrm{source}},
    \qquad \lambda \sim U(0, 1)^{B \times C}

  Berthelot et al., 2022, "AdaMatch: A Unified Approach to Semi-Supervised
  Learning and Domain Adaptation", Sec. 3.2: Z' are the labeled logits from a
  training-mode pass over labeled and unlabeled images together (batch norm
  with their joint statistics), Z'' those from a pass over the labeled images
  alone. Training on a random point between them, one lambda per logit, asks
  the network to classify the labeled images well under either set of batch
  statistics. Gradients flow into both.

  Args:
    key: PRNG key for lambda.
    joint_logits: Z', shape ``[B, C]``.
    separate_logits: Z'', shape ``[B, C]``.

  Returns:
    Z, shape ``[B, C]``, float32 (or wider).
  """
  joint, separate = upcast(joint_logits), upcast(separate_logits)
  lam = jax.random.uniform(key, joint.shape, dtype=joint.dtype)
  return lam * joint + (1.0 - lam) * separate
