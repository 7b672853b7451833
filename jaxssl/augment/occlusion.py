"""Occluding a rectangle per image: Cutout and random erasing."""

import math

import jax
import jax.numpy as jnp

from jaxssl.augment.draws import integers
from jaxssl.augment.geometric import DEFAULT_FILL


def box_mask(height, width, top, left, box_height, box_width):
  """Boolean [N, H, W, 1]: True inside each image's box (whole-number arrays [N]).

  Boxes may reach past the border; only their part inside the image is True.
  """
  rows = jnp.arange(height)[None, :, None, None]
  cols = jnp.arange(width)[None, None, :, None]

  def per_image(value):
    return jnp.asarray(value)[:, None, None, None]

  return ((rows >= per_image(top)) & (rows < per_image(top) + per_image(box_height))
          & (cols >= per_image(left)) & (cols < per_image(left) + per_image(box_width)))


@jax.named_scope("augment")  # labels the ops in profiles
def cutout(key, images, max_size_fraction=0.5, fill=DEFAULT_FILL, min_size_fraction=0.0):
  """Cutout (DeVries & Taylor, 2017) as in FixMatch (Sohn et al., 2020, Table 12).

  Each image of [N, H, W, C] gets a square of side L * min(H, W) set to
  `fill` (grey), L ~ U[min_size_fraction, max_size_fraction] (the paper's
  Table 12: U[0, 0.5]; the FixMatch reference code: always 0.5), at a
  uniformly random centre; the square is clipped where it crosses the border.
  """
  num_images, height, width, _ = images.shape
  uniforms = jax.random.uniform(key, (num_images, 3))
  fraction = min_size_fraction + uniforms[:, 0] * (max_size_fraction - min_size_fraction)
  side = jnp.round(fraction * min(height, width)).astype(jnp.int32)
  centre_row = integers(uniforms[:, 1], 0, height)
  centre_col = integers(uniforms[:, 2], 0, width)
  mask = box_mask(height, width, centre_row - side // 2, centre_col - side // 2, side, side)
  return jnp.where(mask, jnp.asarray(fill, images.dtype), images)


@jax.named_scope("augment")  # labels the ops in profiles
def random_erasing(key, images, probability=0.25, area_range=(0.02, 1 / 3),
                   aspect_range=(0.3, 3.3)):
  """Random erasing (Zhong et al., 2020) with random values (their RE-R).

  With `probability`, per image, a rectangle of area fraction
  ~ U[area_range] and aspect ratio (height / width) drawn log-uniformly from
  `aspect_range` is filled with U[0, 1] noise, placed uniformly where it fits.
  The paper redraws a box that does not fit; here its sides are clipped to
  the image instead, which keeps the op a fixed amount of work.
  """
  num_images, height, width, _ = images.shape
  box_key, noise_key = jax.random.split(key)
  uniforms = jax.random.uniform(box_key, (num_images, 5))
  erase = uniforms[:, 0] < probability
  area = height * width * (area_range[0] + uniforms[:, 1] * (area_range[1] - area_range[0]))
  log_low, log_high = math.log(aspect_range[0]), math.log(aspect_range[1])
  aspect = jnp.exp(log_low + uniforms[:, 2] * (log_high - log_low))
  box_height = jnp.clip(jnp.round(jnp.sqrt(area * aspect)), 1, height)
  box_width = jnp.clip(jnp.round(jnp.sqrt(area / aspect)), 1, width)
  top = integers(uniforms[:, 3], 0, height - box_height + 1)
  left = integers(uniforms[:, 4], 0, width - box_width + 1)
  mask = box_mask(height, width, top, left, box_height, box_width)
  noise = jax.random.uniform(noise_key, images.shape, images.dtype)
  return jnp.where(mask & erase[:, None, None, None], noise, images)
