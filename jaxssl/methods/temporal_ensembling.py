"""Temporal Ensembling (Laine & Aila, 2017, "Temporal Ensembling for Semi-Supervised
Learning", Sec. 2.2).

Each unlabeled example i keeps an ensemble prediction Z_i, an exponential
moving average of the softmax outputs z_i the network gave it in training:

  Z_i <- alpha Z_i + (1 - alpha) z_i,      z~_i = Z_i / (1 - alpha^{t_i}),

where t_i counts the updates of Z_i; dividing by 1 - alpha^{t_i} removes the
bias of starting from Z = 0 (after one update z~_i = z_i). The loss is

  L = -(1/|B_l|) sum_{i in B_l} log z_i[y_i]
      + w(t) (1 / (C |B_u|)) sum_{i in B_u} 1(t_i > 0) ||z_i - z~_i||^2,

with z~ a constant target and the Gaussian ramp-up w(t) = w_max exp(-5 (1 - t/T)^2).
Examples never trained on (t_i = 0) have no target yet and contribute zero.

The paper accumulates z over an epoch and updates Z once per epoch. Batches
here are drawn with replacement, so Z_i is updated each time example i is
drawn, with its own count t_i, which keeps the bias correction exact per
example. The consistency covers the unlabeled batch, the part the ensemble
indexes (it holds the labeled images too when
`config.data.unlabeled_includes_labeled`).

State (`extra`, on the device and checkpointed with the train state):
"ensemble" float32 [U, C] and "updates" int32 [U].

Options: `common.CONSISTENCY_OPTIONS` and ensemble_momentum (alpha).
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, options

OPTIONS = {**common.CONSISTENCY_OPTIONS,
           "ensemble_momentum": options.Number(0.0, 1.0, high_open=True)}


def ensemble_targets(extra, index: jax.Array, alpha: float):
  """z~_i = Z_i / (1 - alpha^{t_i}) for the examples `index`, and whether t_i > 0."""
  updates = extra["updates"][index]
  return losses.temporal_ensemble_target(extra["ensemble"][index], updates, alpha), updates > 0


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)
  alpha = opts.ensemble_momentum

  def init_extra(params, *, num_unlabeled):
    del params
    return {"ensemble": jnp.zeros((num_unlabeled, num_classes), jnp.float32),
            "updates": jnp.zeros((num_unlabeled,), jnp.int32)}

  def loss_fn(params, extra, batch, key, step, apply_fn):
    view_key, dropout_key = jax.random.split(key)
    images = jnp.concatenate([batch["image"], batch["unlabeled_image"]])
    logits, batch_stats = apply_fn(
        params, common.noisy_view(view_key, images, flip, opts.input_noise), True, dropout_key)
    num_labeled = batch["label"].shape[0]
    probs = jax.nn.softmax(logits[num_labeled:])
    targets, seen = ensemble_targets(extra, batch["unlabeled_index"], alpha)

    loss, metrics = common.ramped_consistency(
        common.labeled_cross_entropy(logits[:num_labeled], batch["label"]),
        common.consistency_mse(probs, targets, where=seen), step, opts, probs,
        batch["unlabeled_label"])
    aux = {"batch_stats": batch_stats,
           "metrics": {**metrics, "ensemble_coverage": seen.mean()},
           "unlabeled_probs": jax.lax.stop_gradient(probs),
           "unlabeled_index": batch["unlabeled_index"]}
    return loss, aux

  def update_extra(extra, params, step, aux):
    """Z_i <- alpha Z_i + (1 - alpha) z_i and t_i <- t_i + 1 for the batch's examples."""
    del params, step
    index = aux["unlabeled_index"]
    # A batch drawn with replacement can hold an example twice. Only its first
    # occurrence updates it (the others scatter out of range and are dropped),
    # so the result never depends on the order of scattered writes.
    destination = jnp.where(common.first_occurrences(index), index, extra["updates"].shape[0])
    blended = losses.temporal_ensemble_update(extra["ensemble"][index], aux["unlabeled_probs"],
                                              alpha)
    return {"ensemble": extra["ensemble"].at[destination].set(blended, mode="drop"),
            "updates": extra["updates"].at[destination].add(1, mode="drop")}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
