"""The views SSL methods train on: uint8 -> float, weak, strong, noisy."""

import dm_pix as pix
import jax
import jax.numpy as jnp

from jaxssl.augment.batch_sharding import like_batch
from jaxssl.augment.draws import integers
from jaxssl.augment.occlusion import cutout
from jaxssl.augment.rand_augment import randaugment


def to_float(images_uint8):
  """uint8 images [N, H, W, C] -> float32 in [0, 1] (x / 255), the input of every op here."""
  return images_uint8.astype(jnp.float32) / 255.0


def _shift(images, corners, max_rows, max_cols):
  """Shifts image n by corners[n] - (max_rows, max_cols) pixels, with reflect padding."""
  _, height, width, channels = images.shape
  padded = jnp.pad(images, ((0, 0), (max_rows, max_rows), (max_cols, max_cols), (0, 0)),
                   mode="reflect")

  def crop(image, corner):
    return jax.lax.dynamic_slice(image, (corner[0], corner[1], 0), (height, width, channels))

  return jax.vmap(crop)(padded, like_batch(corners, images))


@jax.named_scope("augment")  # labels the ops in profiles
def weak(key, images, flip=True, max_shift_fraction=0.125):
  """FixMatch's weak augmentation (Sohn et al., 2020, Sec. 2.3) of [N, H, W, C].

  Per image: a horizontal flip with probability 1/2 (`flip=False` for digits
  and SVHN, where mirroring changes the class), then a shift by a whole
  number of pixels, uniform in +-round(max_shift_fraction * H) rows and
  +-round(max_shift_fraction * W) columns, filled by reflection.
  """
  num_images, height, width, _ = images.shape
  max_rows = round(max_shift_fraction * height)
  max_cols = round(max_shift_fraction * width)
  if max_rows >= height or max_cols >= width:
    raise ValueError(f"max_shift_fraction={max_shift_fraction} shifts {height}x{width} "
                     "images by their full size; use a fraction below 1.")
  uniforms = jax.random.uniform(key, (num_images, 3))
  if flip:
    mirrored = uniforms[:, 0] < 0.5
    images = jnp.where(mirrored[:, None, None, None], pix.flip_left_right(images), images)
  if max_rows == 0 and max_cols == 0:
    return images
  corners = jnp.stack([integers(uniforms[:, 1], 0, 2 * max_rows + 1),
                       integers(uniforms[:, 2], 0, 2 * max_cols + 1)], axis=1)
  return _shift(images, corners, max_rows, max_cols)


@jax.named_scope("augment")  # labels the ops in profiles
def strong(key, images, flip=True):
  """FixMatch's strong augmentation of [N, H, W, C] (Sohn et al., 2020, Sec. 2.3, Table 12).

  Every image gets the weak flip and shift, then RandAugment (2 ops, random
  magnitudes; Cubuk et al., 2020), then Cutout (DeVries & Taylor, 2017).
  """
  weak_key, randaugment_key, cutout_key = jax.random.split(key, 3)
  images = weak(weak_key, images, flip=flip)
  images = randaugment(randaugment_key, images)
  return cutout(cutout_key, images)


@jax.named_scope("augment")  # labels the ops in profiles
def gaussian_noise(key, images, stddev=0.15):
  """Additive N(0, stddev^2) noise on [0, 1] images, clipped back to [0, 1].

  The input noise of the Pi-model (Laine & Aila, 2017) and Mean Teacher
  (Tarvainen & Valpola, 2017), who add it to normalized inputs. Clipping keeps
  the [0, 1] contract of this package; it makes the noise one-sided at black
  and white pixels.
  """
  noise = stddev * jax.random.normal(key, images.shape, images.dtype)
  return jnp.clip(images + noise, 0.0, 1.0)
