"""Geometric ops: exact shifts, rotations and shears on tiny images."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import augment

FILL = 0.5


@jax.jit
def _apply_all(images):
  """Every op on the images, in one compile."""
  return [augment.rotate(images, 20.0), augment.shear_x(images, 0.3),
          augment.shear_y(images, -0.3), augment.translate_x(images, 3.0),
          augment.translate_y(images, -2.0)]


def test_shape_dtype_range(images, assert_valid_images):
  for output in _apply_all(images):
    assert_valid_images(output, images)


@pytest.mark.parametrize("op", [augment.rotate, augment.shear_x, augment.shear_y,
                                augment.translate_x, augment.translate_y])
def test_zero_is_identity(op, images):
  np.testing.assert_array_equal(op(images, 0.0), images)


@pytest.mark.parametrize("pixels", [2, -3])
def test_translate_x_moves_columns_exactly(pixels, images):
  out = augment.translate_x(images, pixels)
  if pixels > 0:
    np.testing.assert_array_equal(out[:, :, pixels:], images[:, :, :-pixels])
    np.testing.assert_array_equal(out[:, :, :pixels], FILL)
  else:
    np.testing.assert_array_equal(out[:, :, :pixels], images[:, :, -pixels:])
    np.testing.assert_array_equal(out[:, :, pixels:], FILL)


def test_translate_y_moves_rows_exactly(images):
  out = augment.translate_y(images, 1)
  np.testing.assert_array_equal(out[:, 1:], images[:, :-1])
  np.testing.assert_array_equal(out[:, :1], FILL)


@pytest.mark.parametrize("size", [7, 8])
def test_rotate_90_is_counter_clockwise_quarter_turn(size):
  images = jax.random.uniform(jax.random.key(0), (2, size, size, 3))
  out = augment.rotate(images, 90.0)
  np.testing.assert_allclose(out, np.rot90(images, k=1, axes=(1, 2)), atol=1e-5)


def test_shear_x_shifts_rows_about_centre():
  image = jax.random.uniform(jax.random.key(0), (9, 9, 1))
  out = augment.shear_x(image, 1.0)  # row r reads column c + (r - 4)
  np.testing.assert_array_equal(out[4], image[4])
  np.testing.assert_array_equal(out[5, :-1], image[5, 1:])
  np.testing.assert_array_equal(out[2, 2:], image[2, :-2])


def test_per_image_angles_under_vmap(images):
  angles = jnp.array([0.0, 90.0, 0.0, 45.0])
  out = jax.vmap(augment.rotate)(images, angles)
  np.testing.assert_array_equal(out[0], images[0])
  assert not np.allclose(out[3], images[3])
