"""SoftMatch (Chen et al., 2023): pseudo-labels weighted by a truncated Gaussian of confidence.

"SoftMatch: Addressing the Quantity-Quality Trade-off in Semi-supervised
Learning", Sec. 3. FixMatch's views and forward pass (`fixmatch`); instead of
a hard threshold every pseudo-label is weighted by its confidence:

  p^_t  = m p^_{t-1} + (1 - m) (1/(mu B)) sum_b q_b                     (p^_0 = 1/C)
  q'_b  = Normalize(q_b / p^_t)          (uniform alignment: toward the uniform marginal)
  mu_t  = m mu_{t-1} + (1 - m) mean_b max q'_b                          (mu_0 = 1/C)
  s2_t  = m s2_{t-1} + (1 - m) var_b max q'_b     (unbiased batch variance, s2_0 = 1)
  w(q'_b) = lambda_max exp(-(max q'_b - mu_t)^2 / (2 s2_t / n^2)) if max q'_b < mu_t,
            lambda_max otherwise
  l_u = (1/(mu B)) sum_b w(q'_b) H(argmax q_b, p_m(y | A(u_b)))
  L   = l_s + l_u

As in the authors' code (USB), uniform alignment enters the weights only:
the pseudo-label is the argmax of the unaligned q_b. The averages of step t
include its own batch before they weigh it; `loss_fn` computes them and
`update_extra` stores them. n = 2 is USB's n_sigma; n = 1 is the Gaussian
as the paper prints it (losses.truncated_gaussian_weight).

State (`extra`, checkpointed): "confidence_mean" (mu_t),
"confidence_variance" (s2_t) and, with uniform alignment, "marginal" (p^_t).

Options: unlabeled_weight (lambda_max), ema_momentum (m), num_sigma (n),
uniform_alignment, and fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, fixmatch, options

OPTIONS = {
    "unlabeled_weight": options.Number(low=0.0),
    "ema_momentum": options.Number(0.0, 1.0, high_open=True),
    "num_sigma": options.Number(low=0.0, low_open=True),
    "uniform_alignment": options.Flag(),
    **fixmatch.VIEW_OPTIONS,
}


def weigh(extra, probs: jax.Array, momentum: float, num_sigma: float):
  """The averages of step t and the weights w(q'_b) / lambda_max of its weak predictions q [N, C].

  Aligns q toward the uniform marginal when `extra` keeps one ("marginal").
  Returns (the new state, the weights [N]).
  """
  state, aligned = {}, probs
  if "marginal" in extra:
    state["marginal"] = losses.update_marginal(extra["marginal"], probs, momentum)
    aligned = losses.distribution_alignment(probs, state["marginal"])
  state["confidence_mean"], state["confidence_variance"] = losses.update_confidence_moments(
      extra["confidence_mean"], extra["confidence_variance"], aligned, momentum)
  return state, losses.truncated_gaussian_weight(
      aligned, state["confidence_mean"], state["confidence_variance"], num_sigma)


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    extra = {"confidence_mean": jnp.float32(1.0 / num_classes),
             "confidence_variance": jnp.float32(1.0)}
    if opts.uniform_alignment:
      extra["marginal"] = common.uniform_marginal(num_classes)
    return extra

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    labeled_logits, weak_logits, strong_logits, batch_stats = fixmatch.forward(
        params, batch, key, apply_fn, flip, opts)
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    state, weights = weigh(extra, weak_probs, opts.ema_momentum, opts.num_sigma)
    per_example = weights * losses.softmax_cross_entropy_with_integer_labels(
        strong_logits, losses.hard_pseudo_labels(weak_probs))
    loss, metrics = fixmatch.objective(labeled_logits, batch, per_example.mean(),
                                       opts.unlabeled_weight, weak_probs, weights)
    metrics.update(confidence_mean=state["confidence_mean"],
                   confidence_variance=state["confidence_variance"])
    return loss, {"batch_stats": batch_stats, "metrics": metrics, "state": state}

  def update_extra(extra, params, step, aux):
    """The averages that weighed this step (they include its batch)."""
    del extra, params, step
    return aux["state"]

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
