"""ReMixMatch (Berthelot et al., 2020): distribution alignment, augmentation anchoring, rotation.

"ReMixMatch: Semi-Supervised Learning with Distribution Alignment and
Augmentation Anchoring", Algorithm 1 and Sec. 3. For a labeled batch
X = ((x_b, p_b); b = 1..B) and an unlabeled batch U = (u_b; b = 1..mu B),
alpha the weak flip-and-shift and A the strong augmentation (CTAugment then
Cutout, `methods.cta`; or FixMatch's RandAugment):

  x^_b     = alpha(x_b);   u^_{b,0} = alpha(u_b) (the anchor);   u^_{b,k} = A(u_b), k = 1..K
  q_b      = Sharpen(Normalize(p_m(y | u^_{b,0}) p(y) / p~(y)), T)          (no gradient)
  X^       = ((x^_b, p_b)),   U^ = ((u^_{b,k}, q_b); k = 0..K)
  X', U'   = MixUp of each row of Concat(X^, U^) with a row of its shuffle,
             l ~ Beta(a, a), l' = max(l, 1 - l)                              (as MixMatch)
  L_X      = (1/|X'|) sum_{(x, p) in X'} H(p, p_m(y | x))
  L_U      = (1/|U'|) sum_{(u, q) in U'} H(q, p_m(y | u))
  L_U1     = (1/(mu B)) sum_b H(q_b, p_m(y | u^_{b,1}))                      (pre-mixup)
  L_R      = (1/(mu B)) sum_b H(r_b, p_rot(r | Rotate(u^_{b,1}, 90 r_b)))    (rotation)
  L        = L_X + lambda_U(t) L_U + lambda_U1(t) L_U1 + lambda_R L_R

Distribution alignment (Sec. 3.2): p~(y) is a running average of the
unaligned predictions p_m(y | u^_{b,0}) (an exponential one with
alignment_momentum, where the paper averages the last 128 batches), kept in
the method state ("marginal"); p(y), the labeled marginal, is uniform: the
labeled splits are class-balanced. lambda_U and lambda_U1 ramp up linearly
over rampup_steps, lambda_R is constant (the reference code). The rotation
r_b cycles through 0, 1, 2, 3 quarter turns over the batch (whose order is
random), as in the reference code; its logits are 4 extra outputs of the
network's final linear layer (`config.model.kwargs.extra_logits = 4`,
`models.ExtraLogits`), a linear head on the classifier's features.

Forward passes, all in training mode: the anchors, the first strong views
and their rotations in one pass whose batch statistics are discarded (the
reference code drops those updates too), then X' and U' in ONE pass whose
statistics are kept (`mixmatch`'s docstring says why no interleaving is
needed); with CTAugment, the probes of the labeled batch in a third,
eval-mode pass (`cta.probe`). L_U1's and L_R's gradients flow through the
first pass.

Options: num_strong (K), temperature (T), mixup_alpha (a), unlabeled_weight
(lambda_U), pre_mixup_weight (lambda_U1), rotation_weight (lambda_R; 0 turns
the rotation loss off and needs no extra logits), rampup_steps,
alignment_momentum, strong_augment ("ctaugment" or "randaugment"), and
fixmatch.VIEW_OPTIONS (RandAugment's magnitude; Cutout for both).
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.errors import ConfigError
from jaxssl.methods import base, common, cta, fixmatch, mixmatch, options

OPTIONS = {
    "num_strong": options.Number(low=1, integer=True),
    "temperature": options.Number(low=0.0, low_open=True),
    "mixup_alpha": options.Number(low=0.0, low_open=True),
    "unlabeled_weight": options.Number(low=0.0),
    "pre_mixup_weight": options.Number(low=0.0),
    "rotation_weight": options.Number(low=0.0),
    "rampup_steps": options.Number(low=0, integer=True),
    "alignment_momentum": options.Number(0.0, 1.0, high_open=True),
    "strong_augment": options.Choice(cta.STRONG_AUGMENTS),
    **fixmatch.VIEW_OPTIONS,
}

NUM_ROTATIONS = 4


def guess_labels(anchor_logits, marginal, temperature):
  """q_b = Sharpen(Normalize(p_m(y | u^_{b,0}) / p~(y)), T): aligned to a uniform p(y); no gradient."""
  probs = jax.nn.softmax(jax.lax.stop_gradient(anchor_logits))
  return losses.sharpen(losses.distribution_alignment(probs, marginal), temperature)


def rotate_quarters(images, turns):
  """Image n of [N, H, W, C] (H = W) turned counter-clockwise by 90 turns[n] degrees."""
  if images.shape[1] != images.shape[2]:
    raise ConfigError(f"ReMixMatch's rotation loss needs square images, not "
                      f"{images.shape[1]}x{images.shape[2]}; set config.method.rotation_weight=0.")
  turned = [jnp.rot90(images, k, axes=(1, 2)) for k in range(NUM_ROTATIONS)]
  return jax.lax.select_n(turns[:, None, None, None] + jnp.zeros(images.shape, jnp.int32), *turned)


def objective(mixed_labeled_logits, labeled_targets, mixed_unlabeled_logits, unlabeled_targets,
              first_strong_logits, guesses, rotation_logits, turns, weights):
  """L = L_X + lambda_U L_U + lambda_U1 L_U1 + lambda_R L_R and its terms (module docstring).

  `weights` = (lambda_U, lambda_U1, lambda_R) at this step; `rotation_logits`
  is None when lambda_R is 0.
  """
  unlabeled_weight, pre_mixup_weight, rotation_weight = weights
  terms = {
      "supervised_loss": losses.softmax_cross_entropy(mixed_labeled_logits,
                                                      labeled_targets).mean(),
      "unsupervised_loss": losses.softmax_cross_entropy(mixed_unlabeled_logits,
                                                        unlabeled_targets).mean(),
      "pre_mixup_loss": losses.softmax_cross_entropy(first_strong_logits, guesses).mean(),
  }
  loss = (terms["supervised_loss"] + unlabeled_weight * terms["unsupervised_loss"]
          + pre_mixup_weight * terms["pre_mixup_loss"])
  if rotation_logits is not None:
    terms["rotation_loss"] = losses.softmax_cross_entropy_with_integer_labels(
        rotation_logits, turns).mean()
    loss = loss + rotation_weight * terms["rotation_loss"]
  return loss, terms


def _forward(apply_fn, params, views, rng):
  """One training-mode pass: the class logits of each view, the extra logits of all, batch stats."""
  outputs, batch_stats = apply_fn(params, jnp.concatenate(views), True, rng)
  logits, extra_logits = outputs if isinstance(outputs, tuple) else (outputs, None)
  sizes = [v.shape[0] for v in views]
  return jnp.split(logits, [sum(sizes[:i]) for i in range(1, len(sizes))]), extra_logits, batch_stats


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)
  use_cta = opts.strong_augment == "ctaugment"
  rotation = opts.rotation_weight > 0

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    extra = {"marginal": common.uniform_marginal(num_classes)}
    if use_cta:
      extra["ctaugment"] = augment.ctaugment.init_weights()
    return extra

  def strong_views(key, extra, unlabeled):
    """[A(u_b)] for k = 1..K, view-major."""
    keys = jax.random.split(key, opts.num_strong)
    if use_cta:
      view = cta.strong_view(extra["ctaugment"], flip, opts.cutout_fraction)
      return [view(k, unlabeled) for k in keys]
    return [fixmatch.strong_view(k, unlabeled, flip, opts.strong_magnitude, opts.cutout_fraction)
            for k in keys]

  def loss_fn(params, extra, batch, key, step, apply_fn):
    (labeled_key, anchor_key, strong_key, mix_key, guess_rng, mixed_rng,
     probe_key) = jax.random.split(key, 7)
    labeled = augment.weak(labeled_key, augment.to_float(batch["image"]), flip=flip)
    unlabeled = augment.to_float(batch["unlabeled_image"])
    anchors = augment.weak(anchor_key, unlabeled, flip=flip)
    strong = strong_views(strong_key, extra, unlabeled)
    num_unlabeled = unlabeled.shape[0]
    turns = jnp.arange(num_unlabeled) % NUM_ROTATIONS

    first_pass = [anchors, strong[0]] + ([rotate_quarters(strong[0], turns)] if rotation else [])
    first_logits, extra_logits, _ = _forward(apply_fn, params, first_pass, guess_rng)
    anchor_logits, first_strong_logits = first_logits[:2]
    rotation_logits = None
    if rotation:
      if extra_logits is None or extra_logits.shape[-1] != NUM_ROTATIONS:
        raise ConfigError("ReMixMatch's rotation loss needs 4 extra logits: set "
                          "config.model.kwargs.extra_logits=4, or config.method.rotation_weight=0.")
      rotation_logits = extra_logits[2 * num_unlabeled:]
    guesses = guess_labels(anchor_logits, extra["marginal"], opts.temperature)

    unlabeled_views = jnp.concatenate([anchors, *strong])  # view-major [(K + 1) mu B, ...]
    mixed_labeled, labeled_targets, mixed_unlabeled, unlabeled_targets = mixmatch.mix(
        mix_key, labeled, jax.nn.one_hot(batch["label"], num_classes), unlabeled_views,
        jnp.tile(guesses, (opts.num_strong + 1, 1)), opts.mixup_alpha)
    (mixed_labeled_logits, mixed_unlabeled_logits), _, batch_stats = _forward(
        apply_fn, params, [mixed_labeled, mixed_unlabeled], mixed_rng)

    weights = (common.rampup_weight(step, opts.unlabeled_weight, opts.rampup_steps, "linear"),
               common.rampup_weight(step, opts.pre_mixup_weight, opts.rampup_steps, "linear"),
               opts.rotation_weight)
    loss, metrics = objective(mixed_labeled_logits, labeled_targets, mixed_unlabeled_logits,
                              unlabeled_targets, first_strong_logits, guesses, rotation_logits,
                              turns, weights)
    metrics["unsupervised_weight"] = weights[0]
    metrics["pseudo_label_accuracy"] = common.pseudo_label_accuracy(guesses,
                                                                    batch["unlabeled_label"])
    aux = {"batch_stats": batch_stats, "metrics": metrics,
           "anchor_probs": jax.nn.softmax(jax.lax.stop_gradient(anchor_logits))}
    if use_cta:
      aux = cta.add_probes(aux, params, batch, probe_key, apply_fn, flip)
    return loss, aux

  def update_extra(extra, params, step, aux):
    """p~(y) <- m p~(y) + (1 - m) mean_b p_m(y | u^_{b,0}); CTAugment's weights from the probes."""
    del params, step
    extra = {**extra, "marginal": losses.update_marginal(extra["marginal"], aux["anchor_probs"],
                                                         opts.alignment_momentum)}
    if use_cta:
      extra["ctaugment"] = cta.update(extra["ctaugment"], aux["probes"])
    return extra

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
