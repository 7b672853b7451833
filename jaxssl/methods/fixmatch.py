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

Options:
- threshold (tau), unlabeled_weight (lambda_u);
- strong_magnitude: None for FixMatch's RandAugment (every op's magnitude drawn
  at random from its full range) and Cutout, or a fixed fraction of each range
  for a milder strong view, then with Cutout of at most cutout_fraction of the
  side (used on 8x8 digits, see configs/fixmatch.py);
- distribution_alignment: replace q_b by Normalize(q_b / p~(y)) before the
  threshold and the argmax (ReMixMatch's distribution alignment, Berthelot et
  al., 2020, with a uniform target), p~(y) an exponential average of q with
  alignment_momentum, kept in the method state. The "FixMatch + DA" of
  later work (e.g. the reference curves of ShrinkMatch and USB);
- strong_op_probability, cutout_min_fraction: each RandAugment op is applied
  with strong_op_probability, and Cutout's side is drawn from
  [cutout_min_fraction, cutout_fraction] of the image's. 1 and 0 are the
  paper's Table 12 (and USB); 0.5 and 0.5 the FixMatch reference code's
  RandAugment, which keeps each op with probability 0.5 and always cuts out
  half the side;
- strong_geometry: "centred" (rotations and shears about the centre, fractional
  translations, bilinear resampling: smooth views) or "reference" (the
  FixMatch reference code's PIL geometry: shears about the top-left corner,
  whole-pixel translations, nearest-pixel resampling; see
  benchmarks/results/augment_vs_pil.md);
- strong_augment: "randaugment" (the above) or "ctaugment": the strong view's
  2 ops from CTAugment's learned bins (Berthelot et al., 2020; `methods.cta`),
  after the weak flip-and-shift and before Cutout, its weights in the method
  state ("ctaugment") and updated every step from probes of the labeled batch.
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.errors import ConfigError
from jaxssl.methods import base, common, cta, options

# RandAugment's geometric ops: jaxssl's (about the centre, bilinear) or the reference code's.
GEOMETRIES = ("centred", "reference")

# The strong view's options, shared by the methods built on FixMatch's views (`forward`).
VIEW_OPTIONS = {
    "strong_magnitude": options.Number(0.0, 1.0, optional=True),
    "cutout_fraction": options.Number(0.0, 1.0, high_open=True),
}

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    **VIEW_OPTIONS,
    # A default, so the config.json of a run from before CTAugment still loads.
    "strong_augment": options.Choice(cta.STRONG_AUGMENTS, default="randaugment"),
    "strong_op_probability": options.Number(0.0, 1.0, default=1.0),
    "cutout_min_fraction": options.Number(0.0, 1.0, high_open=True, default=0.0),
    "strong_geometry": options.Choice(GEOMETRIES, default="centred"),
    "distribution_alignment": options.Flag(),
    "alignment_momentum": options.Number(0.0, 1.0, high_open=True),
}


def strong_view(key, images, flip, magnitude=None, cutout_fraction=0.5, op_probability=1.0,
                cutout_min_fraction=0.0, geometry="centred"):
  """A(u): weak flip-and-shift, RandAugment, then Cutout.

  RandAugment (Cubuk et al., 2020) draws every op's magnitude from its range
  when `magnitude` is None (FixMatch's, `augment.strong` with the defaults),
  else uses m of every op's range; each op is kept with `op_probability`;
  `geometry` is one of GEOMETRIES (module docstring). Cutout's side (DeVries
  & Taylor, 2017) is a uniform fraction in [cutout_min_fraction,
  cutout_fraction] of the image's.
  """
  weak_key, randaugment_key, cutout_key = jax.random.split(key, 3)
  images = augment.weak(weak_key, images, flip=flip)
  reference = geometry == "reference"
  images = augment.randaugment(
      randaugment_key, images, magnitude=magnitude, op_probability=op_probability,
      policy=augment.REFERENCE_GEOMETRY_POLICY if reference else None, nearest=reference)
  return augment.cutout(cutout_key, images, max_size_fraction=cutout_fraction,
                        min_size_fraction=cutout_min_fraction)


def unlabeled_term(pseudo_probs, strong_logits, threshold):
  """Per-example 1(max q_b >= tau) H(argmax q_b, p_m(y | A(u_b))), and the mask.

  q_b (`pseudo_probs`, from the weak view) carries no gradient; only the
  strong view's prediction is trained.
  """
  pseudo_probs = jax.lax.stop_gradient(pseudo_probs)
  return (losses.confident_pseudo_label_loss(pseudo_probs, strong_logits, threshold),
          losses.confidence_mask(pseudo_probs, threshold))


def views(keys, batch, flip, opts, strong=None):
  """[alpha(x_b), alpha(u_b), A(u_b)] from three keys.

  A is `strong(key, images)` if given (CTAugment's, `cta.strong_view`), else
  built from VIEW_OPTIONS in `opts`.
  """
  labeled_key, weak_key, strong_key = keys
  unlabeled = augment.to_float(batch["unlabeled_image"])
  if strong is None:
    strong_images = strong_view(strong_key, unlabeled, flip, opts.strong_magnitude,
                                opts.cutout_fraction, getattr(opts, "strong_op_probability", 1.0),
                                getattr(opts, "cutout_min_fraction", 0.0),
                                getattr(opts, "strong_geometry", "centred"))
  else:
    strong_images = strong(strong_key, unlabeled)
  return [augment.weak(labeled_key, augment.to_float(batch["image"]), flip=flip),
          augment.weak(weak_key, unlabeled, flip=flip), strong_images]


def forward(params, batch, key, apply_fn, flip, opts, strong=None):
  """Logits of the labeled, weak and strong views from ONE training-mode forward pass.

  alpha(x_b), alpha(u_b) and A(u_b) (`views`, `strong` as there). Returns
  (labeled_logits, weak_logits, strong_logits, new_batch_stats).
  """
  *view_keys, dropout_key = jax.random.split(key, 4)
  (labeled_logits, weak_logits, strong_logits), batch_stats = common.forward_views(
      apply_fn, params, views(view_keys, batch, flip, opts, strong), dropout_key)
  return labeled_logits, weak_logits, strong_logits, batch_stats


def objective(labeled_logits, batch, unsupervised_loss, unlabeled_weight, pseudo_probs, mask,
              supervised_loss=None):
  """L = l_s + lambda_u l_u, and the metrics of FixMatch and the methods built on it.

  `mask` [mu B] is the pseudo-labels' mask (or their weights, for SoftMatch);
  `pseudo_probs` are scored against the held-back labels. `supervised_loss`
  is l_s; None for the mean cross-entropy of the labeled logits (UDA anneals
  it, DeFixMatch adds the strong labeled views).
  """
  if supervised_loss is None:
    supervised_loss = common.labeled_cross_entropy(labeled_logits, batch["label"])
  metrics = {
      "supervised_loss": supervised_loss,
      "unsupervised_loss": unsupervised_loss,
      **common.pseudo_label_metrics(pseudo_probs, mask, batch["unlabeled_label"]),
      "train_accuracy": jnp.mean(jnp.argmax(labeled_logits, -1) == batch["label"]),
  }
  return supervised_loss + unlabeled_weight * unsupervised_loss, metrics


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)
  if opts.cutout_min_fraction > opts.cutout_fraction:
    raise ConfigError(
        f"config.method.cutout_min_fraction={opts.cutout_min_fraction} is above "
        f"cutout_fraction={opts.cutout_fraction}; Cutout's side is drawn between the two: "
        "lower cutout_min_fraction.")

  use_cta = opts.strong_augment == "ctaugment"

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    extra = {}
    if opts.distribution_alignment:
      extra["marginal"] = common.uniform_marginal(num_classes)
    if use_cta:
      extra["ctaugment"] = augment.ctaugment.init_weights()
    return extra

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    strong = None
    if use_cta:
      key, probe_key = jax.random.split(key)
      strong = cta.strong_view(extra["ctaugment"], flip, opts.cutout_fraction)
    labeled_logits, weak_logits, strong_logits, batch_stats = forward(
        params, batch, key, apply_fn, flip, opts, strong)
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    pseudo_probs = weak_probs
    if opts.distribution_alignment:
      pseudo_probs = losses.distribution_alignment(weak_probs, extra["marginal"])
    per_example, mask = unlabeled_term(pseudo_probs, strong_logits, opts.threshold)
    loss, metrics = objective(labeled_logits, batch, per_example.mean(), opts.unlabeled_weight,
                              pseudo_probs, mask)
    aux = {"batch_stats": batch_stats, "metrics": metrics, "weak_probs": weak_probs}
    if use_cta:
      aux = cta.add_probes(aux, params, batch, probe_key, apply_fn, flip)
    return loss, aux

  def update_extra(extra, params, step, aux):
    """p~(y) <- m p~(y) + (1 - m) mean_b q_b when aligning; CTAugment's weights from the probes."""
    del params, step
    extra = dict(extra)
    if opts.distribution_alignment:
      extra["marginal"] = losses.update_marginal(extra["marginal"], aux["weak_probs"],
                                                 opts.alignment_momentum)
    if use_cta:
      extra["ctaugment"] = cta.update(extra["ctaugment"], aux["probes"])
    return extra

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
