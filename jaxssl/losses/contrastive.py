"""Embedding memory banks, label propagation and graph-contrastive terms (SimMatch, CoMatch)."""

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import upcast


def l2_normalize(x: jax.typing.ArrayLike, eps: float = 1e-12) -> jax.Array:
  r"""z / max(||z||_2, eps) along the last axis: embeddings on the unit sphere, float32."""
  x = upcast(x)
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), eps)


def ring_buffer_write(buffer: jax.Array, pointer: jax.Array,
                      values: jax.Array) -> tuple[jax.Array, jax.Array]:
  r"""Writes the N rows of `values` into the K-row `buffer` from `pointer` on, wrapping.

  Row n goes to slot (pointer + n) mod K; the new pointer is
  (pointer + N) mod K. A first-in first-out memory bank (He et al., 2020,
  MoCo's queue; CoMatch's memory bank). With N > K only the last K rows are
  kept, each in the slot it would have reached, so no slot is written twice.

  Args:
    buffer: The bank, shape ``[K, ...]``.
    pointer: The next slot to write, an int32 scalar in [0, K).
    values: The new rows, shape ``[N, ...]``.

  Returns:
    (the new bank, the new pointer).
  """
  size, count = buffer.shape[0], values.shape[0]
  skipped = max(count - size, 0)
  slots = (pointer + skipped + jnp.arange(count - skipped)) % size
  buffer = buffer.at[slots].set(values[skipped:].astype(buffer.dtype))
  return buffer, ((pointer + count) % size).astype(pointer.dtype)


def similarity_logits(embeddings: jax.typing.ArrayLike, bank: jax.typing.ArrayLike,
                      temperature: jax.typing.ArrayLike) -> jax.Array:
  r"""z_b . k_j / t: the scaled cosine similarities of embeddings [N, D] to a bank [K, D].

  Both sides are taken as L2-normalized. softmax over j gives the similarity
  distribution q_b of SimMatch (Zheng et al., 2022, Eq. 3) and the
  memory-smoothing weights of CoMatch (Li et al., 2021, Eq. 3).
  """
  return upcast(embeddings) @ upcast(bank).T / temperature


def simmatch_targets(probs: jax.typing.ArrayLike, similarity: jax.typing.ArrayLike,
                     bank_labels: jax.typing.ArrayLike, alpha: jax.typing.ArrayLike):
  r"""SimMatch's label propagation: the calibrated pseudo-label and similarity target.

  .. math::
    \hat q_{bj} = q_{bj}\, p^w_{b, y_j} \Big/ \sum_{j'} q_{bj'}\, p^w_{b, y_{j'}}
    \qquad \text{(unfolding)}

    \hat p_{bc} = \alpha\, p^w_{bc} + (1 - \alpha) \sum_j 1(y_j = c)\, q_{bj}
    \qquad \text{(aggregation)}

  Zheng et al., 2022, "SimMatch: Semi-supervised Learning with Similarity
  Matching", Sec. 3.3 (Eqs. 6 to 8, as in the authors' code and USB):
  p^w_b is the weak view's class prediction, q_b its similarity
  distribution over the labeled bank (`similarity`, rows summing to 1) and
  y_j the label of bank entry j. Bank entries whose class the prediction
  agrees with gain similarity mass; the pseudo-label gains the classes of
  similar labeled examples.

  Args:
    probs: p^w, shape ``[N, C]``.
    similarity: q, shape ``[N, K]``.
    bank_labels: y, int, shape ``[K]``.
    alpha: the weight of the class prediction in \hat p.

  Returns:
    (\hat p [N, C], \hat q [N, K]), float32; callers stop their gradient.
  """
  probs, similarity = upcast(probs), upcast(similarity)
  unfolded = similarity * probs[:, bank_labels]
  unfolded = unfolded / jnp.sum(unfolded, axis=-1, keepdims=True)
  aggregated = similarity @ jax.nn.one_hot(bank_labels, probs.shape[-1], dtype=jnp.float32)
  return alpha * probs + (1.0 - alpha) * aggregated, unfolded


def memory_smoothed_pseudo_labels(probs: jax.typing.ArrayLike, embeddings: jax.typing.ArrayLike,
                                  bank_embeddings: jax.typing.ArrayLike,
                                  bank_probs: jax.typing.ArrayLike, alpha: jax.typing.ArrayLike,
                                  temperature: jax.typing.ArrayLike) -> jax.Array:
  r"""CoMatch's memory-smoothed pseudo-labels.

  .. math::
    a_{bk} = \frac{\exp(z_b \cdot z_k / t)}{\sum_{k'} \exp(z_b \cdot z_{k'} / t)},
    \qquad q_b = \alpha\, p_b + (1 - \alpha) \sum_k a_{bk}\, q_k

  Li et al., 2021, "CoMatch: Semi-supervised Learning with Contrastive Graph
  Regularization", Eq. 3: p_b is the weak view's (aligned) prediction, z_b
  its embedding, and (z_k, q_k) the memory bank's embeddings and
  pseudo-labels.

  Args:
    probs: p, shape ``[N, C]``.
    embeddings: z, L2-normalized, shape ``[N, D]``.
    bank_embeddings: shape ``[K, D]``, L2-normalized.
    bank_probs: shape ``[K, C]``.
    alpha: weight of the current prediction.
    temperature: t.

  Returns:
    q, shape ``[N, C]``, float32.
  """
  weights = jax.nn.softmax(similarity_logits(embeddings, bank_embeddings, temperature), axis=-1)
  return alpha * upcast(probs) + (1.0 - alpha) * weights @ upcast(bank_probs)


def pseudo_label_graph(probs: jax.typing.ArrayLike, threshold: jax.typing.ArrayLike) -> jax.Array:
  r"""CoMatch's pseudo-label graph W^q, row-normalized.

  .. math::
    W^q_{bb'} = \begin{cases} 1 & b = b' \\ q_b \cdot q_{b'} & b \ne b',\ q_b \cdot q_{b'}
    \ge \tau_c \\ 0 & \text{otherwise} \end{cases},
    \qquad \hat W^q_{bb'} = W^q_{bb'} \Big/ \sum_{b''} W^q_{bb''}

  Li et al., 2021, Eq. 5 and Sec. 3.3 (the normalization, as in the
  authors' code): two unlabeled images are linked when their pseudo-labels
  agree with a similarity of at least tau_c, and each to itself.

  Args:
    probs: pseudo-labels q, shape ``[N, C]``.
    threshold: tau_c.

  Returns:
    \hat W^q, shape ``[N, N]``, float32, rows summing to 1.
  """
  probs = upcast(probs)
  graph = probs @ probs.T
  graph = jnp.where(jnp.eye(graph.shape[0], dtype=bool), 1.0, graph)
  graph = jnp.where(graph >= threshold, graph, 0.0)
  return graph / jnp.sum(graph, axis=-1, keepdims=True)


def graph_contrastive_loss(embeddings: jax.typing.ArrayLike,
                           other_embeddings: jax.typing.ArrayLike,
                           target_graph: jax.typing.ArrayLike,
                           temperature: jax.typing.ArrayLike) -> jax.Array:
  r"""CoMatch's graph-contrastive loss, per example.

  .. math::
    \hat W^z_{bb'} = \frac{\exp(z_b \cdot z'_{b'} / t)}{\sum_{b''} \exp(z_b \cdot z'_{b''} / t)},
    \qquad \ell_b = -\sum_{b'} \hat W^q_{bb'} \log \hat W^z_{bb'}

  Li et al., 2021, Eqs. 6 and 7: the embedding graph of two strong views
  z, z' of the unlabeled batch (L2-normalized) is trained toward the
  pseudo-label graph \hat W^q (`pseudo_label_graph`, a constant target).

  Args:
    embeddings: z, shape ``[N, D]``.
    other_embeddings: z', shape ``[N, D]``.
    target_graph: \hat W^q, shape ``[N, N]``.
    temperature: t.

  Returns:
    ell, shape ``[N]``, float32.
  """
  log_graph = jax.nn.log_softmax(similarity_logits(embeddings, other_embeddings, temperature),
                                 axis=-1)
  return -jnp.sum(jax.lax.stop_gradient(upcast(target_graph)) * log_graph, axis=-1)
