"""Targets built from the model's own predictions: sharpening and pseudo-labels."""

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import upcast
from jaxssl.losses.classification import (softmax_cross_entropy,
                                          softmax_cross_entropy_with_integer_labels)


def sharpen(p: jax.typing.ArrayLike, temperature: jax.typing.ArrayLike) -> jax.Array:
  r"""Temperature sharpening of a distribution (MixMatch).

  .. math::
    \mathrm{Sharpen}(p, T)_i = p_i^{1/T} \Big/ \sum_{j=1}^{L} p_j^{1/T}

  Berthelot et al., 2019, "MixMatch: A Holistic Approach to Semi-Supervised
  Learning", Sec. 3.2. Computed as softmax(log(p) / T), so small T cannot
  overflow or underflow to 0/0; classes with p_i = 0 stay at 0. T = 1 is the
  identity and T -> 0 tends to the one-hot argmax. The result is usually
  wrapped in ``jax.lax.stop_gradient`` by the caller (MixMatch's guessed
  labels are targets).

  Args:
    p: Probabilities, shape ``[..., C]``.
    temperature: T > 0, a scalar (or broadcastable to ``[..., 1]``).

  Returns:
    Sharpened probabilities, shape ``[..., C]``, float32 (or wider).
  """
  p = upcast(p)
  positive = p > 0
  log_p = jnp.where(positive, jnp.log(jnp.where(positive, p, 1.0)), -jnp.inf)
  return jax.nn.softmax(log_p / temperature, axis=-1)


def hard_pseudo_labels(probs: jax.typing.ArrayLike) -> jax.Array:
  r"""Hard pseudo-labels \hat{q} = argmax_c q_c, as int32.

  Works on probabilities or logits alike (softmax keeps the argmax).

  Args:
    probs: Probabilities (or logits), shape ``[..., C]``.

  Returns:
    Integer class indices, shape ``[...]``.
  """
  return jnp.argmax(probs, axis=-1).astype(jnp.int32)


def confidence_mask(probs: jax.typing.ArrayLike, tau: jax.typing.ArrayLike) -> jax.Array:
  r"""Confidence mask 1(max_c q_c >= tau) as float32.

  The threshold of FixMatch (Sohn et al., 2020, eq. (2)) and of thresholded
  pseudo-labelling. Its mean over the batch is the "mask_rate" metric.

  Args:
    probs: Probabilities q, shape ``[..., C]``.
    tau: Confidence threshold (scalar).

  Returns:
    Mask with values in {0, 1}, shape ``[...]``, float32.
  """
  return (jnp.max(upcast(probs), axis=-1) >= tau).astype(jnp.float32)


def distribution_alignment(
    probs: jax.typing.ArrayLike,
    model_marginal: jax.typing.ArrayLike,
    target_marginal: jax.typing.ArrayLike | None = None,
) -> jax.Array:
  r"""Distribution alignment of predictions on unlabeled data.

  .. math::
    \tilde q = \mathrm{Normalize}\big(q \cdot p(y) / \tilde p(y)\big),
    \qquad \mathrm{Normalize}(x)_i = x_i / \textstyle\sum_j x_j

  Berthelot et al., 2020, "ReMixMatch: Semi-Supervised Learning with
  Distribution Alignment and Augmentation Anchoring", Sec. 3.2: p(y) is the
  class marginal of the labeled data and \tilde p(y) a running average of
  the model's predictions on unlabeled data (the caller keeps it, e.g. with
  :func:`update_marginal`). Classes the model over-predicts are scaled down.

  Args:
    probs: Predictions q, shape ``[N, C]``.
    model_marginal: \tilde p(y), shape ``[C]``, positive.
    target_marginal: p(y), shape ``[C]``; None for the uniform distribution
      (a class-balanced labeled set).

  Returns:
    Aligned distributions, shape ``[N, C]``, float32.
  """
  ratio = 1.0 / upcast(model_marginal)
  if target_marginal is not None:
    ratio = ratio * upcast(target_marginal)
  aligned = upcast(probs) * ratio
  return aligned / jnp.sum(aligned, axis=-1, keepdims=True)


def update_marginal(
    model_marginal: jax.typing.ArrayLike,
    probs: jax.typing.ArrayLike,
    momentum: jax.typing.ArrayLike,
) -> jax.Array:
  r"""Running average of the predicted class distribution.

  .. math::
    \tilde p(y) \leftarrow m\, \tilde p(y) + (1 - m) \frac{1}{N} \sum_{b} q_b

  The \tilde p(y) of :func:`distribution_alignment` (Berthelot et al., 2020,
  Sec. 3.2, who average over the last 128 batches; an exponential average
  needs no queue). Start it at the uniform distribution.

  Args:
    model_marginal: The current average, shape ``[C]``.
    probs: This batch's predictions q_b, shape ``[N, C]``.
    momentum: m in [0, 1).

  Returns:
    The new average, shape ``[C]``, float32.
  """
  return momentum * upcast(model_marginal) + (1.0 - momentum) * jnp.mean(upcast(probs), axis=0)


def confident_pseudo_label_loss(
    pseudo_probs: jax.typing.ArrayLike,
    logits: jax.typing.ArrayLike,
    tau: jax.typing.ArrayLike,
) -> jax.Array:
  r"""Cross-entropy to confident hard pseudo-labels, per example.

  .. math::
    \ell^{(b)} = \mathbb{1}(\max(q_b) \ge \tau)\, H(\arg\max(q_b), p(y \mid x_b))

  The shared form of FixMatch's unlabeled loss and thresholded
  Pseudo-Label. q is a fixed target (``stop_gradient``).

  Args:
    pseudo_probs: q, shape ``[N, C]``.
    logits: The logits trained towards argmax q, shape ``[N, C]``.
    tau: Confidence threshold.

  Returns:
    Per-example masked cross-entropy, shape ``[N]``, float32.
  """
  q = jax.lax.stop_gradient(upcast(pseudo_probs))
  return softmax_cross_entropy_with_integer_labels(
      logits, hard_pseudo_labels(q), where=confidence_mask(q, tau))


def fixmatch_unlabeled_loss(
    weak_logits: jax.typing.ArrayLike,
    strong_logits: jax.typing.ArrayLike,
    tau: jax.typing.ArrayLike,
) -> jax.Array:
  r"""FixMatch's unlabeled loss, per example.

  .. math::
    \ell_u^{(b)} = \mathbb{1}(\max(q_b) \ge \tau)\,
                   H(\hat{q}_b, p_m(y \mid \mathcal{A}(u_b))),
    \quad q_b = p_m(y \mid \alpha(u_b)), \; \hat{q}_b = \arg\max(q_b)

  Sohn et al., 2020, "FixMatch: Simplifying Semi-Supervised Learning with
  Consistency and Confidence", eq. (2). q_b is the prediction on the weakly
  augmented view alpha(u_b) and is a fixed target: no gradient flows into
  ``weak_logits``. Taking the mean of the result over all mu*B unlabeled
  examples (masked ones included, as zeros) gives the paper's
  ``1/(mu B) sum_b``.

  Args:
    weak_logits: Logits on the weak views, shape ``[N, C]``.
    strong_logits: Logits on the strong views A(u_b), shape ``[N, C]``.
    tau: Confidence threshold (0.95 in the paper).

  Returns:
    Per-example masked cross-entropy, shape ``[N]``, float32.
  """
  q = jax.nn.softmax(jax.lax.stop_gradient(upcast(weak_logits)), axis=-1)
  return confident_pseudo_label_loss(q, strong_logits, tau)


def pseudo_label_loss(logits: jax.typing.ArrayLike, tau: jax.typing.ArrayLike = 0.0) -> jax.Array:
  r"""Pseudo-Label loss: cross-entropy to the model's own argmax, per example.

  .. math::
    \ell^{(m)} = \mathbb{1}(\max_c f_c(x^m) \ge \tau)\,
                 H(y'^{m}, f(x^m)), \quad y'^{m} = \arg\max_c f_c(x^m)

  Lee, 2013, "Pseudo-Label: The Simple and Efficient Semi-Supervised Learning
  Method for Deep Neural Networks", Sec. 3: the pseudo-label is
  recomputed from the same forward pass and treated as a fixed target
  (stop-gradient). With tau = 0 every example counts, as in the paper; a
  threshold such as 0.95 is the variant evaluated by Oliver et al., 2018.
  The paper's balancing weight alpha(t) is applied by the caller.

  Args:
    logits: Logits on unlabeled examples, shape ``[N, C]``.
    tau: Confidence threshold on max softmax probability.

  Returns:
    Per-example masked cross-entropy, shape ``[N]``, float32.
  """
  q = jax.nn.softmax(jax.lax.stop_gradient(upcast(logits)), axis=-1)
  return confident_pseudo_label_loss(q, logits, tau)


def uda_unlabeled_loss(
    weak_logits: jax.typing.ArrayLike,
    strong_logits: jax.typing.ArrayLike,
    temperature: jax.typing.ArrayLike,
    tau: jax.typing.ArrayLike,
) -> jax.Array:
  r"""UDA's consistency loss with sharpened, confidence-masked targets, per example.

  .. math::
    \ell_u^{(b)} = \mathbb{1}\big(\max_c q_{b,c} \ge \beta\big)\,
                   H\big(q^{\mathrm{sharp}}_b, p_\theta(y \mid \hat u_b)\big),
    \qquad q_b = \mathrm{softmax}(z_b), \;
    q^{\mathrm{sharp}}_b = \mathrm{softmax}(z_b / T)

  Xie et al., 2020, "Unsupervised Data Augmentation for Consistency
  Training", Sec. 3.2 (confidence-based masking and sharpening of the
  prediction on the original example; T = 0.4, beta = 0.8 on CIFAR-10).
  z_b are the logits of the weak view (no gradient), \hat u_b the strongly
  augmented view. The cross-entropy differs from the paper's KL divergence
  by the entropy of the fixed target, so the gradients are the same. Taking
  the mean over all unlabeled examples, masked ones included, gives the
  paper's ``1/|B| sum_b``.

  Args:
    weak_logits: Logits on the weak views, shape ``[N, C]``.
    strong_logits: Logits on the strong views, shape ``[N, C]``.
    temperature: T > 0.
    tau: Confidence threshold beta on the unsharpened prediction.

  Returns:
    Per-example masked cross-entropy, shape ``[N]``, float32.
  """
  q = jax.nn.softmax(jax.lax.stop_gradient(upcast(weak_logits)), axis=-1)
  return softmax_cross_entropy(strong_logits, sharpen(q, temperature),
                               where=confidence_mask(q, tau))


def debiased_pseudo_label_loss(
    unlabeled_weak_logits: jax.typing.ArrayLike,
    unlabeled_strong_logits: jax.typing.ArrayLike,
    labeled_weak_logits: jax.typing.ArrayLike,
    labeled_strong_logits: jax.typing.ArrayLike,
    tau: jax.typing.ArrayLike,
) -> jax.Array:
  r"""DeFixMatch's debiased unlabeled loss (a scalar for the batch).

  .. math::
    \hat\ell_u = \frac{1}{\mu B} \sum_{b=1}^{\mu B} \ell_u(u_b)
               - \frac{1}{B} \sum_{b=1}^{B} \ell_u(x_b), \qquad
    \ell_u(v) = \mathbb{1}(\max q_v \ge \tau)\, H(\arg\max q_v, p_\theta(y \mid \mathcal{A}(v)))

  Schmutz et al., 2023, "Don't fear the unlabelled: safe semi-supervised
  learning via debiasing", Sec. 3 and 5: the labeled images, treated as
  unlabeled (FixMatch's loss of :func:`fixmatch_unlabeled_loss`, their
  strong view trained toward their own weak view's confident pseudo-label),
  estimate the bias of the pseudo-label term, which is subtracted. The two
  means are unbiased estimates of the same expectation when the labeled and
  unlabeled images come from one distribution, so the debiased risk stays an
  unbiased estimate of the supervised one. The result may be negative.

  Args:
    unlabeled_weak_logits: Logits on alpha(u_b), shape ``[mu B, C]``.
    unlabeled_strong_logits: Logits on A(u_b), shape ``[mu B, C]``.
    labeled_weak_logits: Logits on alpha(x_b), shape ``[B, C]``.
    labeled_strong_logits: Logits on A(x_b), shape ``[B, C]``.
    tau: Confidence threshold (0.95).

  Returns:
    \hat\ell_u, a float32 scalar.
  """
  unlabeled = fixmatch_unlabeled_loss(unlabeled_weak_logits, unlabeled_strong_logits, tau)
  labeled = fixmatch_unlabeled_loss(labeled_weak_logits, labeled_strong_logits, tau)
  return unlabeled.mean() - labeled.mean()
