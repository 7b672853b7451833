"""Image operations the corruptions and perturbations share, on one float image [H, W, C].

Borders replicate the edge pixel (a blur or a shift never pulls in a
constant that the image does not hold). `pixel_scale` converts the
parameters given in pixels at 32x32 (CIFAR-10-C's, Hendrycks & Dietterich,
2019) to other resolutions: unchanged at 32 px and below (a pixel is the
smallest detail an 8x8 digit has), proportional above it (ImageNet-C's 224 px
values are about 7 times CIFAR-10-C's).
"""

import math

import jax
import jax.numpy as jnp

REFERENCE_SIDE = 32


def pixel_scale(side: int) -> float:
  """Factor applied to lengths given in pixels at 32x32: max(1, side / 32)."""
  return max(1.0, side / REFERENCE_SIDE)


def filter2d(image, kernel):
  """`image` [H, W, C] convolved with `kernel` [k, k] (odd k) per channel, edges replicated."""
  size = kernel.shape[0]
  pad = size // 2
  channels = image.shape[-1]
  padded = jnp.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
  weights = jnp.broadcast_to(kernel[:, :, None, None], (size, size, 1, channels))
  return jax.lax.conv_general_dilated(
      padded[None], weights.astype(image.dtype), (1, 1), "VALID",
      dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=channels)[0]


def gaussian_kernel(sigma, radius: int):
  """Normalized [2r+1, 2r+1] Gaussian of standard deviation `sigma` (a traced scalar)."""
  offsets = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
  line = jnp.exp(-offsets ** 2 / (2 * jnp.maximum(sigma, 1e-3) ** 2))
  kernel = line[:, None] * line[None, :]
  return kernel / kernel.sum()


def sample(image, rows, cols):
  """Bilinear read of `image` [H, W, C] at float coordinates `rows`, `cols` [H, W], edges clamped."""
  height, width = image.shape[:2]
  rows = jnp.clip(rows, 0, height - 1)
  cols = jnp.clip(cols, 0, width - 1)
  top, left = jnp.floor(rows), jnp.floor(cols)
  row_weight, col_weight = (rows - top)[..., None], (cols - left)[..., None]

  def read(row, col):
    row = jnp.clip(row, 0, height - 1).astype(jnp.int32)
    col = jnp.clip(col, 0, width - 1).astype(jnp.int32)
    return image[row, col]

  upper = read(top, left) * (1 - col_weight) + read(top, left + 1) * col_weight
  lower = read(top + 1, left) * (1 - col_weight) + read(top + 1, left + 1) * col_weight
  return upper * (1 - row_weight) + lower * row_weight


def pixel_grid(height: int, width: int):
  """(rows, cols) float coordinates [H, W] of every pixel."""
  return jnp.meshgrid(jnp.arange(height, dtype=jnp.float32),
                      jnp.arange(width, dtype=jnp.float32), indexing="ij")


def warp(image, matrix):
  """`image` resampled through a 3x3 pull matrix (`jaxssl.augment.geometric`), edges clamped."""
  rows, cols = pixel_grid(*image.shape[:2])
  return sample(image, matrix[0, 0] * rows + matrix[0, 1] * cols + matrix[0, 2],
                matrix[1, 0] * rows + matrix[1, 1] * cols + matrix[1, 2])


def adjust_value(image, delta):
  """HSV value shifted by `delta`, hue and saturation kept (ImageNet-C's brightness).

  With H and S fixed every channel is proportional to V = max over channels,
  so V -> clip(V + delta) scales the pixel by the new V over the old; a black
  pixel (no hue) becomes grey at the new V.
  """
  value = image.max(-1, keepdims=True)
  new_value = jnp.clip(value + delta, 0.0, 1.0)
  return jnp.where(value > 0, image * new_value / jnp.maximum(value, 1e-6), new_value)


def poisson(key, lam, max_lam: float):
  """Poisson(lam) draws (float) by inversion of the CDF, for rates up to `max_lam`.

  Counts above max_lam + 8 sqrt(max_lam) + 8 (probability below 1e-12) are
  cut there. One short loop: it compiles in a fraction of the time of
  `jax.random.poisson`'s rejection sampler.
  """
  uniform = jax.random.uniform(key, jnp.shape(lam))
  first = jnp.exp(-lam)

  def add_term(count, carry):
    draws, term, cdf = carry
    term = term * lam / (count + 1)
    return draws + (uniform > cdf), term, cdf + term

  limit = math.ceil(max_lam + 8 * math.sqrt(max_lam) + 8)
  return jax.lax.fori_loop(0, limit, add_term, (jnp.zeros_like(lam), first, first))[0]
