"""Consistency losses between two predictive distributions."""

from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import apply_where, safe_log, upcast, zero_where_unused


def squared_error(
    p: jax.typing.ArrayLike,
    q: jax.typing.ArrayLike,
    where: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""Squared L2 distance between two probability vectors, summed over classes.

  .. math::
    \lVert p - q \rVert_2^2 = \sum_c (p_c - q_c)^2

  This is the unsupervised term of the Pi-model and Temporal Ensembling
  (Laine & Aila, 2017, "Temporal Ensembling for Semi-Supervised Learning"),
  Mean Teacher (Tarvainen & Valpola, 2017) and MixMatch's L_U (Berthelot et
  al., 2019, Sec. 3). Those papers divide by the number of classes C
  (Laine & Aila: ``1/C ||z - z~||^2``; MixMatch: ``1/(L |U'|) sum ||q - p||^2``
  with L = C); this function does not, so the caller divides by C where the
  paper does.

  Args:
    p: Probabilities, shape ``[..., C]``.
    q: Probabilities (usually the stop-gradient target), shape ``[..., C]``.
    where: Optional per-example mask, shape ``[...]``.

  Returns:
    Per-example squared error, shape ``[...]``, float32 (or wider).
  """
  return apply_where(jnp.sum((upcast(p) - upcast(q)) ** 2, axis=-1), where)


def kl_divergence(
    p: jax.typing.ArrayLike,
    q: jax.typing.ArrayLike,
    where: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""Kullback-Leibler divergence KL(p || q) between probability vectors.

  .. math::
    \mathrm{KL}(p \,\|\, q) = \sum_c p_c \log \frac{p_c}{q_c},
    \qquad 0 \log \frac{0}{q} = 0

  Classes with p_c = 0 contribute 0 (with zero gradient); a class with
  p_c > 0 and q_c = 0 gives +inf, as the definition does. When q comes from a
  network, prefer :func:`kl_divergence_with_logits`, which cannot underflow.

  Args:
    p: Reference distribution, shape ``[..., C]``.
    q: Approximating distribution, shape ``[..., C]``.
    where: Optional per-example mask, shape ``[...]``.

  Returns:
    Per-example KL(p || q) >= 0, shape ``[...]``, float32 (or wider).
  """
  p, q = upcast(p), upcast(q)
  positive = p > 0
  log_q = jnp.log(jnp.where(positive, q, 1.0))
  terms = jnp.where(positive, p * (safe_log(p) - log_q), 0.0)
  return apply_where(jnp.sum(terms, axis=-1), where)


def kl_divergence_with_logits(
    p_logits: jax.typing.ArrayLike,
    q_logits: jax.typing.ArrayLike,
    where: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""KL(softmax(p_logits) || softmax(q_logits)), computed in log space.

  .. math::
    \mathrm{KL}(p \,\|\, q) = \sum_c p_c (\log p_c - \log q_c),
    \quad \log p = \mathrm{log\_softmax}(z^p), \; \log q = \mathrm{log\_softmax}(z^q)

  The divergence D of VAT (Miyato et al., 2018) and of soft
  distillation (Hinton et al., 2015; Touvron et al., 2021, eq. (2)). Gradients
  flow into both arguments; wrap the target in ``jax.lax.stop_gradient``
  where the method treats it as fixed. Classes where p_c = 0 (including
  -inf logits) contribute 0.

  Args:
    p_logits: Logits of the reference distribution p, shape ``[..., C]``.
    q_logits: Logits of the approximating distribution q, shape ``[..., C]``.
    where: Optional per-example mask, shape ``[...]``.

  Returns:
    Per-example KL(p || q) >= 0, shape ``[...]``, float32 (or wider).
  """
  log_p = jax.nn.log_softmax(upcast(p_logits), axis=-1)
  log_q = jax.nn.log_softmax(upcast(q_logits), axis=-1)
  p = jnp.exp(log_p)
  return apply_where(jnp.sum(p * zero_where_unused(p, log_p - log_q), axis=-1), where)
