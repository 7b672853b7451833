"""AdaMatch (Berthelot et al., 2022) in its semi-supervised form.

"AdaMatch: A Unified Approach to Semi-Supervised Learning and Domain
Adaptation", Sec. 3, with the labeled set as the source domain and the
unlabeled set as the target. FixMatch's views (`fixmatch.views`), and:

  Z'  = labeled logits of the ONE training-mode pass over alpha(x), alpha(u), A(u)
  Z'' = labeled logits of a second training-mode pass over alpha(x) alone
  Z   = lambda Z' + (1 - lambda) Z'',  lambda ~ U(0, 1) per logit   (random logit interpolation)
  p_b = softmax(Z_b),  q_b = p_m(y | alpha(u_b))                     (no gradient)
  p~_L = m p~_L + (1 - m) mean_b p_b,  p~_U = m p~_U + (1 - m) mean_b q_b   (both from 1/C)
  q'_b = Normalize(q_b p~_L / p~_U)                                  (distribution alignment)
  c_tau = tau mean_b max p_b                                         (relative threshold)
  l_u = (1/(mu B)) sum_b 1(max q'_b >= c_tau) H(argmax q'_b, p_m(y | A(u_b)))
  mu(t) = 1/2 - cos(min(pi, pi t / W)) / 2                           (W = T/2 in the paper)
  L   = (1/B) sum_b H(y_b, softmax(Z_b)) + lambda_u mu(t) l_u

The second pass's batch statistics are discarded (the authors' code restores
the network's state after it); batch norm's running averages come from the
joint pass. Without logit_interpolation Z = Z', USB's form.

Where USB's adamatch is followed rather than the authors' code: both
marginals are exponential averages with momentum m (the authors average
p~_U over the last 128 batches), and the labeled loss is on the weak view
alone (the authors' also trains the labeled strong view, 1/2 each). Where
the authors' code is followed rather than USB: random logit interpolation
and the warm-up mu(t) (USB has neither), and both marginals start at 1/C
(USB starts p~_U at its first batch). The averages of step t include its own
batch before they align it; `loss_fn` computes them and `update_extra`
stores them.

State (`extra`, checkpointed): "labeled_marginal" (p~_L), "unlabeled_marginal" (p~_U).

Options: threshold (tau), unlabeled_weight (lambda_u), warmup_steps (W; 0:
none), logit_interpolation, alignment_momentum (m), and fixmatch.VIEW_OPTIONS.
"""

import jax

from jaxssl import losses
from jaxssl.methods import base, common, fixmatch, options

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    "warmup_steps": options.Number(low=0, integer=True),
    "logit_interpolation": options.Flag(),
    "alignment_momentum": options.Number(0.0, 1.0, high_open=True),
    **fixmatch.VIEW_OPTIONS,
}


def align(extra, labeled_probs, weak_probs, momentum):
  """The marginals of step t and its aligned pseudo-label distributions q'_b.

  Returns (the new state, q' [mu B, C]).
  """
  state = {"labeled_marginal": losses.update_marginal(extra["labeled_marginal"], labeled_probs,
                                                      momentum),
           "unlabeled_marginal": losses.update_marginal(extra["unlabeled_marginal"], weak_probs,
                                                        momentum)}
  return state, losses.distribution_alignment(weak_probs, state["unlabeled_marginal"],
                                              state["labeled_marginal"])


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    uniform = common.uniform_marginal(num_classes)
    return {"labeled_marginal": uniform, "unlabeled_marginal": uniform}

  def labeled_logits_and_views(params, batch, key, apply_fn):
    """Z (interpolated or not), the weak and strong logits, and the joint pass's batch stats."""
    *view_keys, dropout_key, separate_key, lambda_key = jax.random.split(key, 6)
    views = fixmatch.views(view_keys, batch, flip, opts)
    (joint, weak_logits, strong_logits), batch_stats = common.forward_views(
        apply_fn, params, views, dropout_key)
    if not opts.logit_interpolation:
      return joint, weak_logits, strong_logits, batch_stats
    separate, _ = apply_fn(params, views[0], True, separate_key)
    return (losses.random_logit_interpolation(lambda_key, joint, separate), weak_logits,
            strong_logits, batch_stats)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    labeled_logits, weak_logits, strong_logits, batch_stats = labeled_logits_and_views(
        params, batch, key, apply_fn)
    labeled_probs = jax.nn.softmax(jax.lax.stop_gradient(labeled_logits))
    state, pseudo_probs = align(extra, labeled_probs,
                                jax.nn.softmax(jax.lax.stop_gradient(weak_logits)),
                                opts.alignment_momentum)
    threshold = losses.relative_confidence_threshold(labeled_probs, opts.threshold)
    per_example, mask = fixmatch.unlabeled_term(pseudo_probs, strong_logits, threshold)
    weight = opts.unlabeled_weight * losses.cosine_rampup(step, opts.warmup_steps)
    loss, metrics = fixmatch.objective(labeled_logits, batch, per_example.mean(), weight,
                                       pseudo_probs, mask)
    metrics.update(confidence_threshold=threshold, unsupervised_weight=weight)
    return loss, {"batch_stats": batch_stats, "metrics": metrics, "state": state}

  def update_extra(extra, params, step, aux):
    """The marginals that aligned this step (they include its batch)."""
    del extra, params, step
    return aux["state"]

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
