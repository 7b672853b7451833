"""Shared inputs for the augmentation tests: small grey and RGB batches."""
import jax
import pytest

SHAPES = [(4, 8, 8, 1), (4, 16, 16, 3)]


@pytest.fixture(params=SHAPES, ids=["8x8x1", "16x16x3"])
def images(request):
  """Uniform random float32 images in [0, 1]."""
  return jax.random.uniform(jax.random.key(0), request.param)


def _assert_valid_images(output, images):
  assert output.shape == images.shape
  assert output.dtype == images.dtype
  assert bool((output >= 0).all()) and bool((output <= 1).all())


@pytest.fixture
def assert_valid_images():
  """assert_valid_images(output, images): same shape and dtype, values in [0, 1]."""
  return _assert_valid_images
