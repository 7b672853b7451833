"""UDA (Xie et al., 2020): consistency to sharpened, confidence-masked weak-view predictions.

"Unsupervised Data Augmentation for Consistency Training", Secs. 3.2-3.3.
FixMatch's views and forward pass (`fixmatch`), with a soft target in place
of the hard pseudo-label and training-signal annealing of the labeled loss:

  eta_t = alpha_t (1 - 1/K) + 1/K,  alpha_t = 1 - exp(-5 t/T) (log), t/T (linear),
                                              exp(5 (t/T - 1)) (exp), or eta_t = 1 (none)
  l_s = (1/Z) sum_b 1(p_m(y_b | alpha(x_b)) <= eta_t) H(y_b, p_m(y | alpha(x_b))),
        Z = max(1, sum_b 1(p_m(y_b | alpha(x_b)) <= eta_t))
  q_b = p_m(y | alpha(u_b)),  q^T_b = softmax(z_b / T)                 (no gradient)
  l_u = (1/(mu B)) sum_b 1(max q_b >= beta) H(q^T_b, p_m(y | A(u_b)))
  L   = l_s + lambda_u l_u

K classes, T training steps (tsa_steps). The paper's strong view is
RandAugment, FixMatch's here (fixmatch.VIEW_OPTIONS). The division by Z is
the authors' code's; USB averages the masked loss over all B. The paper
drops an example whose correct-class probability exceeds eta_t; USB tests
the largest probability instead, which drops a confidently wrong example
too. Cross-entropy in l_u where the paper writes KL: the same gradient.

Options: temperature (T), threshold (beta), unlabeled_weight (lambda_u),
tsa (one of losses.TSA_SCHEDULES), tsa_steps (T), and fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, fixmatch, options

OPTIONS = {
    "temperature": options.Number(low=0.0, low_open=True),
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    "tsa": options.Choice(losses.TSA_SCHEDULES),
    "tsa_steps": options.Number(low=1, integer=True),
    **fixmatch.VIEW_OPTIONS,
}


def annealed_cross_entropy(labeled_logits, labels, eta):
  """l_s with training-signal annealing at eta_t, and the fraction of examples it keeps."""
  keep = losses.tsa_mask(labeled_logits, labels, eta)
  per_example = losses.softmax_cross_entropy_with_integer_labels(labeled_logits, labels,
                                                                 where=keep)
  return per_example.sum() / jnp.maximum(keep.sum(), 1.0), keep.mean()


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del extra
    labeled_logits, weak_logits, strong_logits, batch_stats = fixmatch.forward(
        params, batch, key, apply_fn, flip, opts)
    eta = losses.tsa_threshold(step, opts.tsa_steps, num_classes, opts.tsa)
    supervised_loss, kept = annealed_cross_entropy(labeled_logits, batch["label"], eta)
    per_example = losses.uda_unlabeled_loss(weak_logits, strong_logits, opts.temperature,
                                            opts.threshold)
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    loss, metrics = fixmatch.objective(
        labeled_logits, batch, per_example.mean(), opts.unlabeled_weight, weak_probs,
        losses.confidence_mask(weak_probs, opts.threshold), supervised_loss=supervised_loss)
    metrics.update(tsa_threshold=eta, tsa_kept_rate=kept)
    return loss, {"batch_stats": batch_stats, "metrics": metrics}

  return base.Method(loss_fn=loss_fn)
