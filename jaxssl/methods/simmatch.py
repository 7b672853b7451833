"""SimMatch (Zheng et al., 2022): FixMatch with similarity matching to a labeled memory bank.

"SimMatch: Semi-supervised Learning with Similarity Matching", Sec. 3, as in
the authors' code and USB. FixMatch's views and one forward pass
(`fixmatch.views`), with embeddings z from a projection head. For a weak
unlabeled view u_b, p^w_b is its class prediction, aligned to a uniform
class marginal (distribution alignment, as USB), and over the labeled bank
{(k_j, y_j)}_{j=1..K}:

  q_b     = softmax_j(z^w_b . k_j / t)                        (weak view, no gradient)
  p^_b, q^_b = label propagation of (p^w_b, q_b)              (`losses.simmatch_targets`)
  l_u     = (1/(mu B)) sum_b 1(max p^_b >= tau) H(p^_b, p_m(y | A(u_b)))
  l_in    = (1/(mu B)) sum_b H(q^_b, softmax_j(z^s_b . k_j / t))  (strong view z^s_b)
  L       = l_s + lambda_u l_u + lambda_in l_in

with p^_b = alpha p^w_b + (1 - alpha) sum_j 1(y_j = c) q_bj (aggregation)
and q^_bj proportional to q_bj p^w_{b,y_j} (unfolding). After each step the
weak labeled views' embeddings and labels enter the bank.

Departures from the paper:
- The bank is first-in first-out (`memory_bank`): the last K labeled weak
  views, not one slot per labeled example updated by index (with an EMA of
  0.7 on CIFAR/SVHN in USB), since a batch carries no labeled indices here.
  With K the labeled set's size, a bank holds about every labeled example.
- Until the bank is full, p^ = p^w and l_in = 0 (USB: during the first epoch).
- The projection head is linear: `embedding_size` extra outputs of the
  network's final linear layer (`config.model.kwargs.extra_logits`), where the
  paper uses a 2-layer MLP on the pooled features.
- The weak views go through the trained network (with no gradient), as in
  USB on CIFAR and SVHN; the paper's ImageNet runs use an EMA teacher.
- Distribution alignment uses an exponential average of p^w (momentum
  alignment_momentum) where USB keeps a queue of recent batches.

State (`extra`): "bank" (`memory_bank`, int32 labels as targets) and
"marginal" [C].

Options: threshold (tau), unlabeled_weight (lambda_u), in_weight (lambda_in),
temperature (t), smoothing_alpha (alpha), bank_size (K), embedding_size (D),
alignment_momentum, and fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, fixmatch, memory_bank, options

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    "in_weight": options.Number(low=0.0),
    "temperature": options.Number(low=0.0, low_open=True),
    "smoothing_alpha": options.Number(0.0, 1.0),
    "bank_size": options.Number(low=1, integer=True),
    "embedding_size": options.Number(low=1, integer=True),
    "alignment_momentum": options.Number(0.0, 1.0, high_open=True),
    **fixmatch.VIEW_OPTIONS,
}


def unlabeled_terms(weak_probs, weak_embeddings, strong_logits, strong_embeddings, bank,
                    use_bank, opts):
  """(l_u, l_in, p^, mask) of the module docstring; `use_bank` False: p^ = p^w and l_in = 0."""
  weak_probs = jax.lax.stop_gradient(weak_probs)
  similarity = jax.nn.softmax(losses.similarity_logits(
      jax.lax.stop_gradient(weak_embeddings), bank["embeddings"], opts.temperature))
  calibrated, similarity_target = losses.simmatch_targets(
      weak_probs, similarity, bank["targets"], opts.smoothing_alpha)
  pseudo_probs = jnp.where(use_bank, calibrated, weak_probs)
  mask = losses.confidence_mask(pseudo_probs, opts.threshold)
  unsupervised = losses.softmax_cross_entropy(strong_logits, pseudo_probs, where=mask).mean()
  in_loss = losses.softmax_cross_entropy(
      losses.similarity_logits(strong_embeddings, bank["embeddings"], opts.temperature),
      jax.lax.stop_gradient(similarity_target)).mean()
  return unsupervised, jnp.where(use_bank, in_loss, 0.0), pseudo_probs, mask


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    return {"bank": memory_bank.init(opts.bank_size, opts.embedding_size),
            "marginal": common.uniform_marginal(num_classes)}

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    *view_keys, dropout_key = jax.random.split(key, 4)
    logits, embeddings, batch_stats = common.forward_views_and_embeddings(
        apply_fn, params, fixmatch.views(view_keys, batch, flip, opts), dropout_key,
        opts.embedding_size)
    labeled_logits, weak_logits, strong_logits = logits
    labeled_embeddings, weak_embeddings, strong_embeddings = embeddings
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    aligned = losses.distribution_alignment(weak_probs, extra["marginal"])
    use_bank = memory_bank.is_full(extra["bank"])
    unsupervised, in_loss, pseudo_probs, mask = unlabeled_terms(
        aligned, weak_embeddings, strong_logits, strong_embeddings, extra["bank"], use_bank, opts)
    loss, metrics = fixmatch.objective(labeled_logits, batch, unsupervised, opts.unlabeled_weight,
                                       pseudo_probs, mask)
    metrics["in_loss"] = in_loss
    return loss + opts.in_weight * in_loss, {
        "batch_stats": batch_stats, "metrics": metrics, "weak_probs": weak_probs,
        "labeled_embeddings": jax.lax.stop_gradient(labeled_embeddings), "labels": batch["label"]}

  def update_extra(extra, params, step, aux):
    """The weak labeled views' embeddings and labels enter the bank; p~(y) moves toward p^w."""
    del params, step
    return {"bank": memory_bank.push(extra["bank"], aux["labeled_embeddings"], aux["labels"]),
            "marginal": losses.update_marginal(extra["marginal"], aux["weak_probs"],
                                               opts.alignment_momentum)}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
