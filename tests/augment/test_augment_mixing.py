"""MixUp and CutMix: label weights sum to 1 and equal the image mixing weights."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import augment, losses

MIXES = {"mixup": jax.jit(losses.mixup_shuffled), "cutmix": jax.jit(augment.cutmix_batch)}


def _constant_images_and_one_hot_labels(num_examples, size, channels):
  """Example i is the constant image levels[i], label one-hot i."""
  levels = jnp.linspace(0.1, 0.9, num_examples)
  images = jnp.broadcast_to(levels[:, None, None, None], (num_examples, size, size, channels))
  return levels, images, jnp.eye(num_examples)


@pytest.mark.parametrize("mix", MIXES)
def test_label_weights_match_image_weights(mix):
  levels, images, labels = _constant_images_and_one_hot_labels(16, 8, 3)
  mixed, mixed_labels = MIXES[mix](jax.random.key(0), images, labels, 1.0)
  assert mixed.shape == images.shape and mixed_labels.shape == labels.shape
  np.testing.assert_allclose(mixed_labels.sum(axis=1), 1.0, atol=1e-6)
  # Each mixed image is a weighted mixture of the constants, so its mean is
  # the label-weighted mean of the levels: MixUp per pixel, CutMix by area.
  np.testing.assert_allclose(mixed.mean(axis=(1, 2, 3)), mixed_labels @ levels, atol=1e-5)
  assert (mixed_labels.max(axis=1) < 1).any(), "some examples are mixed"


def test_cutmix_pastes_pixels_unchanged():
  levels, images, labels = _constant_images_and_one_hot_labels(16, 8, 3)
  mixed, mixed_labels = MIXES["cutmix"](jax.random.key(1), images, labels, 1.0)
  for image, weights in zip(np.asarray(mixed), np.asarray(mixed_labels)):
    np.testing.assert_allclose(np.unique(image), np.asarray(levels)[weights > 0], atol=1e-6)
