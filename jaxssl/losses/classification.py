"""Cross-entropy between predicted logits and integer labels or soft targets."""

from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import apply_where, upcast, zero_where_unused


def softmax_cross_entropy(
    logits: jax.typing.ArrayLike,
    target_probs: jax.typing.ArrayLike,
    where: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""Cross-entropy H(q, p) between soft targets and a softmax prediction.

  .. math::
    H(q, p(y \mid x)) = -\sum_c q_c \log \mathrm{softmax}(z)_c

  The log-softmax is computed directly from the logits, so the loss stays
  finite however confident the prediction; classes with q_c = 0 contribute 0
  even where a logit is -inf (a masked class). Soft targets come from label
  smoothing, MixUp (Zhang et al., 2018) or MixMatch's mixed guesses
  (Berthelot et al., 2019, L_X in Sec. 3).

  Args:
    logits: Unnormalized log-probabilities z, shape ``[..., C]``.
    target_probs: Target distribution q, shape ``[..., C]``; rows sum to 1.
    where: Optional per-example mask, shape ``[...]``; excluded examples
      give 0.

  Returns:
    Per-example cross-entropy, shape ``[...]``, float32 (or wider).
  """
  log_probs = jax.nn.log_softmax(upcast(logits), axis=-1)
  target_probs = upcast(target_probs)
  loss = -jnp.sum(target_probs * zero_where_unused(target_probs, log_probs), axis=-1)
  return apply_where(loss, where)


def softmax_cross_entropy_with_integer_labels(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    where: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""Cross-entropy H(y, p(y \mid x)) to an integer class label.

  .. math::
    H(y, p(y \mid x)) = -\log \mathrm{softmax}(z)_y
                      = \log \sum_c e^{z_c} - z_y

  Args:
    logits: Unnormalized log-probabilities z, shape ``[..., C]``.
    labels: Integer labels y in ``[0, C)``, shape ``[...]``.
    where: Optional per-example mask, shape ``[...]``; excluded examples
      give 0.

  Returns:
    Per-example cross-entropy, shape ``[...]``, float32 (or wider).
  """
  logits = upcast(logits)
  label_logits = jnp.take_along_axis(
      logits, jnp.asarray(labels)[..., None].astype(jnp.int32), axis=-1)[..., 0]
  loss = jax.nn.logsumexp(logits, axis=-1) - label_logits
  return apply_where(loss, where)


def tsa_mask(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    eta: jax.typing.ArrayLike,
) -> jax.Array:
  r"""Training-signal annealing: 1(p(y^* | x) <= \eta_t) for each labeled example, as float32.

  .. math::
    \ell_s = \frac{1}{Z} \sum_{(x, y^*) \in B}
             \mathbb{1}\big(p_\theta(y^* \mid x) \le \eta_t\big)\, H(y^*, p_\theta(y \mid x)),
    \qquad Z = \max\big(1, \textstyle\sum_{B} \mathbb{1}(p_\theta(y^* \mid x) \le \eta_t)\big)

  Xie et al., 2020, "Unsupervised Data Augmentation for Consistency
  Training", Sec. 3.3: an example the model already fits with a
  correct-class probability above \eta_t (:func:`tsa_threshold`) leaves the
  supervised loss, so a model does not overfit a few labels before the
  unlabeled signal arrives. The caller weighs the cross-entropy with the mask
  and divides by Z, as the authors' code does.

  Args:
    logits: Logits of the labeled examples, shape ``[B, C]``.
    labels: Integer labels y^*, shape ``[B]``.
    eta: \eta_t.

  Returns:
    Mask with values in {0, 1}, shape ``[B]``, float32.
  """
  probs = jax.nn.softmax(jax.lax.stop_gradient(upcast(logits)), axis=-1)
  correct = jnp.take_along_axis(
      probs, jnp.asarray(labels)[..., None].astype(jnp.int32), axis=-1)[..., 0]
  return (correct <= eta).astype(jnp.float32)
