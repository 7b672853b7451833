"""Memory banks, SimMatch's label propagation and CoMatch's graphs, by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import losses
from jaxssl.methods import memory_bank

INV_LOG3 = 1.0 / math.log(3.0)  # a temperature that turns similarities (1, 0) into odds 3:1


def test_ring_buffer_wraps_and_keeps_the_last_rows():
  buffer, pointer = losses.ring_buffer_write(jnp.zeros(4), jnp.int32(3), jnp.array([1.0, 2.0]))
  np.testing.assert_array_equal(buffer, [2.0, 0.0, 0.0, 1.0])
  assert int(pointer) == 1
  # Five rows into three slots from slot 1: as if written one by one, 3, 4, 5 survive.
  buffer, pointer = losses.ring_buffer_write(jnp.zeros(3), jnp.int32(1),
                                             jnp.array([1.0, 2.0, 3.0, 4.0, 5.0]))
  np.testing.assert_array_equal(buffer, [3.0, 4.0, 5.0])
  assert int(pointer) == 0


def test_memory_bank_push_fills_then_wraps():
  bank = memory_bank.init(3, 2)
  bank = memory_bank.push(bank, jnp.ones((2, 2)), jnp.array([7, 8]))
  assert int(bank["filled"]) == 2 and int(bank["pointer"]) == 2 and not memory_bank.is_full(bank)
  bank = memory_bank.push(bank, 2 * jnp.ones((2, 2)), jnp.array([9, 5]))
  np.testing.assert_array_equal(bank["targets"], [5, 8, 9])
  np.testing.assert_array_equal(bank["embeddings"][:, 0], [2.0, 1.0, 2.0])
  assert int(bank["filled"]) == 3 and int(bank["pointer"]) == 1 and memory_bank.is_full(bank)


def test_simmatch_unfolding_and_aggregation():
  # p^w = (0.6, 0.4); similarities (0.5, 0.25, 0.25) to bank entries of labels (0, 1, 1).
  # Unfolding: (0.5 * 0.6, 0.25 * 0.4, 0.25 * 0.4) / 0.5 = (0.6, 0.2, 0.2).
  # Aggregation: 0.9 (0.6, 0.4) + 0.1 (0.5, 0.5) = (0.59, 0.41).
  pseudo, target = losses.simmatch_targets(jnp.array([[0.6, 0.4]]),
                                           jnp.array([[0.5, 0.25, 0.25]]), jnp.array([0, 1, 1]),
                                           0.9)
  np.testing.assert_allclose(pseudo, [[0.59, 0.41]], rtol=1e-6)
  np.testing.assert_allclose(target, [[0.6, 0.2, 0.2]], rtol=1e-6)


def test_similarity_logits_and_normalization():
  z = losses.l2_normalize(jnp.array([[3.0, 4.0]]))
  np.testing.assert_allclose(z, [[0.6, 0.8]], rtol=1e-6)
  np.testing.assert_allclose(losses.similarity_logits(z, jnp.array([[1.0, 0.0], [0.0, 1.0]]), 0.1),
                             [[6.0, 8.0]], rtol=1e-6)


def test_comatch_memory_smoothing():
  # Weights softmax((1, 0) / t) = (3/4, 1/4) over bank pseudo-labels (1, 0), (0, 1):
  # q = 0.9 (0.5, 0.5) + 0.1 (0.75, 0.25) = (0.525, 0.475).
  smoothed = losses.memory_smoothed_pseudo_labels(
      jnp.array([[0.5, 0.5]]), jnp.array([[1.0, 0.0]]), jnp.eye(2), jnp.eye(2), 0.9, INV_LOG3)
  np.testing.assert_allclose(smoothed, [[0.525, 0.475]], rtol=1e-6)


def test_comatch_pseudo_label_graph():
  # q_0 . q_1 = 0.9 >= 0.8 links 0 and 1; q_1 . q_2 = 0.1 and q_0 . q_2 = 0 don't; self-loops 1.
  graph = losses.pseudo_label_graph(jnp.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), 0.8)
  np.testing.assert_allclose(graph, [[1 / 1.9, 0.9 / 1.9, 0.0], [0.9 / 1.9, 1 / 1.9, 0.0],
                                     [0.0, 0.0, 1.0]], rtol=1e-6)


def test_comatch_graph_contrastive_loss():
  # W^z rows softmax((1, 0) / t) = (3/4, 1/4) and (1/4, 3/4).
  z = jnp.eye(2)
  np.testing.assert_allclose(losses.graph_contrastive_loss(z, z, jnp.eye(2), INV_LOG3),
                             [-math.log(0.75)] * 2, rtol=1e-6)
  uniform = jnp.full((2, 2), 0.5)
  expected = -0.5 * (math.log(0.75) + math.log(0.25))
  np.testing.assert_allclose(losses.graph_contrastive_loss(z, z, uniform, INV_LOG3),
                             [expected] * 2, rtol=1e-6)
  # The target graph is a constant.
  gradient = jax.grad(lambda g: losses.graph_contrastive_loss(z, z, g, INV_LOG3).sum())(uniform)
  np.testing.assert_array_equal(gradient, 0.0)
