"""to_float, weak (flip + reflect shift), strong and Gaussian noise."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import augment

weak = jax.jit(augment.weak, static_argnames=("flip", "max_shift_fraction"))
strong = jax.jit(augment.strong, static_argnames="flip")


def test_to_float_scales_uint8():
  levels = jnp.array([0, 51, 255], jnp.uint8)
  out = augment.to_float(levels)
  assert out.dtype == jnp.float32
  np.testing.assert_allclose(out, [0.0, 0.2, 1.0])


def test_weak_without_flip_or_shift_is_identity(images):
  np.testing.assert_array_equal(
      weak(jax.random.key(0), images, flip=False, max_shift_fraction=0.0), images)


def test_weak_flip_mirrors_some_images():
  images = jax.random.uniform(jax.random.key(0), (16, 8, 8, 1))
  out = np.asarray(weak(jax.random.key(1), images, max_shift_fraction=0.0))
  mirrored = np.asarray(images)[:, :, ::-1]
  is_mirrored = [np.array_equal(o, m) for o, m in zip(out, mirrored)]
  is_kept = [np.array_equal(o, x) for o, x in zip(out, np.asarray(images))]
  assert all(m or k for m, k in zip(is_mirrored, is_kept))
  assert any(is_mirrored) and any(is_kept)


def test_weak_shift_is_reflect_padded_pixel_shift(images):
  out = np.asarray(weak(jax.random.key(1), images, flip=False))
  _, height, width, _ = images.shape
  max_rows, max_cols = round(0.125 * height), round(0.125 * width)
  padded = np.pad(np.asarray(images), ((0, 0), (max_rows,) * 2, (max_cols,) * 2, (0, 0)),
                  mode="reflect")
  shifts = set()
  for n in range(images.shape[0]):
    matches = [(dy, dx) for dy in range(2 * max_rows + 1) for dx in range(2 * max_cols + 1)
               if np.array_equal(out[n], padded[n, dy:dy + height, dx:dx + width])]
    assert matches, f"example {n} is not a shift of its input"
    shifts.add(matches[0])
  assert len(shifts) > 1


def test_weak_rejects_a_full_size_shift(images):
  with pytest.raises(ValueError, match="max_shift_fraction"):
    augment.weak(jax.random.key(0), images, max_shift_fraction=1.0)


def test_strong_shape_dtype_range(images, assert_valid_images):
  out = strong(jax.random.key(0), images, flip=True)
  assert_valid_images(out, images)
  assert not np.allclose(out, images)


def test_strong_without_flip_same_key_same_output():
  digits = jax.random.uniform(jax.random.key(0), (4, 8, 8, 1))
  first = strong(jax.random.key(5), digits, flip=False)
  np.testing.assert_array_equal(first, strong(jax.random.key(5), digits, flip=False))
  assert not np.allclose(first, strong(jax.random.key(6), digits, flip=False))


def test_gaussian_noise_stddev_and_clipping(assert_valid_images):
  grey = jnp.full((8, 16, 16, 3), 0.5)
  out = augment.gaussian_noise(jax.random.key(0), grey, stddev=0.1)
  assert_valid_images(out, grey)
  assert abs(float(jnp.std(out)) - 0.1) < 0.01
  black = augment.gaussian_noise(jax.random.key(0), jnp.zeros((2, 8, 8, 1)))
  assert float(black.min()) == 0.0
