"""Supervised-only baseline: cross-entropy on weakly augmented labeled images.

L = (1/B) sum_b H(y_b, p(y | alpha(x_b))), the labeled term shared by every
method, with the same weak augmentation (flip-and-shift) the SSL methods use.
It has no options.
"""

import jax
import jax.numpy as jnp

from jaxssl import augment
from jaxssl.methods import base, common, options

OPTIONS = {}


def labeled_loss(params, batch, key, apply_fn, flip):
  """Weak-augmented labeled cross-entropy; returns (loss, logits, new_batch_stats)."""
  augment_key, dropout_key = jax.random.split(key)
  images = augment.weak(augment_key, augment.to_float(batch["image"]), flip=flip)
  logits, batch_stats = apply_fn(params, images, True, dropout_key)
  return common.labeled_cross_entropy(logits, batch["label"]), logits, batch_stats


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  options.read(method_config, OPTIONS)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del extra, step
    loss, logits, batch_stats = labeled_loss(params, batch, key, apply_fn, flip)
    accuracy = jnp.mean(jnp.argmax(logits, -1) == batch["label"])
    return loss, {"batch_stats": batch_stats,
                  "metrics": {"supervised_loss": loss, "train_accuracy": accuracy}}

  return base.Method(loss_fn=loss_fn)
