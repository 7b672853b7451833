"""Knowledge distillation: DeiT's soft and hard distillation, Noisy Student."""

from typing import Optional

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import upcast
from jaxssl.losses.classification import (softmax_cross_entropy,
                                          softmax_cross_entropy_with_integer_labels)
from jaxssl.losses.consistency import kl_divergence_with_logits
from jaxssl.losses.pseudo_label import hard_pseudo_labels


def _cross_entropy(logits: jax.Array, targets: jax.typing.ArrayLike) -> jax.Array:
  """CE to integer labels [N] or to target distributions [N, C], by targets' rank."""
  targets = jnp.asarray(targets)
  if targets.ndim == jnp.ndim(logits):
    return softmax_cross_entropy(logits, targets)
  return softmax_cross_entropy_with_integer_labels(logits, targets)


def soft_distillation_loss(
    student_logits: jax.typing.ArrayLike,
    teacher_logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    tau: jax.typing.ArrayLike,
    lam: jax.typing.ArrayLike,
    distill_logits: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""DeiT's soft distillation objective, per example.

  .. math::
    \mathcal{L}_{global} = (1 - \lambda)\, \mathcal{L}_{CE}(\psi(Z_s), y)
      + \lambda \tau^2\, \mathrm{KL}(\psi(Z_t / \tau) \,\|\, \psi(Z_s / \tau))

  Touvron et al., 2021, "Training data-efficient image transformers &
  distillation through attention", eq. (2), after Hinton et al., 2015. The
  paper writes the KL arguments as (student, teacher); like Hinton et al.
  and DeiT's code, this computes KL(teacher || student). The tau^2 factor
  keeps the gradient scale independent of tau. DeiT's code also divides the
  KL summed over the batch by N*C (not N); here the KL is summed over
  classes, as in the formula. The teacher is a constant (stop-gradient).

  Args:
    student_logits: Z_s, shape ``[N, C]`` (the class-token head).
    teacher_logits: Z_t, shape ``[N, C]``.
    labels: Integer labels ``[N]`` or target distributions ``[N, C]``
      (label smoothing, MixUp/CutMix).
    tau: Distillation temperature.
    lam: Weight lambda of the distillation term, in [0, 1].
    distill_logits: The distillation-token head. When given, the KL term uses
      it instead of student_logits (the CE term keeps student_logits).

  Returns:
    Per-example loss, shape ``[N]``, float32.
  """
  student_logits = upcast(student_logits)
  kd_logits = student_logits if distill_logits is None else upcast(distill_logits)
  teacher_logits = jax.lax.stop_gradient(upcast(teacher_logits))
  kl = kl_divergence_with_logits(teacher_logits / tau, kd_logits / tau)
  return (1.0 - lam) * _cross_entropy(student_logits, labels) + lam * tau**2 * kl


def hard_distillation_loss(
    student_logits: jax.typing.ArrayLike,
    teacher_logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    distill_logits: Optional[jax.typing.ArrayLike] = None,
) -> jax.Array:
  r"""DeiT's hard-label distillation objective, per example.

  .. math::
    \mathcal{L}_{global}^{hardDistill} = \tfrac{1}{2} \mathcal{L}_{CE}(\psi(Z_s), y)
      + \tfrac{1}{2} \mathcal{L}_{CE}(\psi(Z_s), y_t), \qquad
    y_t = \arg\max_c Z_t(c)

  Touvron et al., 2021, eq. (3). With a distillation token, the second term
  uses the distillation head's logits. y_t is a constant.

  Args:
    student_logits: Z_s, shape ``[N, C]`` (the class-token head).
    teacher_logits: Z_t, shape ``[N, C]``.
    labels: Integer labels ``[N]`` or target distributions ``[N, C]``.
    distill_logits: The distillation-token head; used for the teacher term
      when given.

  Returns:
    Per-example loss, shape ``[N]``, float32.
  """
  teacher_labels = hard_pseudo_labels(jax.lax.stop_gradient(teacher_logits))
  kd_logits = student_logits if distill_logits is None else distill_logits
  return 0.5 * _cross_entropy(student_logits, labels) + 0.5 * (
      softmax_cross_entropy_with_integer_labels(kd_logits, teacher_labels))


def noisy_student_loss(
    labeled_logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    unlabeled_logits: jax.typing.ArrayLike,
    teacher_targets: jax.typing.ArrayLike,
) -> tuple[jax.Array, jax.Array]:
  r"""The two cross-entropy terms of the Noisy Student objective.

  .. math::
    \frac{1}{n} \sum_{i=1}^{n} \ell(y_i, f^{noised}(x_i; \theta^s))
    + \frac{1}{m} \sum_{i=1}^{m} \ell(\tilde{y}_i, f^{noised}(\tilde{x}_i; \theta^s))

  Xie et al., 2020, "Self-training with Noisy Student improves ImageNet
  classification", Algorithm 1, step 3. The two sums are averaged over their
  own sizes n and m, so the caller computes
  ``labeled_ce.mean() + unlabeled_ce.mean()``. The teacher's pseudo-labels
  y~ may be hard (argmax, int) or soft (its distribution); they are
  constants.

  Args:
    labeled_logits: Student logits on noised labeled images, ``[n, C]``.
    labels: Integer labels ``[n]`` or target distributions ``[n, C]``.
    unlabeled_logits: Student logits on noised unlabeled images, ``[m, C]``.
    teacher_targets: Teacher pseudo-labels, int ``[m]`` or probabilities
      ``[m, C]``.

  Returns:
    ``(labeled_ce [n], unlabeled_ce [m])``, float32.
  """
  teacher_targets = jax.lax.stop_gradient(teacher_targets)
  return (_cross_entropy(labeled_logits, labels),
          _cross_entropy(unlabeled_logits, teacher_targets))
