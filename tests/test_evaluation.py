"""Confusion matrices and accuracy of the eval path (jaxssl.evaluation), against hand counts."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import evaluation, sharding
from jaxssl.data import eval_batches


def pixel_classifier(num_classes):
  """A model whose predicted class is its image's first pixel value (times 255)."""
  def apply_fn(params, batch_stats, x, train, rng):
    del params, batch_stats, train, rng
    return jax.nn.one_hot(jnp.round(x[:, 0, 0, 0] * 255).astype(jnp.int32), num_classes), {}
  return apply_fn


def test_confusion_matrix_counts_true_rows_and_predicted_columns_over_padded_batches():
  # 7 images over batches of 4 (the last one padded): labels and predictions by hand.
  labels = np.array([0, 0, 1, 1, 1, 2, 2])
  predicted = np.array([0, 1, 1, 1, 2, 2, 0])
  images = np.zeros((7, 2, 2, 1), np.uint8)
  images[:, 0, 0, 0] = predicted
  predictor = evaluation.Predictor(pixel_classifier(3), sharding.make_mesh(1), batch_size=4)
  confusion = predictor.confusion_matrix(None, None, eval_batches(images, labels, 4), 3)
  np.testing.assert_array_equal(confusion, [[1, 1, 0],
                                            [0, 2, 1],
                                            [1, 0, 1]])
  assert evaluation.accuracy(confusion) == 4 / 7


def test_weakest_class_names_the_lowest_recall_and_where_its_images_went():
  confusion = np.array([[9, 1, 0, 0],
                        [0, 10, 0, 0],
                        [0, 0, 3, 0],    # 3 of 3 right
                        [0, 2, 5, 1]])   # 1 of 8 right, 5 called 2
  assert evaluation.weakest_class(confusion) == "3: 1 of 8 right, 5 called 2"
  assert evaluation.weakest_class(np.diag([4, 2])) == "0: 4 of 4 right"
