"""Eval-mode predictions, confusion matrices and test accuracy, in padded batches over the mesh.

Used by the train loop (test accuracy of the raw and EMA weights), by Noisy
Student's pseudo-labelling (a teacher's predictions on the unlabeled set) and
by anything else that runs a trained model: it needs only the model's
`apply_fn`, the mesh and a batch size.
"""

from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxssl import compiler
from jaxssl.data import eval_batches
from jaxssl.sharding import batch_sharded, check_divisible


class Predictor:
  """Eval-mode logits of a model, one compiled function for every batch.

  Attributes:
    batch_size: the global eval batch size (a multiple of the device count).
  """

  def __init__(self, apply_fn, mesh: Mesh, batch_size: int):
    """
    Args:
      apply_fn: `(params, batch_stats, x, train, rng) -> (logits, batch_stats)`
        with x float images in [0, 1].
      mesh: the device mesh; batches are split over its "data" axis.
      batch_size: examples per batch; refused (ConfigError) unless it divides
        over the devices.
    """
    check_divisible(batch_size, mesh, "config.eval_batch_size")
    self.batch_size = batch_size
    self._batch_sharding = batch_sharded(mesh)

    def logits(params, batch_stats, images):
      return apply_fn(params, batch_stats, images.astype(jnp.float32) / 255.0, False, None)[0]
    self._logits = jax.jit(logits, out_shardings=NamedSharding(mesh, P()),
                           compiler_options=compiler.jit_options())

  def logits_of_batches(self, params, batch_stats, batches: Iterable) -> np.ndarray:
    """Logits [N, K] of the valid rows of (batch, mask) pairs (`data.eval_batches`)."""
    outputs = []
    for batch, mask in batches:
      images = jax.device_put(batch["image"], self._batch_sharding)
      outputs.append(np.asarray(self._logits(params, batch_stats, images))[mask])
    return np.concatenate(outputs)

  def logits(self, params, batch_stats, images: np.ndarray) -> np.ndarray:
    """Logits [N, K] of uint8 host images [N, H, W, C]."""
    return self.logits_of_batches(
        params, batch_stats,
        eval_batches(images, np.zeros(len(images), np.int32), self.batch_size))

  def confusion_matrix(self, params, batch_stats, batches: Iterable,
                       num_classes: int) -> np.ndarray:
    """Counts [K, K] over (batch, mask) pairs of images and labels: row = true class, column = predicted."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    for batch, mask in batches:
      predicted = self.logits_of_batches(params, batch_stats, [(batch, mask)]).argmax(-1)
      np.add.at(counts, (batch["label"][mask], predicted), 1)
    return counts


def accuracy(confusion: np.ndarray) -> float:
  """Top-1 accuracy of a confusion matrix: its trace over its total."""
  return float(np.trace(confusion) / np.sum(confusion))


def weakest_class(confusion: np.ndarray) -> str:
  """The class with the lowest recall and where its images went, e.g. "3: 12 of 37 right, 20 called 9"."""
  totals = confusion.sum(axis=1)
  recall = np.divide(np.diag(confusion), totals, out=np.ones(len(totals)), where=totals > 0)
  worst = int(np.argmin(recall))
  text = f"{worst}: {confusion[worst, worst]} of {totals[worst]} right"
  mistakes = confusion[worst].copy()
  mistakes[worst] = 0
  if mistakes.any():
    text += f", {mistakes.max()} called {int(np.argmax(mistakes))}"
  return text
