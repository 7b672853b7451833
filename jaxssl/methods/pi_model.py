"""Pi-model (Laine & Aila, 2017, "Temporal Ensembling for Semi-Supervised Learning", Sec. 2.1).

Every image of the batch B (labeled and unlabeled) is seen twice, each time
with its own augmentation (shift, flip, Gaussian input noise) and dropout,
giving softmax outputs z_i and z~_i. The loss is

  L = -(1/|B_l|) sum_{i in B_l} log z_i[y_i]
      + w(t) (1 / (C |B|)) sum_{i in B} ||z_i - z~_i||^2,

with the Gaussian ramp-up w(t) = w_max exp(-5 (1 - t/T)^2) for t < T.

Gradients flow through BOTH z and z~, as in the paper's Algorithm 1, where
the squared difference of two stochastic evaluations is simply minimized
(Oliver et al., 2018, instead stop the gradient on the second pass). Both
views go through one forward pass, so batch norm normalizes them with one
set of statistics and updates its running averages once per step.

Options: `common.CONSISTENCY_OPTIONS` (max_weight, rampup_steps, input_noise).
"""

import jax
import jax.numpy as jnp

from jaxssl.methods import base, common, options

OPTIONS = common.CONSISTENCY_OPTIONS


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  opts = options.read(method_config, OPTIONS)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del extra
    first_key, second_key, dropout_key = jax.random.split(key, 3)
    images = jnp.concatenate([batch["image"], batch["unlabeled_image"]])
    (logits, logits_tilde), batch_stats = common.forward_views(
        apply_fn, params,
        [common.noisy_view(first_key, images, flip, opts.input_noise),
         common.noisy_view(second_key, images, flip, opts.input_noise)],
        dropout_key)
    probs, probs_tilde = jax.nn.softmax(logits), jax.nn.softmax(logits_tilde)

    num_labeled = batch["label"].shape[0]
    loss, metrics = common.ramped_consistency(
        common.labeled_cross_entropy(logits[:num_labeled], batch["label"]),
        common.consistency_mse(probs, probs_tilde), step, opts, probs[num_labeled:],
        batch["unlabeled_label"])
    return loss, {"batch_stats": batch_stats, "metrics": metrics}

  return base.Method(loss_fn=loss_fn)
