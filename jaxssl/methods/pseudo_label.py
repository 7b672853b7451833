"""Pseudo-Label (Lee, 2013) with a confidence threshold, as in Oliver et al. (2018).

The model labels unlabeled images with its own most probable class and trains
on those labels where it is confident (Lee, 2013, Sec. 3; the threshold is
Oliver et al.'s, 2018):

  l_s   = (1/B) sum_b H(y_b, p(y | alpha(x_b)))
  q_b   = p(y | alpha(u_b)),   y'_b = argmax q_b                 (no gradient)
  l_u   = (1/(mu B)) sum_b 1(max q_b >= tau) H(y'_b, p(y | alpha(u_b)))
  L     = l_s + w(t) l_u,   w(t) = w_max exp(-5 (1 - t / T)^2) for t < T, then w_max

The pseudo-label comes from the same forward pass it is trained on, so only
the prediction p(y | alpha(u_b)) carries gradient; the mean runs over all
unlabeled images, masked ones included (as in Oliver et al.'s code). alpha is
the weak flip-and-shift; labeled and unlabeled images share one forward pass,
so batch norm sees one (global, under jit) batch of both.

Options: threshold (tau), unlabeled_weight (w_max), rampup_steps (T),
rampup_shape ("sigmoid" as in Oliver et al., or "linear").
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base, common, options

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    "rampup_steps": options.Number(low=0, integer=True),
    "rampup_shape": options.Choice(tuple(common.RAMPUPS)),
}


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  opts = options.read(method_config, OPTIONS)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del extra
    labeled_key, unlabeled_key, dropout_key = jax.random.split(key, 3)
    views = [augment.weak(labeled_key, augment.to_float(batch["image"]), flip=flip),
             augment.weak(unlabeled_key, augment.to_float(batch["unlabeled_image"]), flip=flip)]
    (labeled_logits, unlabeled_logits), batch_stats = common.forward_views(
        apply_fn, params, views, dropout_key)

    supervised_loss = common.labeled_cross_entropy(labeled_logits, batch["label"])
    unsupervised_loss = losses.pseudo_label_loss(unlabeled_logits, opts.threshold).mean()
    weight = common.rampup_weight(step, opts.unlabeled_weight, opts.rampup_steps,
                                  opts.rampup_shape)
    loss = supervised_loss + weight * unsupervised_loss

    pseudo_probs = jax.nn.softmax(jax.lax.stop_gradient(unlabeled_logits))
    mask = losses.confidence_mask(pseudo_probs, opts.threshold)
    metrics = {
        "supervised_loss": supervised_loss,
        "unsupervised_loss": unsupervised_loss,
        "unsupervised_weight": weight,
        **common.pseudo_label_metrics(pseudo_probs, mask, batch["unlabeled_label"]),
        "train_accuracy": jnp.mean(jnp.argmax(labeled_logits, -1) == batch["label"]),
    }
    return loss, {"batch_stats": batch_stats, "metrics": metrics}

  return base.Method(loss_fn=loss_fn)
