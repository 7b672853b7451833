"""CoMatch (Li et al., 2021): memory-smoothed pseudo-labels and graph-contrastive learning.

"CoMatch: Semi-supervised Learning with Contrastive Graph Regularization",
Sec. 3, as in the authors' code and USB. One forward pass of the labeled
weak views alpha(x_b), the unlabeled weak views alpha(u_b) and two strong
views A(u_b), A'(u_b), through a network with a projection head (embeddings
z^w_b, z_b, z'_b, L2-normalized). With p_b the weak view's prediction
aligned to a uniform class marginal (distribution alignment) and a memory
bank {(z_k, q_k)}_{k=1..K} of past embeddings and pseudo-labels:

  q_b   = alpha p_b + (1 - alpha) sum_k softmax_k(z^w_b . z_k / t) q_k     (memory smoothing)
  l_u   = (1/(mu B)) sum_b 1(max q_b >= tau) H(q_b, p_m(y | A(u_b)))
  W^q   = the pseudo-label graph of the q_b (threshold tau_c, self-loops, rows normalized)
  l_c   = (1/(mu B)) sum_b H(W^q_b, softmax_b'(z_b . z'_b' / t))         (graph-contrastive)
  L     = l_s + lambda_u l_u + lambda_c l_c

(`losses.memory_smoothed_pseudo_labels`, `pseudo_label_graph`,
`graph_contrastive_loss`). After each step the bank takes the weak unlabeled
views' (z^w_b, p_b) and the labeled views' (embedding, one-hot label), first
in first out (`memory_bank`), as in the authors' code. Smoothing starts once
the bank is full (USB: after the first epoch, the bank filled); until then
q_b = p_b.

Departures from the paper: the projection head is linear, `embedding_size`
extra outputs of the network's final linear layer
(`config.model.kwargs.extra_logits`), where the paper's is a 2-layer MLP;
both strong views are FixMatch's RandAugment and Cutout (USB), where the
paper's second is a SimCLR-style view; distribution alignment uses an
exponential average of p (momentum alignment_momentum) where the code keeps
a queue of recent batches.

State (`extra`): "bank" (`memory_bank`, float32 [K, C] pseudo-labels as
targets) and "marginal" [C].

Options: threshold (tau), unlabeled_weight (lambda_u), contrastive_weight
(lambda_c), temperature (t), smoothing_alpha (alpha), graph_threshold
(tau_c), bank_size (K), embedding_size (D), alignment_momentum, and
fixmatch.VIEW_OPTIONS.
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base, common, fixmatch, memory_bank, options

OPTIONS = {
    "threshold": options.Number(0.0, 1.0),
    "unlabeled_weight": options.Number(low=0.0),
    "contrastive_weight": options.Number(low=0.0),
    "temperature": options.Number(low=0.0, low_open=True),
    "smoothing_alpha": options.Number(0.0, 1.0),
    "graph_threshold": options.Number(0.0, 1.0),
    "bank_size": options.Number(low=1, integer=True),
    "embedding_size": options.Number(low=1, integer=True),
    "alignment_momentum": options.Number(0.0, 1.0, high_open=True),
    **fixmatch.VIEW_OPTIONS,
}


def unlabeled_terms(probs, weak_embeddings, strong_logits, strong_embeddings,
                    other_strong_embeddings, bank, use_bank, opts):
  """(l_u, l_c, q, mask) of the module docstring; `use_bank` False: q = p."""
  probs = jax.lax.stop_gradient(probs)
  smoothed = losses.memory_smoothed_pseudo_labels(
      probs, jax.lax.stop_gradient(weak_embeddings), bank["embeddings"], bank["targets"],
      opts.smoothing_alpha, opts.temperature)
  pseudo_probs = jnp.where(use_bank, smoothed, probs)
  mask = losses.confidence_mask(pseudo_probs, opts.threshold)
  unsupervised = losses.softmax_cross_entropy(strong_logits, pseudo_probs, where=mask).mean()
  contrastive = losses.graph_contrastive_loss(
      strong_embeddings, other_strong_embeddings,
      losses.pseudo_label_graph(pseudo_probs, opts.graph_threshold), opts.temperature).mean()
  return unsupervised, contrastive, pseudo_probs, mask


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    return {"bank": memory_bank.init(opts.bank_size, opts.embedding_size, (num_classes,),
                                     jnp.float32),
            "marginal": common.uniform_marginal(num_classes)}

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    *view_keys, other_key, dropout_key = jax.random.split(key, 5)
    other_strong = fixmatch.strong_view(other_key, augment.to_float(batch["unlabeled_image"]),
                                        flip, opts.strong_magnitude, opts.cutout_fraction)
    logits, embeddings, batch_stats = common.forward_views_and_embeddings(
        apply_fn, params, [*fixmatch.views(view_keys, batch, flip, opts), other_strong],
        dropout_key, opts.embedding_size)
    labeled_logits, weak_logits, strong_logits, _ = logits
    labeled_embeddings, weak_embeddings, strong_embeddings, other_strong_embeddings = embeddings
    weak_probs = jax.nn.softmax(jax.lax.stop_gradient(weak_logits))
    aligned = losses.distribution_alignment(weak_probs, extra["marginal"])
    unsupervised, contrastive, pseudo_probs, mask = unlabeled_terms(
        aligned, weak_embeddings, strong_logits, strong_embeddings, other_strong_embeddings,
        extra["bank"], memory_bank.is_full(extra["bank"]), opts)
    loss, metrics = fixmatch.objective(labeled_logits, batch, unsupervised, opts.unlabeled_weight,
                                       pseudo_probs, mask)
    metrics["contrastive_loss"] = contrastive
    bank_embeddings = jax.lax.stop_gradient(jnp.concatenate([weak_embeddings,
                                                             labeled_embeddings]))
    bank_targets = jnp.concatenate([aligned, jax.nn.one_hot(batch["label"], num_classes)])
    return loss + opts.contrastive_weight * contrastive, {
        "batch_stats": batch_stats, "metrics": metrics, "weak_probs": weak_probs,
        "bank_embeddings": bank_embeddings, "bank_targets": bank_targets}

  def update_extra(extra, params, step, aux):
    """The step's (embedding, pseudo-label or one-hot label) pairs enter the bank; p~(y) moves."""
    del params, step
    return {"bank": memory_bank.push(extra["bank"], aux["bank_embeddings"], aux["bank_targets"]),
            "marginal": losses.update_marginal(extra["marginal"], aux["weak_probs"],
                                               opts.alignment_momentum)}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
