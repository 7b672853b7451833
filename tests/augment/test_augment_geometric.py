"""Geometric ops: exact shifts, rotations and shears on tiny images."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxssl import augment
from jaxssl.augment import geometric

FILL = 0.5

# The ops jitted: run op by op, each call would compile every operation inside it separately.
rotate, shear_x, shear_y, translate_x, translate_y = (
    jax.jit(op) for op in (augment.rotate, augment.shear_x, augment.shear_y,
                           augment.translate_x, augment.translate_y))
warp = jax.jit(augment.warp, static_argnames="nearest")


@jax.jit
def _apply_all(images):
  """Every op on the images, in one compile."""
  return [augment.rotate(images, 20.0), augment.shear_x(images, 0.3),
          augment.shear_y(images, -0.3), augment.translate_x(images, 3.0),
          augment.translate_y(images, -2.0)]


def test_shape_dtype_range(images, assert_valid_images):
  for output in _apply_all(images):
    assert_valid_images(output, images)


@pytest.mark.parametrize("op", [rotate, shear_x, shear_y, translate_x, translate_y])
def test_zero_is_identity(op, images):
  np.testing.assert_array_equal(op(images, 0.0), images)


@pytest.mark.parametrize("pixels", [2, -3])
def test_translate_x_moves_columns_exactly(pixels, images):
  out = translate_x(images, pixels)
  if pixels > 0:
    np.testing.assert_array_equal(out[:, :, pixels:], images[:, :, :-pixels])
    np.testing.assert_array_equal(out[:, :, :pixels], FILL)
  else:
    np.testing.assert_array_equal(out[:, :, :pixels], images[:, :, -pixels:])
    np.testing.assert_array_equal(out[:, :, pixels:], FILL)


def test_translate_y_moves_rows_exactly(images):
  out = translate_y(images, 1)
  np.testing.assert_array_equal(out[:, 1:], images[:, :-1])
  np.testing.assert_array_equal(out[:, :1], FILL)


@pytest.mark.parametrize("size", [7, 8])
def test_rotate_90_is_counter_clockwise_quarter_turn(size):
  images = jax.random.uniform(jax.random.key(0), (2, size, size, 3))
  out = rotate(images, 90.0)
  np.testing.assert_allclose(out, np.rot90(images, k=1, axes=(1, 2)), atol=1e-5)


def test_shear_x_shifts_rows_about_centre():
  image = jax.random.uniform(jax.random.key(0), (9, 9, 1))
  out = shear_x(image, 1.0)  # row r reads column c + (r - 4)
  np.testing.assert_array_equal(out[4], image[4])
  np.testing.assert_array_equal(out[5, :-1], image[5, 1:])
  np.testing.assert_array_equal(out[2, 2:], image[2, :-2])


def test_per_image_angles_under_vmap(images):
  angles = jnp.array([0.0, 90.0, 0.0, 45.0])
  out = jax.jit(jax.vmap(augment.rotate))(images, angles)
  np.testing.assert_array_equal(out[0], images[0])
  assert not np.allclose(out[3], images[3])


def _pil_grey(image_uint8, op):
  return np.asarray(op(Image.fromarray(image_uint8)))


@pytest.mark.parametrize("rate", [0.2137, -0.2561])
def test_corner_shears_with_nearest_pixels_are_pils_transform(rate):
  """REFERENCE_GEOMETRY_POLICY's shears are the reference code's PIL calls, pixel for pixel.

  (At rates like 0.2 some locations fall exactly half-way between pixels and
  float32 and PIL's float64 may break the tie differently: not tested.)
  """
  image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
  grey = (128, 128, 128)
  for matrix, data in ((geometric.shear_x_corner_matrix, (1, rate, 0, 0, 1, 0)),
                       (geometric.shear_y_corner_matrix, (1, 0, 0, rate, 1, 0))):
    ours = warp(augment.to_float(image), matrix(rate, 32, 32), FILL, nearest=True)
    expected = _pil_grey(image, lambda im: im.transform(im.size, Image.AFFINE, data,
                                                        fillcolor=grey))
    np.testing.assert_array_equal(np.round(np.asarray(ours) * 255).astype(np.uint8), expected)


def test_nearest_rotation_reads_the_pixels_pil_reads():
  """Nearest-pixel rotation about the centre agrees with PIL's `rotate` but on rounding ties."""
  image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
  ours = warp(augment.to_float(image), geometric.rotation_matrix(20.0, 32, 32), FILL,
                      nearest=True)
  expected = _pil_grey(image, lambda im: im.rotate(20.0, fillcolor=(128, 128, 128)))
  same = np.all(np.round(np.asarray(ours) * 255).astype(np.uint8) == expected, axis=-1)
  assert same.mean() > 0.99
  # Nearest reads copy pixels: every output value is an input value or the fill.
  values = set(np.unique(image)) | {128}
  assert set(np.unique(np.round(np.asarray(ours) * 255).astype(np.uint8))) <= values


def test_reference_geometry_translates_by_whole_pixels():
  policy = augment.REFERENCE_GEOMETRY_POLICY
  matrix = policy["TranslateX"].matrix(0.29, 32, 32)  # 0.29 * 32 = 9.28 -> 9 pixels
  np.testing.assert_allclose(np.asarray(matrix)[:2, 2], [0.0, -9.0])
  matrix = policy["TranslateY"].matrix(-0.29, 32, 32)  # toward zero: -9, not -10
  np.testing.assert_allclose(np.asarray(matrix)[:2, 2], [9.0, 0.0])
