"""Noisy Student: self-training with a noised, equal-or-larger student.

Xie, Luong, Hovy & Le, "Self-training with Noisy Student improves ImageNet
classification", CVPR 2020, Algorithm 1. With f^noised the model under noise,
(x_i, y_i) the n labeled and x~_i the m unlabeled images:

  1. teacher:  theta_t = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
  2. pseudo-labels from the UNnoised teacher: y~_i = f(x~_i, theta_t), soft or hard
  3. student:  theta_s = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
                                + (1/m) sum_i l(y~_i, f^noised(x~_i, theta))
  4. the student becomes the teacher; go back to 2.

This module is the loss of one round; jaxssl.stages runs the rounds. The
noise is input noise, RandAugment with a fixed magnitude (`randaugment_num_ops`,
`randaugment_magnitude`; N = 2, M = 27 of 30 on ImageNet) after
flip-and-shift, plus the model noise that `config.model.dropout_rate` and
`config.model.stochastic_depth_rate` turn on.

Options: randaugment_num_ops, randaugment_magnitude, and pseudo_labeled:
False for the teacher (step 1, the labeled term alone), True for a student,
which then reads the frozen input "unlabeled_targets" [U, K], the teacher's
y~ of every image of its unlabeled set, at `batch["unlabeled_index"]`.
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base, common, options

OPTIONS = {
    "randaugment_num_ops": options.Number(low=0, integer=True),
    "randaugment_magnitude": options.Number(0.0, 1.0),
    "pseudo_labeled": options.Flag(default=False),  # set by jaxssl.stages for the students
}


def noise(key, images_uint8, flip, num_ops, magnitude):
  """Input noise on uint8 images: flip-and-shift, then RandAugment(N, M) unless N = 0."""
  shift_key, randaugment_key = jax.random.split(key)
  images = augment.weak(shift_key, augment.to_float(images_uint8), flip=flip)
  if not num_ops:
    return images
  return augment.randaugment(randaugment_key, images, num_ops=num_ops, magnitude=magnitude)


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  opts = options.read(method_config, OPTIONS)

  def noised(key, images):
    return noise(key, images, flip, opts.randaugment_num_ops, opts.randaugment_magnitude)

  def teacher_loss_fn(params, extra, batch, key, step, apply_fn):
    """(1/n) sum_i l(y_i, f^noised(x_i)): the first teacher's loss."""
    del extra, step
    labeled_key, _, dropout_key = jax.random.split(key, 3)
    logits, batch_stats = apply_fn(params, noised(labeled_key, batch["image"]), True,
                                   dropout_key)
    loss = common.labeled_cross_entropy(logits, batch["label"])
    return loss, {"batch_stats": batch_stats, "metrics": {
        "supervised_loss": loss,
        "train_accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["label"])}}

  def student_loss_fn(params, extra, batch, key, step, apply_fn):
    """(1/n) sum_i l(y_i, f^noised(x_i)) + (1/m) sum_i l(y~_i, f^noised(x~_i)).

    The labeled and unlabeled views go through one forward pass.
    """
    del extra, step
    labeled_key, unlabeled_key, dropout_key = jax.random.split(key, 3)
    targets = batch["unlabeled_targets"][batch["unlabeled_index"]]
    (labeled_logits, unlabeled_logits), batch_stats = common.forward_views(
        apply_fn, params, [noised(labeled_key, batch["image"]),
                           noised(unlabeled_key, batch["unlabeled_image"])], dropout_key)
    labeled_ce, unlabeled_ce = losses.noisy_student_loss(
        labeled_logits, batch["label"], unlabeled_logits, targets)
    supervised_loss, unsupervised_loss = labeled_ce.mean(), unlabeled_ce.mean()
    return supervised_loss + unsupervised_loss, {"batch_stats": batch_stats, "metrics": {
        "supervised_loss": supervised_loss,
        "unsupervised_loss": unsupervised_loss,
        "train_accuracy": jnp.mean(jnp.argmax(labeled_logits, -1) == batch["label"]),
        "pseudo_label_accuracy": common.pseudo_label_accuracy(targets,
                                                              batch["unlabeled_label"]),
    }}

  if opts.pseudo_labeled:
    return base.Method(loss_fn=student_loss_fn, frozen_inputs=("unlabeled_targets",))
  return base.Method(loss_fn=teacher_loss_fn)
