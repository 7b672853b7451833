"""Building blocks that several methods share."""

import itertools
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.errors import ConfigError
from jaxssl.methods import options


def forward_views(apply_fn, params, views: Sequence[jax.Array], rng: jax.Array):
  """Runs several batches of images through ONE training-mode forward pass.

  Concatenating the views means batch norm normalizes them with one set of
  statistics (and updates its running averages once), as the FixMatch and
  MixMatch reference code does. Returns the logits of each view and the new
  batch statistics.
  """
  sizes = [v.shape[0] for v in views]
  logits, batch_stats = apply_fn(params, jnp.concatenate(views), True, rng)
  # Python ints: split points must be static under jit.
  return jnp.split(logits, list(itertools.accumulate(sizes[:-1]))), batch_stats


def forward_views_with_extra(apply_fn, params, views: Sequence[jax.Array], rng: jax.Array,
                             extra_size: int, purpose: str):
  """`forward_views` for a network with a second linear head; also its outputs per view.

  The head is `extra_size` extra outputs of the final linear layer
  (`config.model.kwargs.extra_logits`, `models.ExtraLogits`); `purpose` names
  it in the error when the network has no such head. Returns the logits and
  the extra outputs of each view and the new batch statistics.
  """
  sizes = [v.shape[0] for v in views]
  outputs, batch_stats = apply_fn(params, jnp.concatenate(views), True, rng)
  if not isinstance(outputs, tuple) or outputs[1].shape[-1] != extra_size:
    raise ConfigError(f"the {purpose} needs config.model.kwargs.extra_logits={extra_size}.")
  logits, extra = outputs
  splits = list(itertools.accumulate(sizes[:-1]))
  return jnp.split(logits, splits), jnp.split(extra, splits), batch_stats


def forward_views_and_embeddings(apply_fn, params, views: Sequence[jax.Array], rng: jax.Array,
                                 embedding_size: int):
  """`forward_views` for a network with a projection head; also L2-normalized embeddings.

  The head's `embedding_size` outputs (`forward_views_with_extra`) are
  normalized to the unit sphere (SimMatch, CoMatch). Returns the logits and
  embeddings of each view and the new batch statistics.
  """
  logits, embeddings, batch_stats = forward_views_with_extra(
      apply_fn, params, views, rng, embedding_size,
      f"projection head (the method's embedding_size={embedding_size})")
  return logits, [losses.l2_normalize(e) for e in embeddings], batch_stats


def uniform_marginal(num_classes: int) -> jax.Array:
  """1/K for each of the K classes: where the methods' running class marginals start."""
  return jnp.full((num_classes,), 1.0 / num_classes, jnp.float32)


def labeled_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """(1/B) sum_b H(y_b, p(y | x_b)): the supervised term of every method."""
  return losses.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def pseudo_label_accuracy(probs: jax.Array, true_labels: jax.Array,
                          mask: jax.Array | None = None) -> jax.Array:
  """Accuracy of argmax pseudo-labels against held-back labels (diagnostic only).

  With a mask, only the pseudo-labels that pass it are counted. Images
  without a true label (-1, e.g. STL-10's unlabeled split) are not counted.
  """
  correct = (jnp.argmax(probs, -1) == true_labels).astype(jnp.float32)
  counted = (true_labels >= 0).astype(jnp.float32)
  if mask is not None:
    counted = counted * mask
  return (correct * counted).sum() / jnp.maximum(counted.sum(), 1.0)


def first_occurrences(index: jax.Array) -> jax.Array:
  """True at the first position of each distinct value of `index` [N].

  Batches are drawn with replacement; a method that scatters per-example state
  writes only first occurrences, so the result never depends on the order of
  scattered writes (Temporal Ensembling, FlexMatch).
  """
  order = jnp.argsort(index, stable=True)
  sorted_index = index[order]
  first_in_sorted = jnp.concatenate(
      [jnp.ones((1,), bool), sorted_index[1:] != sorted_index[:-1]])
  return jnp.zeros_like(first_in_sorted).at[order].set(first_in_sorted)


RAMPUPS = {"sigmoid": losses.sigmoid_rampup, "linear": losses.linear_rampup}


def rampup_weight(step: jax.Array, max_weight: float, rampup_steps: int,
                  shape: str = "sigmoid") -> jax.Array:
  """w(t) = w_max * ramp(t); `shape` is a key of RAMPUPS.

  "sigmoid": exp(-5 (1 - t)^2) (Laine & Aila, 2017); "linear": t (MixMatch).
  """
  return max_weight * RAMPUPS[shape](step, rampup_steps)


def ramped_consistency(supervised: jax.Array, unsupervised: jax.Array, step: jax.Array,
                       opts, pseudo_probs: jax.Array, true_labels: jax.Array):
  """L = l_s + w(t) l_u with the sigmoid ramp-up w(t) = w_max exp(-5 (1 - t/T)^2), and metrics.

  The objective of the Pi-model, Temporal Ensembling, Mean Teacher and VAT;
  `opts` holds max_weight (w_max) and rampup_steps (T). `pseudo_probs` are
  the predictions on the unlabeled batch, scored against the held-back labels.
  """
  weight = rampup_weight(step, opts.max_weight, opts.rampup_steps)
  return supervised + weight * unsupervised, {
      "supervised_loss": supervised,
      "unsupervised_loss": unsupervised,
      "unsupervised_weight": weight,
      "pseudo_label_accuracy": pseudo_label_accuracy(jax.lax.stop_gradient(pseudo_probs),
                                                     true_labels),
  }


def pseudo_label_metrics(probs: jax.Array, mask: jax.Array,
                         true_labels: jax.Array) -> dict[str, jax.Array]:
  """Diagnostics of thresholded pseudo-labels (Pseudo-Label, FixMatch).

  mask_rate = (1/N) sum_b 1(max q_b >= tau); "pseudo_label_accuracy" counts
  only the pseudo-labels that pass the threshold, "pseudo_label_accuracy_unmasked"
  all of them. The true labels are held back from every loss.
  """
  mask = mask.astype(jnp.float32)
  return {"mask_rate": mask.mean(),
          "pseudo_label_accuracy": pseudo_label_accuracy(probs, true_labels, mask),
          "pseudo_label_accuracy_unmasked": pseudo_label_accuracy(probs, true_labels)}


def noisy_view(key: jax.Array, images: jax.Array, flip: bool, input_noise: float) -> jax.Array:
  """One stochastic input view of the Pi-model, Temporal Ensembling and Mean Teacher.

  uint8 images -> weak flip-and-shift -> additive Gaussian noise N(0, sigma^2),
  sigma = `input_noise` (Laine & Aila, 2017, Sec. 3: translations, flips and
  sigma = 0.15; Tarvainen & Valpola, 2017, App. B). Dropout, the third source
  of noise, comes from the forward pass.
  """
  shift_key, noise_key = jax.random.split(key)
  images = augment.weak(shift_key, augment.to_float(images), flip=flip)
  return augment.gaussian_noise(noise_key, images, input_noise)


def consistency_mse(probs: jax.Array, target_probs: jax.Array,
                    where: jax.Array | None = None) -> jax.Array:
  """(1 / (C |B|)) sum_{i in B} ||z_i - z~_i||^2 (Laine & Aila, 2017, Algorithm 1).

  The squared-error consistency of the Pi-model, Temporal Ensembling and Mean
  Teacher. `where` [B] zeroes the terms of examples without a target; they
  still count in |B|, as in the formula.
  """
  return losses.squared_error(probs, target_probs, where=where).mean() / probs.shape[-1]


# The options the Pi-model, Temporal Ensembling and Mean Teacher share.
CONSISTENCY_OPTIONS = {
    "max_weight": options.Number(low=0.0),                 # w_max
    "rampup_steps": options.Number(low=0, integer=True),   # T of the sigmoid ramp-up; 0: none
    "input_noise": options.Number(low=0.0),                # sigma of the Gaussian input noise
}
