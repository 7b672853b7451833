"""Building blocks that several methods share."""

from typing import Sequence

import jax
import jax.numpy as jnp

from jaxssl import losses


def forward_views(apply_fn, params, views: Sequence[jax.Array], rng: jax.Array):
  """Runs several batches of images through ONE training-mode forward pass.

  Concatenating the views means batch norm normalizes them with one set of
  statistics (and updates its running averages once), as the FixMatch and
  MixMatch reference code does. Returns the logits of each view and the new
  batch statistics.
  """
  sizes = [v.shape[0] for v in views]
  logits, batch_stats = apply_fn(params, jnp.concatenate(views), True, rng)
  splits = jnp.cumsum(jnp.array(sizes[:-1])).tolist() if len(sizes) > 1 else []
  return jnp.split(logits, [int(s) for s in splits]), batch_stats


def labeled_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """(1/B) sum_b H(y_b, p(y | x_b)): the supervised term of every method."""
  return losses.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def pseudo_label_accuracy(probs: jax.Array, true_labels: jax.Array,
                          mask: jax.Array | None = None) -> jax.Array:
  """Accuracy of argmax pseudo-labels against held-back labels (diagnostic only).

  With a mask, only the pseudo-labels that pass it are counted.
  """
  correct = (jnp.argmax(probs, -1) == true_labels).astype(jnp.float32)
  if mask is None:
    return correct.mean()
  return (correct * mask).sum() / jnp.maximum(mask.sum(), 1.0)


def rampup_weight(step: jax.Array, max_weight: float, rampup_steps: int,
                  shape: str = "sigmoid") -> jax.Array:
  """w(t) = w_max * ramp(t); sigmoid exp(-5 (1 - t)^2) or linear (Laine & Aila, 2017)."""
  ramp = losses.sigmoid_rampup if shape == "sigmoid" else losses.linear_rampup
  return max_weight * ramp(step, rampup_steps)
