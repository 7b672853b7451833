"""ShrinkMatch (Yang et al., 2023): uncertain pseudo-labels trained in a shrunk class space.

"Shrinking Class Space for Enhanced Certainty in Semi-Supervised Learning",
Sec. 3, as in the authors' CIFAR code. FixMatch with distribution alignment
(the paper's baseline), plus a loss on the unlabeled images FixMatch's
threshold discards. One forward pass of alpha(x_b), alpha(u_b) and A(u_b)
through a network with an auxiliary classifier head g beside the classifier
f. With q_b the weak view's prediction aligned to a uniform class marginal:

  l_u      = (1/(mu B)) sum_b 1(max q_b >= tau) H(q_b, p_f(y | A(u_b)))
  l_shrink = (1/(mu B)) sum_b w_b H(argmax q_b, softmax over S_b of g(A(u_b)))
  r_t      = m r_{t-1} + (1 - m) (1/(mu B)) sum_b 1(max q_b >= tau),  r_0 = the first batch's rate
  L        = l_s + lambda_u l_u + lambda_s r_t l_shrink

S_b, the shrunk class space, keeps the top class and drops the classes
ranked after it, from the second on, until the top class's probability
renormalized over what is left reaches tau; w_b is max q_b for uncertain
images whose space exists and 0 otherwise (`losses.shrunk_class_space`; the
first of the paper's two re-weighting principles). r_t, the running share of
certain images, scales the shrunk loss down while few pseudo-labels are
certain and thus most shrunk spaces come from a poor model (the second).

As in the authors' code, l_u's target is the aligned distribution q_b itself
(soft), not its argmax; `hard_pseudo_labels` gives FixMatch's one-hot
target. Departures: the auxiliary head is linear, `num_classes` extra
outputs of the final linear layer (`config.model.kwargs.extra_logits`),
where the code's is a 3-layer MLP with batch norm on the strong views'
features; distribution alignment divides by an exponential average of the
batch means (momentum alignment_momentum) where the code keeps the last 32;
the code restarts r_t at every epoch of 1,024 steps, here it runs on.

State (`extra`): "marginal" [C] and "certain_ratio" (r_t; -1 before the first step).

Options: threshold (tau), unlabeled_weight (lambda_u), shrink_weight
(lambda_s), alignment_momentum, certain_ratio_momentum (m),
hard_pseudo_labels, and fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, fixmatch, options

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    "shrink_weight": options.Number(low=0.0),
    "alignment_momentum": options.Number(0.0, 1.0, high_open=True),
    "certain_ratio_momentum": options.Number(0.0, 1.0, high_open=True),
    "hard_pseudo_labels": options.Flag(),
    **fixmatch.VIEW_OPTIONS,
}


def running_certain_ratio(previous, mask, momentum):
  """r_t = m r_{t-1} + (1 - m) mean(mask); the first step's (previous < 0) is mean(mask)."""
  rate = jnp.mean(mask)
  return jnp.where(previous < 0, rate, momentum * previous + (1.0 - momentum) * rate)


def unlabeled_terms(pseudo_probs, strong_logits, strong_aux_logits, opts):
  """(l_u, l_shrink per example, mask) of the module docstring; q has no gradient."""
  pseudo_probs = jax.lax.stop_gradient(pseudo_probs)
  mask = losses.confidence_mask(pseudo_probs, opts.threshold)
  targets = pseudo_probs
  if opts.hard_pseudo_labels:
    targets = jax.nn.one_hot(jnp.argmax(pseudo_probs, -1), pseudo_probs.shape[-1])
  unsupervised = losses.softmax_cross_entropy(strong_logits, targets, where=mask).mean()
  shrunk = losses.shrunk_class_loss(pseudo_probs, strong_aux_logits, opts.threshold)
  return unsupervised, shrunk, mask


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    return {"marginal": common.uniform_marginal(num_classes),
            "certain_ratio": jnp.array(-1.0, jnp.float32)}

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    *view_keys, dropout_key = jax.random.split(key, 4)
    logits, aux_logits, batch_stats = common.forward_views_with_extra(
        apply_fn, params, fixmatch.views(view_keys, batch, flip, opts), dropout_key, num_classes,
        "auxiliary classifier")
    labeled_logits, weak_logits, strong_logits = logits
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    aligned = losses.distribution_alignment(weak_probs, extra["marginal"])
    unsupervised, shrunk, mask = unlabeled_terms(aligned, strong_logits, aux_logits[2], opts)
    certain_ratio = running_certain_ratio(extra["certain_ratio"], mask,
                                          opts.certain_ratio_momentum)
    loss, metrics = fixmatch.objective(labeled_logits, batch, unsupervised, opts.unlabeled_weight,
                                       aligned, mask)
    metrics.update(shrink_loss=shrunk.mean(), certain_ratio=certain_ratio,
                   shrunk_rate=jnp.mean(shrunk > 0))
    loss = loss + opts.shrink_weight * certain_ratio * shrunk.mean()
    return loss, {"batch_stats": batch_stats, "metrics": metrics, "weak_probs": weak_probs,
                  "certain_ratio": certain_ratio}

  def update_extra(extra, params, step, aux):
    """p~(y) moves towards the batch's mean prediction; r_t is kept for the next step."""
    del params, step
    return {"marginal": losses.update_marginal(extra["marginal"], aux["weak_probs"],
                                               opts.alignment_momentum),
            "certain_ratio": aux["certain_ratio"]}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
