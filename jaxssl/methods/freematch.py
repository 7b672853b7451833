"""FreeMatch (Wang et al., 2023): self-adaptive thresholds and the class fairness term.

"FreeMatch: Self-adaptive Thresholding for Semi-supervised Learning", Sec. 3.
FixMatch's views and forward pass (`fixmatch`); the threshold follows the
model's confidence on the weak views q_b of each unlabeled batch:

  tau_t   = lambda tau_{t-1} + (1 - lambda) (1/(mu B)) sum_b max q_b          (tau_0 = 1/C)
  p~_t    = lambda p~_{t-1} + (1 - lambda) (1/(mu B)) sum_b q_b               (p~_0 = 1/C)
  h~_t    = lambda h~_{t-1} + (1 - lambda) Hist_{mu B}(argmax q_b)            (h~_0 = 1/C)
  tau_t(c) = MaxNorm(p~_t)(c) tau_t
  l_u = (1/(mu B)) sum_b 1(max q_b >= tau_t(argmax q_b)) H(argmax q_b, p_m(y | A(u_b)))
  L_f = -H(SumNorm(p~_t / h~_t), SumNorm(p_bar / h_bar))          (losses.fairness_loss)
  L   = l_s + w_u l_u + w_f L_f

p_bar and h_bar are the mean prediction and histogram of the strong views that
pass the threshold. As in the authors' code (USB), the averages of step t
include its own batch before they threshold it: `loss_fn` computes them and
`update_extra` stores them.

State (`extra`, checkpointed): "global_threshold" (tau_t), "class_marginal"
(p~_t) and "label_histogram" (h~_t), float32.

Options: unlabeled_weight (w_u), fairness_weight (w_f), ema_momentum
(lambda), and fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, fixmatch, options

OPTIONS = {
    "unlabeled_weight": options.Number(low=0.0),
    "fairness_weight": options.Number(low=0.0),
    "ema_momentum": options.Number(0.0, 1.0, high_open=True),
    **fixmatch.VIEW_OPTIONS,
}


def update_state(extra, probs: jax.Array, momentum: float):
  """tau_t, p~_t and h~_t from the previous ones and this batch's weak predictions q [N, C]."""
  one_hot = jax.nn.one_hot(losses.hard_pseudo_labels(probs), probs.shape[-1])
  return {"global_threshold": losses.update_global_threshold(extra["global_threshold"], probs,
                                                            momentum),
          "class_marginal": losses.update_marginal(extra["class_marginal"], probs, momentum),
          "label_histogram": losses.update_marginal(extra["label_histogram"], one_hot, momentum)}


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    uniform = common.uniform_marginal(num_classes)
    return {"global_threshold": jnp.float32(1.0 / num_classes), "class_marginal": uniform,
            "label_histogram": uniform}

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    labeled_logits, weak_logits, strong_logits, batch_stats = fixmatch.forward(
        params, batch, key, apply_fn, flip, opts)
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    state = update_state(extra, weak_probs, opts.ema_momentum)
    class_thresholds = losses.freematch_thresholds(state["global_threshold"],
                                                   state["class_marginal"])
    mask = losses.class_thresholds_mask(weak_probs, class_thresholds)
    per_example = losses.softmax_cross_entropy_with_integer_labels(
        strong_logits, losses.hard_pseudo_labels(weak_probs), where=mask)
    loss, metrics = fixmatch.objective(labeled_logits, batch, per_example.mean(),
                                       opts.unlabeled_weight, weak_probs, mask)
    fairness = losses.fairness_loss(strong_logits, mask, state["class_marginal"],
                                    state["label_histogram"])
    metrics.update(fairness_loss=fairness, global_threshold=state["global_threshold"],
                   mean_threshold=class_thresholds.mean())
    return loss + opts.fairness_weight * fairness, {
        "batch_stats": batch_stats, "metrics": metrics, "state": state}

  def update_extra(extra, params, step, aux):
    """The averages that thresholded this step (they include its batch)."""
    del extra, params, step
    return aux["state"]

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
