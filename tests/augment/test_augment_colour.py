"""Colour ops against hand-computed results on tiny images."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image, ImageOps

from jaxssl import augment

COLOUR_OPS = {
    "autocontrast": (augment.autocontrast, None),
    "brightness": (augment.brightness, 0.3),
    "color": (augment.color, 0.3),
    "contrast": (augment.contrast, 0.3),
    "equalize": (augment.equalize, None),
    "posterize": (augment.posterize, 3),
    "sharpness": (augment.sharpness, 0.1),
    "solarize": (augment.solarize, 0.4),
}


@jax.jit
def _apply_all(images):
  """Every op on the images, in one compile."""
  return {name: op(images) if parameter is None else op(images, parameter)
          for name, (op, parameter) in COLOUR_OPS.items()}


# The ops jitted: run op by op, each call would compile every operation inside it separately.
autocontrast = jax.jit(augment.autocontrast)
brightness = jax.jit(augment.brightness)
color = jax.jit(augment.color)
contrast = jax.jit(augment.contrast)
equalize = jax.jit(augment.equalize)
posterize = jax.jit(augment.posterize)
sharpness = jax.jit(augment.sharpness)
solarize = jax.jit(augment.solarize)


def test_shape_dtype_range(images, assert_valid_images):
  for output in _apply_all(images).values():
    assert_valid_images(output, images)


@pytest.mark.parametrize("op,identity", [
    (brightness, 1.0), (color, 1.0), (contrast, 1.0),
    (sharpness, 1.0), (posterize, 8), (solarize, 1.0)])
def test_identity_parameter(op, identity, images):
  np.testing.assert_allclose(op(images, identity), images, atol=1e-6)


def test_per_image_parameters_under_vmap(images):
  factors = jnp.array([0.0, 0.5, 1.0, 0.25])
  out = jax.jit(jax.vmap(augment.brightness))(images, factors)
  np.testing.assert_allclose(out, images * factors[:, None, None, None], atol=1e-6)


def test_posterize_keeps_top_bits():
  levels = np.array([0, 37, 128, 255, 200], np.uint8).reshape(1, 1, 5, 1)
  out = posterize(augment.to_float(levels), 2)
  np.testing.assert_allclose(out * 255, levels & 0b11000000, atol=1e-4)


def test_solarize_inverts_above_threshold():
  images = jnp.array([0.2, 0.5, 0.7, 1.0]).reshape(1, 1, 4, 1)
  out = solarize(images, 0.5)
  np.testing.assert_allclose(out.ravel(), [0.2, 0.5, 0.3, 0.0], atol=1e-6)


def test_equalize_two_level_image_spans_zero_to_one():
  image = jnp.where(jnp.arange(16).reshape(4, 4, 1) < 6, 0.2, 0.6)
  out = equalize(image)
  np.testing.assert_allclose(out, jnp.where(image < 0.5, 0.0, 1.0), atol=1e-6)


def test_equalize_leaves_constant_channel():
  image = jnp.concatenate([jnp.full((4, 4, 1), 0.3),
                           jnp.linspace(0, 1, 16).reshape(4, 4, 1)], axis=-1)
  out = equalize(image)
  np.testing.assert_allclose(out[..., 0], image[..., 0])


def test_equalize_matches_pil_when_steps_are_exact():
  rng = np.random.default_rng(0)
  levels = rng.integers(0, 200, (32, 32, 3)).astype(np.uint8)
  levels[0, :4] = 250  # 4 pixels on the top level: PIL's step is (1024 - 4) // 255 = 4
  expected = np.asarray(ImageOps.equalize(Image.fromarray(levels)))
  out = np.asarray(equalize(augment.to_float(levels)))
  np.testing.assert_array_equal(np.floor(out * 255 + 0.5).astype(np.uint8), expected)


def test_autocontrast_stretches_each_channel():
  image = jnp.stack([jnp.linspace(0.2, 0.6, 9).reshape(3, 3),
                     jnp.full((3, 3), 0.4)], axis=-1)
  out = autocontrast(image)
  np.testing.assert_allclose(out[..., 0], jnp.linspace(0, 1, 9).reshape(3, 3), atol=1e-6)
  np.testing.assert_allclose(out[..., 1], image[..., 1])


def test_degenerate_images_at_factor_zero():
  images = jax.random.uniform(jax.random.key(1), (2, 5, 5, 3))
  np.testing.assert_allclose(brightness(images, 0.0), 0.0)
  grey = color(images, 0.0)
  np.testing.assert_allclose(grey[..., 0], grey[..., 2], atol=1e-6)
  solid = contrast(images, 0.0)
  np.testing.assert_allclose(solid, solid[:, :1, :1, :1] * jnp.ones_like(solid), atol=1e-6)


def test_sharpness_zero_is_pil_smooth_filter():
  image = jnp.zeros((5, 5, 1)).at[2, 2].set(1.0)
  out = sharpness(image, 0.0)[..., 0]
  expected = np.zeros((5, 5))
  expected[1:4, 1:4] = 1 / 13
  expected[2, 2] = 5 / 13
  np.testing.assert_allclose(out, expected, atol=1e-6)
