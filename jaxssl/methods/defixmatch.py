"""DeFixMatch (Schmutz et al., 2023): FixMatch with its pseudo-label term debiased.

"Don't fear the unlabelled: safe semi-supervised learning via debiasing",
Secs. 3 and 5. FixMatch's views (`fixmatch.views`) plus a strong view of
each labeled image, all four in ONE training-mode forward pass; the labeled
images also play unlabeled ones, and their pseudo-label loss is subtracted:

  l_s = (1/2) (1/B) sum_b [H(y_b, p_m(y | alpha(x_b))) + H(y_b, p_m(y | A(x_b)))]
  l_u(v) = 1(max q_v >= tau) H(argmax q_v, p_m(y | A(v))),  q_v = p_m(y | alpha(v))  (no gradient)
  L   = l_s + lambda_u [(1/(mu B)) sum_b l_u(u_b) - (1/B) sum_b l_u(x_b)]

With labeled and unlabeled images from one distribution the bracket has
expectation 0, so L is an unbiased estimate of the supervised risk however
wrong the pseudo-labels are (the paper's safeness argument). The labeled
loss on both views and lambda_u = 1/2 are the authors' code's (and USB's).

Options: threshold (tau), unlabeled_weight (lambda_u), and fixmatch.VIEW_OPTIONS.
"""

import jax

from jaxssl import augment, losses
from jaxssl.methods import base, common, fixmatch, options

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    **fixmatch.VIEW_OPTIONS,
}


def forward(params, batch, key, apply_fn, flip, opts):
  """Logits of alpha(x), alpha(u), A(u) and A(x) from ONE pass, and the new batch stats."""
  *view_keys, labeled_strong_key, dropout_key = jax.random.split(key, 5)
  labeled_strong = fixmatch.strong_view(labeled_strong_key, augment.to_float(batch["image"]),
                                        flip, opts.strong_magnitude, opts.cutout_fraction)
  return common.forward_views(
      apply_fn, params, fixmatch.views(view_keys, batch, flip, opts) + [labeled_strong],
      dropout_key)


def objective(labeled_logits, weak_logits, strong_logits, labeled_strong_logits, batch, opts):
  """L from the logits of alpha(x), alpha(u), A(u) and A(x); returns (L, metrics)."""
  supervised_loss = 0.5 * (common.labeled_cross_entropy(labeled_logits, batch["label"])
                           + common.labeled_cross_entropy(labeled_strong_logits, batch["label"]))
  debiased = losses.debiased_pseudo_label_loss(weak_logits, strong_logits, labeled_logits,
                                               labeled_strong_logits, opts.threshold)
  weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
  loss, metrics = fixmatch.objective(
      labeled_logits, batch, debiased, opts.unlabeled_weight, weak_probs,
      losses.confidence_mask(weak_probs, opts.threshold), supervised_loss=supervised_loss)
  metrics["labeled_mask_rate"] = losses.confidence_mask(
      jax.nn.softmax(jax.lax.stop_gradient(labeled_logits)), opts.threshold).mean()
  return loss, metrics


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  opts = options.read(method_config, OPTIONS)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del extra, step
    logits, batch_stats = forward(params, batch, key, apply_fn, flip, opts)
    loss, metrics = objective(*logits, batch, opts)
    return loss, {"batch_stats": batch_stats, "metrics": metrics}

  return base.Method(loss_fn=loss_fn)
