"""Supervised-only baseline: cross-entropy on weakly augmented labeled images.

L = (1/B) sum_b H(y_b, p(y | alpha(x_b))), the labeled term shared by every
method, with the same weak augmentation (flip-and-shift) the SSL methods use.
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base


def labeled_loss(params, batch, key, apply_fn, cfg):
  """Weak-augmented labeled cross-entropy; returns (loss, logits, new_batch_stats)."""
  augment_key, dropout_key = jax.random.split(key)
  images = augment.weak(augment_key, augment.to_float(batch["image"]), flip=cfg.data.flip)
  logits, batch_stats = apply_fn(params, images, True, dropout_key)
  loss = losses.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
  return loss, logits, batch_stats


def loss_fn(params, extra, batch, key, step, apply_fn, cfg):
  del extra, step
  loss, logits, batch_stats = labeled_loss(params, batch, key, apply_fn, cfg)
  accuracy = jnp.mean(jnp.argmax(logits, -1) == batch["label"])
  return loss, {"batch_stats": batch_stats,
                "metrics": {"supervised_loss": loss, "train_accuracy": accuracy}}


METHOD = base.Method(init_extra=base.no_extra, loss_fn=loss_fn,
                     update_extra=base.keep_extra, eval_params=base.student_params)
