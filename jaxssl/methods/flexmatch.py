"""FlexMatch (Zhang et al., 2021): FixMatch with class-wise curriculum thresholds.

"FlexMatch: Boosting Semi-Supervised Learning with Curriculum Pseudo
Labeling", Sec. 3. FixMatch's loss (`fixmatch`, the same views and forward
pass) with the fixed threshold tau replaced by one per class that follows
how well the model has learned the class:

  sigma_t(c) = #{n : the latest confident (max q_n >= tau) pseudo-label of u_n is c}
  beta_t(c)  = sigma_t(c) / max(max_c' sigma_t(c'), N - sum_c' sigma_t(c'))   (threshold warm-up)
  T_t(c)     = M(beta_t(c)) tau,   M(x) = x / (2 - x)
  l_u = (1/(mu B)) sum_b 1(max q_b >= T_t(argmax q_b)) H(argmax q_b, p_m(y | A(u_b)))
  L   = l_s + lambda_u l_u

N is the size of the unlabeled set. Each unlabeled example keeps the class
of its latest prediction above tau, -1 until it has one; as in the authors'
code (TorchSSL, USB) a later prediction below tau leaves it unchanged. The
thresholds of a step come from the state before it, and the step's
confident predictions then update the state (`update_extra`).

State (`extra`, on the device and checkpointed): "latest_labels" int32 [N].

Options: threshold (tau), unlabeled_weight (lambda_u), threshold_warmup
(False: beta normalized by max_c sigma alone), mapping ("convex": M(x) =
x / (2 - x); "linear": M(x) = x), and fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, fixmatch, options

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    "threshold_warmup": options.Flag(),
    "mapping": options.Choice(losses.MAPPINGS),
    **fixmatch.VIEW_OPTIONS,
}


def update_latest_labels(latest_labels: jax.Array, index: jax.Array, probs: jax.Array,
                         tau: float) -> jax.Array:
  """Writes argmax q_b at u_b's place for the predictions with max q_b >= tau.

  An example drawn twice in the batch takes its first confident prediction.
  """
  size = latest_labels.shape[0]
  confident = losses.confidence_mask(probs, tau) > 0
  candidates = jnp.where(confident, index, size)
  destination = jnp.where(common.first_occurrences(candidates), candidates, size)
  return latest_labels.at[destination].set(losses.hard_pseudo_labels(probs), mode="drop")


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params
    return {"latest_labels": jnp.full((num_unlabeled,), -1, jnp.int32)}

  def thresholds(extra):
    latest_labels = extra["latest_labels"]
    return losses.flexmatch_thresholds(
        losses.learning_effect(latest_labels, num_classes), latest_labels.shape[0],
        opts.threshold, warmup=opts.threshold_warmup, mapping=opts.mapping)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    labeled_logits, weak_logits, strong_logits, batch_stats = fixmatch.forward(
        params, batch, key, apply_fn, flip, opts)
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    class_thresholds = thresholds(extra)
    mask = losses.class_thresholds_mask(weak_probs, class_thresholds)
    per_example = losses.softmax_cross_entropy_with_integer_labels(
        strong_logits, losses.hard_pseudo_labels(weak_probs), where=mask)
    loss, metrics = fixmatch.objective(labeled_logits, batch, per_example.mean(),
                                       opts.unlabeled_weight, weak_probs, mask)
    metrics["mean_threshold"] = class_thresholds.mean()
    return loss, {"batch_stats": batch_stats, "metrics": metrics, "weak_probs": weak_probs,
                  "unlabeled_index": batch["unlabeled_index"]}

  def update_extra(extra, params, step, aux):
    """The batch's confident pseudo-labels become their examples' latest ones."""
    del params, step
    return {"latest_labels": update_latest_labels(extra["latest_labels"], aux["unlabeled_index"],
                                                  aux["weak_probs"], opts.threshold)}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
