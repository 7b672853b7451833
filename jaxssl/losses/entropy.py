"""Entropy of a predictive distribution (Entropy Minimization)."""

from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import apply_where, safe_log, upcast, zero_where_unused


def entropy(
    p: jax.typing.ArrayLike,
    where: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""Shannon entropy H(p) of probability vectors, with 0 log 0 = 0.

  .. math::
    H(p) = -\sum_c p_c \log p_c

  Minimizing it on unlabeled data is Entropy Minimization (Grandvalet &
  Bengio, 2005, "Semi-supervised Learning by Entropy Minimization").

  Args:
    p: Probabilities, shape ``[..., C]``.
    where: Optional per-example mask, shape ``[...]``.

  Returns:
    Per-example entropy in nats, shape ``[...]``, float32 (or wider).
  """
  p = upcast(p)
  return apply_where(-jnp.sum(p * safe_log(p), axis=-1), where)


def entropy_with_logits(
    logits: jax.typing.ArrayLike,
    where: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""Entropy of softmax(logits), computed from the log-softmax.

  .. math::
    H(p(y \mid x)) = -\sum_c p_c \log p_c, \quad \log p = \mathrm{log\_softmax}(z)

  The EntMin term of Grandvalet & Bengio (2005), also added to VAT
  ("VAT + EntMin", Miyato et al., 2018, Sec. 4.1).

  Args:
    logits: Unnormalized log-probabilities, shape ``[..., C]``.
    where: Optional per-example mask, shape ``[...]``.

  Returns:
    Per-example entropy in nats, shape ``[...]``, float32 (or wider).
  """
  log_p = jax.nn.log_softmax(upcast(logits), axis=-1)
  p = jnp.exp(log_p)
  return apply_where(-jnp.sum(p * zero_where_unused(p, log_p), axis=-1), where)
