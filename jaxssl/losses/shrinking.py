"""ShrinkMatch's loss on uncertain pseudo-labels: a shrunk class space where they are certain."""

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import upcast


def shrunk_class_space(probs: jax.typing.ArrayLike, tau: jax.typing.ArrayLike):
  r"""The classes ShrinkMatch keeps for each uncertain prediction, and its weight.

  With q sorted in decreasing order, q_{(1)} >= q_{(2)} >= ... >= q_{(C)},
  the confidence of the top class once the classes ranked 2 .. k-1 are
  removed is

  .. math::
    s_k = q_{(1)} \Big/ \big(q_{(1)} + \textstyle\sum_{j \ge k} q_{(j)}\big),
    \qquad k = 3, \dots, C,

  which grows with k. ShrinkMatch (Yang et al., 2023, "Shrinking Class Space
  for Enhanced Certainty in Semi-Supervised Learning", Sec. 3.2) keeps the
  top class and the classes ranked k* .. C, k* the smallest k with
  s_k >= tau: the largest class space in which the top class is certain.
  The weight of the example is

  .. math::
    w = \mathbb{1}(q_{(1)} < \tau)\; \mathbb{1}(\exists k: s_k \ge \tau)\; q_{(1)}:

  only uncertain predictions are shrunk (certain ones are FixMatch's), one
  whose top class can't reach tau even against the last class alone is
  dropped, and the rest count by their top probability (the first of the
  paper's two re-weighting principles).

  Args:
    probs: Pseudo-label distributions q (no gradient), shape ``[N, C]``.
    tau: Confidence threshold.

  Returns:
    (keep, weight): keep is a boolean mask ``[N, C]`` over the classes in
    their original order (the top class always kept), weight ``[N]`` float32.
  """
  q = upcast(jax.lax.stop_gradient(probs))
  num_classes = q.shape[-1]
  order = jnp.argsort(-q, axis=-1)
  sorted_q = jnp.take_along_axis(q, order, axis=-1)
  top = sorted_q[:, :1]
  tail = jnp.cumsum(sorted_q[:, ::-1], axis=-1)[:, ::-1]  # tail[:, j] = sum_{i >= j} q_(i)
  rank = jnp.arange(num_classes)
  # Ranks j >= 2 (0-based) are candidates for the first kept class after the top one.
  reaches = (top / (top + tail) >= tau) & (rank >= 2)
  found = reaches.any(axis=-1)
  first_kept = jnp.argmax(reaches, axis=-1)
  keep_sorted = (rank == 0) | (rank >= first_kept[:, None])
  # Back to the classes' own order: the class at sorted position j is order[:, j].
  keep = jnp.zeros_like(keep_sorted).at[jnp.arange(q.shape[0])[:, None], order].set(keep_sorted)
  top_prob = top[:, 0]
  weight = jnp.where((top_prob < tau) & found, top_prob, 0.0)
  return keep, weight


def shrunk_class_loss(probs: jax.typing.ArrayLike, logits: jax.typing.ArrayLike,
                      tau: jax.typing.ArrayLike) -> jax.Array:
  r"""ShrinkMatch's per-example loss: cross-entropy to the top class within the shrunk space.

  .. math::
    \ell_b = w_b \Big(\log \sum_{c \in S_b} e^{z_{b,c}} - z_{b,\hat y_b}\Big),
    \qquad \hat y_b = \arg\max_c q_{b,c}

  S_b and w_b from :func:`shrunk_class_space`; z_b are the logits of the
  strong view (in ShrinkMatch, of an auxiliary head). Removed classes get no
  gradient: the loss asks only that the top class beat the classes it is
  not confused with.

  Args:
    probs: Pseudo-label distributions q of the weak views, shape ``[N, C]``.
    logits: Logits z of the strong views, shape ``[N, C]``.
    tau: Confidence threshold.

  Returns:
    Per-example loss, shape ``[N]``, float32 (0 for certain and dropped examples).
  """
  keep, weight = shrunk_class_space(probs, tau)
  z = upcast(logits)
  top_class = jnp.argmax(upcast(jax.lax.stop_gradient(probs)), axis=-1)
  log_partition = jax.nn.logsumexp(jnp.where(keep, z, -jnp.inf), axis=-1)
  top_logit = jnp.take_along_axis(z, top_class[:, None], axis=-1)[:, 0]
  return weight * (log_partition - top_logit)
