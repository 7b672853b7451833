"""Dash (Xu et al., 2021): unlabeled examples selected by a decaying threshold on their loss.

"Dash: Semi-Supervised Learning with Dynamic Thresholding", Sec. 3 and
Algorithm 1. FixMatch's views and forward pass (`fixmatch`); after a
supervised warm-up of T_0 steps an unlabeled example counts while the loss of
its weak view to its own hard pseudo-label is below rho_t:

  rho^  = l_s at step T_0, the supervised loss of the warmed-up model
  rho_t = max(C gamma^{-(t-1)} rho^, rho_min),   t - 1 = floor((step - T_0) / K)
  l_u   = (1/(mu B)) sum_b 1(-log max q_b <= rho_t) H(argmax q_b, p_m(y | A(u_b)))
  L     = l_s + lambda_u 1(step >= T_0) l_u

C = 1.0001 and gamma = 1.27 are the paper's (and USB's). The paper estimates
rho^ as the mean loss on the labeled set after the warm-up; here it is the
loss of step T_0's labeled batch (an unbiased estimate; USB takes the loss on
the evaluation set). The threshold falls every K steps (USB: 10 epochs of
1,024 steps) to USB's floor rho_min = 0.05. The warm-up here still feeds
the unlabeled views through the network (their loss weighs 0), so batch
norm sees them, where USB's warm-up is labeled-only. USB trains on
sharpened soft targets (temperature 0.5) until rho_t reaches rho_min; this
module uses hard pseudo-labels throughout, as FixMatch.

State (`extra`, checkpointed): "rho_hat" (float32, 0 until step T_0).

Options: unlabeled_weight (lambda_u), threshold_scale (C), threshold_decay
(gamma), min_threshold (rho_min), decay_every (K), warmup_steps (T_0), and
fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, fixmatch, options

OPTIONS = {
    "unlabeled_weight": options.Number(low=0.0),
    "threshold_scale": options.Number(low=0.0, low_open=True),
    "threshold_decay": options.Number(low=1.0),
    "min_threshold": options.Number(low=0.0),
    "decay_every": options.Number(low=1, integer=True),
    "warmup_steps": options.Number(low=0, integer=True),
    **fixmatch.VIEW_OPTIONS,
}


def schedule(step, supervised_loss, rho_hat, opts):
  """(rho^, rho_t) at `step`: rho^ is set to the supervised loss at step T_0 and then kept."""
  rho_hat = jnp.where(step == opts.warmup_steps, supervised_loss, rho_hat)
  stage = jnp.maximum(step - opts.warmup_steps, 0) // opts.decay_every
  return rho_hat, losses.dash_threshold(stage, rho_hat, opts.threshold_scale,
                                        opts.threshold_decay, opts.min_threshold)


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    return {"rho_hat": jnp.float32(0.0)}

  def loss_fn(params, extra, batch, key, step, apply_fn):
    labeled_logits, weak_logits, strong_logits, batch_stats = fixmatch.forward(
        params, batch, key, apply_fn, flip, opts)
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    rho_hat, rho = schedule(step, jax.lax.stop_gradient(
        common.labeled_cross_entropy(labeled_logits, batch["label"])), extra["rho_hat"], opts)
    mask = losses.loss_threshold_mask(weak_probs, rho) * (step >= opts.warmup_steps)
    per_example = losses.softmax_cross_entropy_with_integer_labels(
        strong_logits, losses.hard_pseudo_labels(weak_probs), where=mask)
    loss, metrics = fixmatch.objective(labeled_logits, batch, per_example.mean(),
                                       opts.unlabeled_weight, weak_probs, mask)
    metrics["loss_threshold"] = rho
    return loss, {"batch_stats": batch_stats, "metrics": metrics, "rho_hat": rho_hat}

  def update_extra(extra, params, step, aux):
    """rho^ once it is set at step T_0."""
    del extra, params, step
    return {"rho_hat": aux["rho_hat"]}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
