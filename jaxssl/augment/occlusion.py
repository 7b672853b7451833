"""Occluding a rectangle per image: Cutout and random erasing."""

import jax
import jax.numpy as jnp

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


def cutout(key, images, max_size_fraction=0.5, fill=DEFAULT_FILL):
  """Cutout (DeVries & Taylor, 2017) as in FixMatch (Sohn et al., 2020, Table 12).

  Each image of [N, H, W, C] gets a square of side L * min(H, W) set to
  `fill` (grey), L ~ U[0, max_size_fraction], at a uniformly random centre;
  the square is clipped where it crosses the border.
  """
  num_images, height, width, _ = images.shape
  size_key, row_key, col_key = jax.random.split(key, 3)
  fraction = jax.random.uniform(size_key, (num_images,), maxval=max_size_fraction)
  side = jnp.round(fraction * min(height, width)).astype(jnp.int32)
  centre_row = jax.random.randint(row_key, (num_images,), 0, height)
  centre_col = jax.random.randint(col_key, (num_images,), 0, width)
  mask = box_mask(height, width, centre_row - side // 2, centre_col - side // 2, side, side)
  return jnp.where(mask, jnp.asarray(fill, images.dtype), images)


def random_erasing(key, images, probability=0.25, area_range=(0.02, 1 / 3),
                   aspect_range=(0.3, 3.3)):
  """Random erasing (Zhong et al., 2020) with random values (their RE-R).

  With `probability`, per image, a rectangle of area fraction
  ~ U[area_range] and aspect ratio (height / width) drawn log-uniformly from
  `aspect_range` is filled with U[0, 1] noise, placed uniformly where it fits.
  The paper redraws a box that does not fit; here its sides are clipped to
  the image instead, which keeps the op a fixed amount of work.
  """
  num_images, height, width, channels = images.shape
  keys = jax.random.split(key, 6)
  apply = jax.random.bernoulli(keys[0], probability, (num_images,))
  area = height * width * jax.random.uniform(
      keys[1], (num_images,), minval=area_range[0], maxval=area_range[1])
  log_aspect = jax.random.uniform(keys[2], (num_images,), minval=jnp.log(aspect_range[0]),
                                  maxval=jnp.log(aspect_range[1]))
  box_height = jnp.clip(jnp.round(jnp.sqrt(area * jnp.exp(log_aspect))), 1, height)
  box_width = jnp.clip(jnp.round(jnp.sqrt(area / jnp.exp(log_aspect))), 1, width)
  top = jnp.floor(jax.random.uniform(keys[3], (num_images,)) * (height - box_height + 1))
  left = jnp.floor(jax.random.uniform(keys[4], (num_images,)) * (width - box_width + 1))
  mask = box_mask(height, width, top, left, box_height, box_width)
  noise = jax.random.uniform(keys[5], images.shape, images.dtype)
  return jnp.where(mask & apply[:, None, None, None], noise, images)
