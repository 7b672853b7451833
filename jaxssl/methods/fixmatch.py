"""FixMatch (Sohn et al., 2020): pseudo-labels from weak views, trained on strong views.

For a labeled batch {(x_b, p_b)}_{b=1..B} and an unlabeled batch
{u_b}_{b=1..mu B} (Sohn et al., 2020, Sec. 2.2):

  l_s = (1/B) sum_b H(p_b, p_m(y | alpha(x_b)))
  q_b = p_m(y | alpha(u_b)),   q^_b = argmax(q_b)                (no gradient)
  l_u = (1/(mu B)) sum_b 1(max(q_b) >= tau) H(q^_b, p_m(y | A(u_b)))
  L   = l_s + lambda_u l_u

alpha is the weak augmentation (flip-and-shift) and A the strong one
(RandAugment + Cutout). The mean in l_u runs over all mu B unlabeled images,
masked ones included, as in the paper's Eq. 4. The labeled, weak and strong
views go through ONE training-mode forward pass (`common.forward_views`), as in
the reference code, so batch norm normalizes all (1 + 2 mu) B images with one
set of statistics; under `jax.jit` over a sharded batch these are the
statistics of the global batch.

Config (`cfg.method`): threshold (tau), unlabeled_weight (lambda_u), and
strong_magnitude: None for FixMatch's RandAugment (every op's magnitude drawn
at random from its full range) and Cutout, or a fixed fraction of each range
for a milder strong view, then with Cutout of at most cutout_fraction of the
side (used on 8x8 digits, see configs/fixmatch.py).
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base, common


def strong_view(key, images, cfg):
  """A(u): the strong augmentation, FixMatch's unless `cfg.method.strong_magnitude` is set.

  With a magnitude m, the view is weak flip-and-shift, RandAugment with every
  op at m of its range (Cubuk et al., 2020), then Cutout of at most
  `cfg.method.cutout_fraction` of the side (DeVries & Taylor, 2017).
  """
  if cfg.method.strong_magnitude is None:
    return augment.strong(key, images, flip=cfg.data.flip)
  weak_key, randaugment_key, cutout_key = jax.random.split(key, 3)
  images = augment.weak(weak_key, images, flip=cfg.data.flip)
  images = augment.randaugment(randaugment_key, images,
                               magnitude=cfg.method.strong_magnitude)
  return augment.cutout(cutout_key, images, max_size_fraction=cfg.method.cutout_fraction)


def unlabeled_term(weak_logits, strong_logits, threshold):
  """Per-example 1(max q_b >= tau) H(argmax q_b, p_m(y | A(u_b))), and the mask.

  q_b = softmax(stop_gradient(weak_logits)): the pseudo-label and its mask
  carry no gradient; only the strong view's prediction is trained.
  """
  pseudo_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
  mask = losses.confidence_mask(pseudo_probs, threshold)
  return losses.fixmatch_unlabeled_loss(weak_logits, strong_logits, threshold), mask, pseudo_probs


def loss_fn(params, extra, batch, key, step, apply_fn, cfg):
  del extra, step
  labeled_key, weak_key, strong_key, dropout_key = jax.random.split(key, 4)
  unlabeled = augment.to_float(batch["unlabeled_image"])
  views = [augment.weak(labeled_key, augment.to_float(batch["image"]), flip=cfg.data.flip),
           augment.weak(weak_key, unlabeled, flip=cfg.data.flip),
           strong_view(strong_key, unlabeled, cfg)]
  (labeled_logits, weak_logits, strong_logits), batch_stats = common.forward_views(
      apply_fn, params, views, dropout_key)

  supervised_loss = common.labeled_cross_entropy(labeled_logits, batch["label"])
  per_example, mask, pseudo_probs = unlabeled_term(weak_logits, strong_logits,
                                                   cfg.method.threshold)
  unsupervised_loss = per_example.mean()
  loss = supervised_loss + cfg.method.unlabeled_weight * unsupervised_loss
  metrics = {
      "supervised_loss": supervised_loss,
      "unsupervised_loss": unsupervised_loss,
      **common.pseudo_label_metrics(pseudo_probs, mask, batch["unlabeled_label"]),
      "train_accuracy": jnp.mean(jnp.argmax(labeled_logits, -1) == batch["label"]),
  }
  return loss, {"batch_stats": batch_stats, "metrics": metrics}


METHOD = base.Method(init_extra=base.no_extra, loss_fn=loss_fn,
                     update_extra=base.keep_extra, eval_params=base.student_params)
