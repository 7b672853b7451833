"""Pure loss functions for semi-supervised learning.

Functions of arrays (logits, probabilities, labels, masks) that return
per-example values; the caller reduces them. Low-precision inputs are computed
in float32. Models enter only as pure ``logits_fn(x) -> logits`` callables
(adversarial and virtual adversarial training). Nothing here imports the rest
of jaxssl.
"""

from jaxssl.losses.adversarial import (POWER_ITERATION_METHODS, adversarial_loss,
                                       adversarial_perturbation, vat_loss,
                                       virtual_adversarial_perturbation)
from jaxssl.losses.classification import (softmax_cross_entropy,
                                          softmax_cross_entropy_with_integer_labels)
from jaxssl.losses.consistency import kl_divergence, kl_divergence_with_logits, squared_error
from jaxssl.losses.distillation import (hard_distillation_loss, noisy_student_loss,
                                        soft_distillation_loss)
from jaxssl.losses.entropy import entropy, entropy_with_logits
from jaxssl.losses.mixing import mixup, mixup_shuffled, sample_mixup_lambda
from jaxssl.losses.pseudo_label import (confidence_mask, confident_pseudo_label_loss,
                                        distribution_alignment, fixmatch_unlabeled_loss,
                                        hard_pseudo_labels, pseudo_label_loss, sharpen,
                                        update_marginal)
from jaxssl.losses.schedules import linear_rampup, sigmoid_rampup
from jaxssl.losses.teachers import (averaging_decay, ema_teacher, init_teacher,
                                    temporal_ensemble_target, temporal_ensemble_update,
                                    update_teacher)

__all__ = [
    "POWER_ITERATION_METHODS",
    "adversarial_loss",
    "adversarial_perturbation",
    "averaging_decay",
    "confidence_mask",
    "confident_pseudo_label_loss",
    "distribution_alignment",
    "ema_teacher",
    "entropy",
    "entropy_with_logits",
    "fixmatch_unlabeled_loss",
    "hard_distillation_loss",
    "hard_pseudo_labels",
    "init_teacher",
    "kl_divergence",
    "kl_divergence_with_logits",
    "linear_rampup",
    "mixup",
    "mixup_shuffled",
    "noisy_student_loss",
    "pseudo_label_loss",
    "sample_mixup_lambda",
    "sharpen",
    "sigmoid_rampup",
    "soft_distillation_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
    "temporal_ensemble_target",
    "temporal_ensemble_update",
    "update_marginal",
    "update_teacher",
    "vat_loss",
    "virtual_adversarial_perturbation",
]
