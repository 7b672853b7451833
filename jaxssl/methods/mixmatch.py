"""MixMatch (Berthelot et al., 2019), Algorithm 1.

For a labeled batch X = ((x_b, p_b); b = 1..B) and an unlabeled batch
U = (u_b; b = 1..mu B), with alpha the weak flip-and-shift:

  x^_b     = alpha(x_b);   u^_{b,k} = alpha(u_b), k = 1..K
  q_b      = Sharpen((1/K) sum_k p_model(y | u^_{b,k}), T),
             Sharpen(p, T)_i = p_i^(1/T) / sum_j p_j^(1/T)         (no gradient)
  X^       = ((x^_b, p_b)),   U^ = ((u^_{b,k}, q_b))               |U^| = K mu B
  W        = Shuffle(Concat(X^, U^))
  X'       = (MixUp(X^_i, W_i); i = 1..|X^|)
  U'       = (MixUp(U^_i, W_{i + |X^|}); i = 1..|U^|)
  MixUp((x1, p1), (x2, p2)) = (l' x1 + (1 - l') x2, l' p1 + (1 - l') p2),
             l ~ Beta(a, a) per pair, l' = max(l, 1 - l)
  L_X      = (1/|X'|) sum_{(x, p) in X'} H(p, p_model(y | x))
  L_U      = (1/(L |U'|)) sum_{(u, q) in U'} ||q - p_model(y | u)||_2^2   (L classes)
  L        = L_X + lambda_U(t) L_U,  lambda_U ramped up linearly over the first steps

(Berthelot et al., 2019, Eqs. 2-11.) The paper uses K = 2, T = 0.5, a = 0.75,
an unlabeled batch as large as the labeled one (mu = 1), and lambda_U = 75 on
CIFAR-10 reached after 16,384 steps (1,024 kimg at B = 64 in the reference code).

Batch norm: the reference code (one GPU, separate forward calls of B images)
interleaves labeled and unlabeled rows between X' and the chunks of U' so
that each call, and in particular the first one, whose statistics update the
running averages, sees a representative mix. Here X' and U' go through ONE
training-mode forward pass (`common.forward_views`); its batch statistics
already cover the whole mixed batch (and, under `jax.jit` over a sharded
batch, the global batch across devices), so no interleaving is needed, and
the running averages are updated once from that pass. The label-guessing pass
runs in training mode too, as in the reference code, and its batch statistics
are discarded.

Options: num_augmentations (K), temperature (T), mixup_alpha (a),
unlabeled_weight (lambda_U), rampup_steps (of the linear ramp-up).
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base, common, options

OPTIONS = {
    "num_augmentations": options.Number(low=1, integer=True),
    "temperature": options.Number(low=0.0, low_open=True),
    "mixup_alpha": options.Number(low=0.0, low_open=True),
    "unlabeled_weight": options.Number(low=0.0),
    "rampup_steps": options.Number(low=0, integer=True),
}


def guess_labels(unlabeled_logits: jax.Array, temperature: float) -> jax.Array:
  """q_b = Sharpen((1/K) sum_k softmax(logits_{k,b}), T) from logits [K, N, C]; no gradient."""
  mean_probs = jax.nn.softmax(unlabeled_logits, axis=-1).mean(axis=0)
  return jax.lax.stop_gradient(losses.sharpen(mean_probs, temperature))


def mix(key, labeled_images, labeled_probs, unlabeled_images, unlabeled_probs, alpha):
  """X' and U' of Algorithm 1: each row of Concat(X^, U^) mixed with Shuffle(Concat(X^, U^)).

  Returns (X' images [B, ...], X' targets [B, C], U' images [K mu B, ...],
  U' targets [K mu B, C]); every row gets its own l' = max(l, 1 - l) >= 1/2, so
  each mixed example stays closer to its own X^ or U^ row than to its partner.
  """
  mixed_images, mixed_probs = losses.mixup_shuffled(
      key, jnp.concatenate([labeled_images, unlabeled_images]),
      jnp.concatenate([labeled_probs, unlabeled_probs]), alpha, mixmatch=True)
  num_labeled = labeled_images.shape[0]
  return (mixed_images[:num_labeled], mixed_probs[:num_labeled],
          mixed_images[num_labeled:], mixed_probs[num_labeled:])


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)
  num_views = opts.num_augmentations

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del extra
    labeled_key, unlabeled_key, guess_key, mix_key, dropout_key = jax.random.split(key, 5)
    labeled = augment.weak(labeled_key, augment.to_float(batch["image"]), flip=flip)
    unlabeled = augment.to_float(batch["unlabeled_image"])
    unlabeled_views = jnp.concatenate([
        augment.weak(view_key, unlabeled, flip=flip)
        for view_key in jax.random.split(unlabeled_key, num_views)])  # view-major [K mu B, ...]

    guess_logits, _ = apply_fn(params, unlabeled_views, True, guess_key)
    guesses = guess_labels(guess_logits.reshape(num_views, unlabeled.shape[0], -1),
                           opts.temperature)
    labeled_probs = jax.nn.one_hot(batch["label"], num_classes)
    mixed_labeled, labeled_targets, mixed_unlabeled, unlabeled_targets = mix(
        mix_key, labeled, labeled_probs, unlabeled_views, jnp.tile(guesses, (num_views, 1)),
        opts.mixup_alpha)

    (labeled_logits, unlabeled_logits), batch_stats = common.forward_views(
        apply_fn, params, [mixed_labeled, mixed_unlabeled], dropout_key)
    supervised_loss = losses.softmax_cross_entropy(labeled_logits, labeled_targets).mean()
    unsupervised_loss = common.consistency_mse(jax.nn.softmax(unlabeled_logits),
                                               unlabeled_targets)
    weight = common.rampup_weight(step, opts.unlabeled_weight, opts.rampup_steps, "linear")
    loss = supervised_loss + weight * unsupervised_loss
    metrics = {
        "supervised_loss": supervised_loss,
        "unsupervised_loss": unsupervised_loss,
        "unsupervised_weight": weight,
        "pseudo_label_accuracy": common.pseudo_label_accuracy(guesses,
                                                              batch["unlabeled_label"]),
    }
    return loss, {"batch_stats": batch_stats, "metrics": metrics}

  return base.Method(loss_fn=loss_fn)
