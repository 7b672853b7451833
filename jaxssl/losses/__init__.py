"""Pure loss functions for semi-supervised learning.

Functions of arrays (logits, probabilities, labels, masks) that return
per-example values; the caller reduces them. Low-precision inputs are computed
in float32. Models enter only as pure ``logits_fn(x) -> logits`` callables
(adversarial and virtual adversarial training). Nothing here imports the rest
of jaxssl.
"""

from jaxssl.losses.adaptive_threshold import (MAPPINGS, class_thresholds_mask, dash_threshold,
                                              fairness_loss, flexmatch_thresholds,
                                              freematch_thresholds, learning_effect,
                                              loss_threshold_mask,
                                              relative_confidence_threshold,
                                              truncated_gaussian_weight,
                                              update_confidence_moments,
                                              update_global_threshold)
from jaxssl.losses.adversarial import (POWER_ITERATION_METHODS, adversarial_loss,
                                       adversarial_perturbation, vat_loss,
                                       virtual_adversarial_perturbation)
from jaxssl.losses.classification import (softmax_cross_entropy,
                                          softmax_cross_entropy_with_integer_labels, tsa_mask)
from jaxssl.losses.consistency import kl_divergence, kl_divergence_with_logits, squared_error
from jaxssl.losses.contrastive import (graph_contrastive_loss, l2_normalize,
                                      memory_smoothed_pseudo_labels, pseudo_label_graph,
                                      ring_buffer_write, similarity_logits, simmatch_targets)
from jaxssl.losses.distillation import (hard_distillation_loss, noisy_student_loss,
                                        soft_distillation_loss)
from jaxssl.losses.entropy import entropy, entropy_with_logits
from jaxssl.losses.gan import (FEATURE_DISTANCES, feature_matching_loss, gan_fake_loss,
                               gan_real_loss, real_probability)
from jaxssl.losses.mixing import (mixup, mixup_shuffled, random_logit_interpolation,
                                  sample_mixup_lambda)
from jaxssl.losses.pseudo_label import (confidence_mask, confident_pseudo_label_loss,
                                        debiased_pseudo_label_loss, distribution_alignment,
                                        fixmatch_unlabeled_loss, hard_pseudo_labels,
                                        pseudo_label_loss, sharpen, uda_unlabeled_loss,
                                        update_marginal)
from jaxssl.losses.schedules import (TSA_SCHEDULES, cosine_rampup, linear_rampup, sigmoid_rampup,
                                     tsa_threshold)
from jaxssl.losses.shrinking import shrunk_class_loss, shrunk_class_space
from jaxssl.losses.teachers import (averaging_decay, ema_teacher, init_teacher,
                                    temporal_ensemble_target, temporal_ensemble_update,
                                    update_teacher)

__all__ = [
    "FEATURE_DISTANCES",
    "MAPPINGS",
    "POWER_ITERATION_METHODS",
    "TSA_SCHEDULES",
    "adversarial_loss",
    "adversarial_perturbation",
    "averaging_decay",
    "class_thresholds_mask",
    "confidence_mask",
    "confident_pseudo_label_loss",
    "cosine_rampup",
    "dash_threshold",
    "debiased_pseudo_label_loss",
    "distribution_alignment",
    "ema_teacher",
    "entropy",
    "entropy_with_logits",
    "fairness_loss",
    "feature_matching_loss",
    "fixmatch_unlabeled_loss",
    "flexmatch_thresholds",
    "freematch_thresholds",
    "gan_fake_loss",
    "gan_real_loss",
    "graph_contrastive_loss",
    "hard_distillation_loss",
    "hard_pseudo_labels",
    "init_teacher",
    "kl_divergence",
    "kl_divergence_with_logits",
    "l2_normalize",
    "learning_effect",
    "linear_rampup",
    "loss_threshold_mask",
    "memory_smoothed_pseudo_labels",
    "mixup",
    "mixup_shuffled",
    "noisy_student_loss",
    "pseudo_label_graph",
    "pseudo_label_loss",
    "random_logit_interpolation",
    "real_probability",
    "relative_confidence_threshold",
    "ring_buffer_write",
    "sample_mixup_lambda",
    "sharpen",
    "shrunk_class_loss",
    "shrunk_class_space",
    "sigmoid_rampup",
    "similarity_logits",
    "simmatch_targets",
    "soft_distillation_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
    "temporal_ensemble_target",
    "temporal_ensemble_update",
    "truncated_gaussian_weight",
    "tsa_mask",
    "tsa_threshold",
    "uda_unlabeled_loss",
    "update_confidence_moments",
    "update_global_threshold",
    "update_marginal",
    "update_teacher",
    "vat_loss",
    "virtual_adversarial_perturbation",
]
