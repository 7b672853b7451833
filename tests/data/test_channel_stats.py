"""channel_stats: the models' input normalization, from each channel's histogram."""

import numpy as np
import pytest

from jaxssl.data import channel_stats


def test_hand_computed_values():
  # Channel 0: half 0, half 255 -> mean 0.5, std 0.5. Channel 1: all 51 -> mean 0.2, std 0
  # (floored at 1e-3). Channel 2: 0, 0, 0, 255 -> mean 0.25, std sqrt(0.25 * 0.75).
  images = np.zeros((2, 1, 2, 3), np.uint8)
  images[0, 0, :, 0] = 255
  images[..., 1] = 51
  images[1, 0, 1, 2] = 255
  mean, std = channel_stats(images)
  np.testing.assert_allclose(mean, [0.5, 0.2, 0.25], rtol=1e-7)
  np.testing.assert_allclose(std, [0.5, 1e-3, np.sqrt(0.25 * 0.75)], rtol=1e-7)
  assert mean.dtype == std.dtype == np.float32


def test_equals_the_float64_moments_of_random_images():
  images = np.random.default_rng(0).integers(0, 256, (50, 6, 5, 3), dtype=np.uint8)
  flat = images.reshape(-1, 3) / 255.0
  mean, std = channel_stats(images)
  np.testing.assert_array_equal(mean, flat.mean(0).astype(np.float32))
  np.testing.assert_array_equal(std, flat.std(0).astype(np.float32))


def test_refuses_images_that_are_not_uint8():
  with pytest.raises(TypeError, match="uint8"):
    channel_stats(np.zeros((2, 2, 2, 1), np.float32))
