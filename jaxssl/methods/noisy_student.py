"""Noisy Student: self-training with a noised, equal-or-larger student.

Xie, Luong, Hovy & Le, "Self-training with Noisy Student improves ImageNet
classification", CVPR 2020, Algorithm 1. With f^noised the model under noise,
(x_i, y_i) the n labeled and x~_i the m unlabeled images:

  1. teacher:  theta_t = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
  2. pseudo-labels from the UNnoised teacher: y~_i = f(x~_i, theta_t), soft or hard
  3. student:  theta_s = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
                                + (1/m) sum_i l(y~_i, f^noised(x~_i, theta))
  4. the student becomes the teacher; go back to 2.

This module is the loss of one round. The noise is input noise, RandAugment
with a fixed magnitude (`cfg.method.randaugment_num_ops`, `randaugment_magnitude`;
N = 2, M = 27 of 30 on ImageNet) after flip-and-shift, plus the model noise
that `cfg.model.dropout_rate` and `cfg.model.stochastic_depth_rate` turn on.
jaxssl.self_training drives the rounds and puts the teacher's pseudo-label of
every unlabeled example in `batch["unlabeled_target"]`; a batch without them
(the first teacher, step 1) gets the labeled term alone.
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base, common


def noise(key, images_uint8, cfg):
  """Input noise on uint8 images: flip-and-shift, then RandAugment(N, M) unless N = 0."""
  shift_key, randaugment_key = jax.random.split(key)
  images = augment.weak(shift_key, augment.to_float(images_uint8), flip=cfg.data.flip)
  if not cfg.method.randaugment_num_ops:
    return images
  return augment.randaugment(randaugment_key, images, num_ops=cfg.method.randaugment_num_ops,
                             magnitude=cfg.method.randaugment_magnitude)


def loss_fn(params, extra, batch, key, step, apply_fn, cfg):
  """(1/n) sum_i l(y_i, f^noised(x_i)) [+ (1/m) sum_i l(y~_i, f^noised(x~_i))] (Xie et al., 2020).

  The second term needs `batch["unlabeled_target"]` (the teacher's y~); the
  labeled and unlabeled views go through one forward pass.
  """
  del extra, step
  labeled_key, unlabeled_key, dropout_key = jax.random.split(key, 3)
  labeled = noise(labeled_key, batch["image"], cfg)
  if "unlabeled_target" not in batch:
    logits, batch_stats = apply_fn(params, labeled, True, dropout_key)
    loss = common.labeled_cross_entropy(logits, batch["label"])
    return loss, {"batch_stats": batch_stats, "metrics": {
        "supervised_loss": loss,
        "train_accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["label"])}}

  unlabeled = noise(unlabeled_key, batch["unlabeled_image"], cfg)
  (labeled_logits, unlabeled_logits), batch_stats = common.forward_views(
      apply_fn, params, [labeled, unlabeled], dropout_key)
  labeled_ce, unlabeled_ce = losses.noisy_student_loss(
      labeled_logits, batch["label"], unlabeled_logits, batch["unlabeled_target"])
  supervised_loss, unsupervised_loss = labeled_ce.mean(), unlabeled_ce.mean()
  return supervised_loss + unsupervised_loss, {"batch_stats": batch_stats, "metrics": {
      "supervised_loss": supervised_loss,
      "unsupervised_loss": unsupervised_loss,
      "train_accuracy": jnp.mean(jnp.argmax(labeled_logits, -1) == batch["label"]),
      "pseudo_label_accuracy": common.pseudo_label_accuracy(
          batch["unlabeled_target"], batch["unlabeled_label"]),
  }}


METHOD = base.Method(init_extra=base.no_extra, loss_fn=loss_fn,
                     update_extra=base.keep_extra, eval_params=base.student_params)
