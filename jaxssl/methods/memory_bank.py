"""A first-in first-out memory bank of embeddings and their targets (SimMatch, CoMatch).

A dict pytree kept in a method's `extra` (on the device, replicated and
checkpointed with the train state):

  "embeddings" float32 [K, D]   L2-normalized embeddings
  "targets"    [K, ...]         their labels (int32 [K]) or pseudo-labels (float32 [K, C])
  "pointer"    int32 []         the next slot to write
  "filled"     int32 []         slots written so far, at most K

Each step pushes its rows at the pointer, wrapping (`losses.ring_buffer_write`).
Methods read the bank only once it is full: until then its empty slots
(zeros) would pass for entries.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses


def init(size: int, embedding_size: int, target_shape: tuple[int, ...] = (),
         target_dtype=jnp.int32) -> dict[str, jax.Array]:
  """An empty bank of `size` slots."""
  return {"embeddings": jnp.zeros((size, embedding_size), jnp.float32),
          "targets": jnp.zeros((size, *target_shape), target_dtype),
          "pointer": jnp.zeros((), jnp.int32),
          "filled": jnp.zeros((), jnp.int32)}


def push(bank: dict[str, jax.Array], embeddings: jax.Array,
         targets: jax.Array) -> dict[str, jax.Array]:
  """The bank with the N rows of (embeddings, targets) written from its pointer on."""
  size = bank["embeddings"].shape[0]
  new_embeddings, pointer = losses.ring_buffer_write(bank["embeddings"], bank["pointer"],
                                                     embeddings)
  new_targets, _ = losses.ring_buffer_write(bank["targets"], bank["pointer"], targets)
  return {"embeddings": new_embeddings, "targets": new_targets, "pointer": pointer,
          "filled": jnp.minimum(bank["filled"] + embeddings.shape[0], size)}


def is_full(bank: dict[str, jax.Array]) -> jax.Array:
  """Whether every slot holds an entry."""
  return bank["filled"] == bank["embeddings"].shape[0]
