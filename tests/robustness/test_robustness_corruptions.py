"""Corruptions and perturbation sequences: near the identity when mild, worse with severity, seeded."""

import numpy as np
import pytest

from jaxssl import data
from jaxssl.robustness import corruptions, perturbations


@pytest.fixture(scope="module")
def digits():
  return data.load_digits().test_images  # uint8 [360, 8, 8, 1]


def deviation(corrupted, images) -> float:
  """Mean absolute difference on the [0, 1] scale."""
  return float(np.abs(np.asarray(corrupted, np.float32) - images).mean() / 255)


@pytest.mark.parametrize("name", list(corruptions.CORRUPTIONS))
def test_each_corruption_is_mild_at_severity_1_and_grows_with_severity(digits, name):
  deviations = [deviation(corruptions.corrupt(digits, name, severity), digits)
                for severity in corruptions.SEVERITIES]
  assert 0 < deviations[0] < 0.12, deviations
  assert all(a < b for a, b in zip(deviations, deviations[1:])), deviations


def test_colour_images_keep_their_hue_and_survive_mild_jpeg():
  rng = np.random.default_rng(0)
  coarse = rng.uniform(0, 255, (4, 4, 4, 3))
  images = np.repeat(np.repeat(coarse, 8, 1), 8, 2).astype(np.uint8)  # 32x32 colour blocks
  assert deviation(corruptions.corrupt(images, "jpeg", 1), images) < 0.02
  brighter = np.asarray(corruptions.corrupt(images, "brightness", 1), np.float32)
  # HSV value up, hue and saturation kept: the channels keep their ratios (up to rounding).
  np.testing.assert_allclose(brighter / brighter.max(-1, keepdims=True),
                             images / images.max(-1, keepdims=True), atol=0.03)


def test_corruptions_are_deterministic_from_the_seed_and_per_image(digits):
  first = np.asarray(corruptions.corrupt(digits, "gaussian_noise", 3, seed=7))
  np.testing.assert_array_equal(first, corruptions.corrupt(digits, "gaussian_noise", 3, seed=7))
  assert (first != np.asarray(corruptions.corrupt(digits, "gaussian_noise", 3, seed=8))).any()
  # Image i's draws depend on its index, not on the chunk it is corrupted in.
  np.testing.assert_array_equal(
      first[5:9], corruptions.corrupt(digits[5:9], "gaussian_noise", 3, seed=7,
                                      indices=np.arange(5, 9)))


def test_unknown_corruption_or_severity_is_refused(digits):
  with pytest.raises(ValueError, match="use one of"):
    corruptions.corrupt(digits, "snow", 1)
  with pytest.raises(ValueError, match="Severity 6"):
    corruptions.corrupt(digits, "fog", 6)


@pytest.mark.parametrize("name", list(perturbations.PERTURBATIONS))
def test_perturbation_sequences_are_seeded_and_noise_starts_clean(digits, name):
  images = digits[:16]
  frames = np.asarray(perturbations.frames(images, name, seed=3))
  assert frames.shape == (perturbations.NUM_FRAMES, *images.shape)
  np.testing.assert_array_equal(frames, perturbations.frames(images, name, seed=3))
  steps = [deviation(frames[j], frames[j - 1]) for j in range(1, len(frames))]
  if perturbations.PERTURBATIONS[name].noise:
    np.testing.assert_array_equal(frames[0], images)
    assert all(0 < step < 0.15 for step in steps[1:])  # fresh noise in every frame
  else:
    assert all(step < 0.06 for step in steps)  # small steps along a smooth path
