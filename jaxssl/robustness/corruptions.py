"""Common corruptions of test images at 5 severities, computed on the device.

In the spirit of ImageNet-C / CIFAR-10-C (Hendrycks & Dietterich, 2019,
"Benchmarking Neural Network Robustness to Common Corruptions and
Perturbations"): each corruption maps a clean image x in [0, 1] to a corrupted
one at severity s = 1..5, and the result is stored as uint8 like their image
files. Parameters (per severity 1..5; "px" lengths are pixels at 32x32,
scaled by `ops.pixel_scale` above 32 px and used as they are below):

  gaussian_noise  x + N(0, sigma^2), sigma = .08 .12 .18 .26 .38             (ImageNet-C)
  shot_noise      Poisson(lam x) / lam, lam = 60 25 12 5 3                   (ImageNet-C)
  impulse_noise   each value set to 0 or to 1 with probability a/2 each,
                  a = .03 .06 .09 .17 .27                                    (ImageNet-C)
  defocus_blur    soft disk of radius r, weight clip(r + 1/2 - distance, 0, 1), then a
                  Gaussian of std g: (r, g) = (.3,.4) (.4,.5) (.5,.6) (1,.2) (1.5,.1) px
                                                                             (CIFAR-10-C)
  motion_blur     one-sided Gaussian streak exp(-d^2 / 2 sigma^2), 0 <= d <= R, along an
                  angle uniform in [-45, 45] degrees per image:
                  (R, sigma) = (10,1) (10,1.5) (10,2) (10,2.5) (12,3) px     (CIFAR-10-C)
  brightness      HSV value + b, b = .1 .2 .3 .4 .5                          (ImageNet-C)
  contrast        (x - m) c + m, m the image's per-channel mean,
                  c = .75 .5 .4 .3 .15                                       (CIFAR-10-C)
  pixelate        area-average onto cells of 1/f px (PIL's BOX resize to f times the
                  side), then nearest back up, f = .95 .75 .5 .375 .25: CIFAR-10-C's
                  mildest (.95) to ImageNet-C's harshest (.25), in steps an 8x8 digit
                  can tell apart (CIFAR-10-C's .9 .85 .75 .65 give 8x8 digits cells of
                  1.1 to 1.5 px whose aliasing does not grow with the severity).
  jpeg            JPEG's lossy step on 8x8 blocks: the orthonormal DCT-II of each block
                  (of Y, Cb, Cr for colour: JFIF's conversion, no chroma subsampling),
                  divided by the standard luminance / chrominance table (ITU T.81
                  Annex K) scaled to quality q by IJG's rule, rounded, multiplied back,
                  inverse DCT; q = 80 50 25 15 7, from CIFAR-10-C's mildest quality
                  (80) to ImageNet-C's harshest (7).
  fog             (x + t F) M / (M + t), M = max of x, F a fractal low-frequency noise
                  in [0, 1] (grey): Gaussian noise on grids of 2, 4, 8, ... up to the
                  side, each upsampled bilinearly, octave k weighted d^-k (ImageNet-C's
                  plasma fractal with "wibble decay" d, built by octaves rather than
                  diamond-square): (t, d) = (.2,3) (.5,3) (.75,2.5) (1,2) (1.5,1.75)
                                                                             (CIFAR-10-C)

ImageNet-C's values are for 224 px images and CIFAR-10-C's for 32 px ones.
The noise, brightness and contrast levels do not depend on the size; the
stronger ImageNet-C noise and brightness levels are taken so that severity 5
degrades the high-contrast 8x8 digits too. The blur lengths stay in pixels at
8x8: one pixel is the finest stroke a digit has.

Randomness: image i of a corruption draws from fold_in(fold_in(key(seed),
crc32(name)), i), the same at every severity (only the amount changes), so
a result does not depend on how the test set is split into chunks.
"""

import dataclasses
import functools
import math
import zlib
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.errors import ConfigError
from jaxssl.robustness import ops

SEVERITIES = (1, 2, 3, 4, 5)


@dataclasses.dataclass(frozen=True)
class Corruption:
  """`apply(key, image [H, W, C] float, level) -> image`; `levels[s - 1]` the parameters of severity s."""
  apply: Callable
  levels: tuple[tuple[float, ...], ...]

  def largest(self, index: int) -> float:
    """The largest value parameter `index` takes over the severities (sizes kernels)."""
    return max(level[index] for level in self.levels)


def _gaussian_noise(key, image, level):
  return image + level[0] * jax.random.normal(key, image.shape)


def _shot_noise(key, image, level):
  return ops.poisson(key, image * level[0], CORRUPTIONS["shot_noise"].largest(0)) / level[0]


def _impulse_noise(key, image, level):
  draw = jax.random.uniform(key, image.shape)
  image = jnp.where(draw < level[0] / 2, 0.0, image)
  return jnp.where(draw > 1 - level[0] / 2, 1.0, image)


def _defocus_blur(key, image, level):
  del key
  scale = ops.pixel_scale(image.shape[0])
  radius, alias = level[0] * scale, level[1] * scale
  spec = CORRUPTIONS["defocus_blur"]
  disk_size = math.ceil(spec.largest(0) * scale + 0.5)
  offsets = jnp.arange(-disk_size, disk_size + 1, dtype=jnp.float32)
  distance = jnp.hypot(offsets[:, None], offsets[None, :])
  disk = jnp.clip(radius + 0.5 - distance, 0.0, 1.0)
  blurred = ops.filter2d(image, disk / disk.sum())
  return ops.filter2d(blurred, ops.gaussian_kernel(alias, math.ceil(3 * spec.largest(1) * scale)))


def _motion_blur(key, image, level):
  scale = ops.pixel_scale(image.shape[0])
  length, sigma = level[0] * scale, level[1] * scale
  angle = jnp.deg2rad(jax.random.uniform(key, (), minval=-45.0, maxval=45.0))
  distances = jnp.arange(math.ceil(CORRUPTIONS["motion_blur"].largest(0) * scale) + 1,
                         dtype=jnp.float32)
  weights = jnp.exp(-distances ** 2 / (2 * sigma ** 2)) * (distances <= length)
  rows, cols = ops.pixel_grid(*image.shape[:2])
  streak = jax.vmap(lambda d: ops.sample(image, rows - d * jnp.sin(angle),
                                         cols + d * jnp.cos(angle)))(distances)
  return jnp.tensordot(weights / weights.sum(), streak, axes=1)


def _brightness(key, image, level):
  del key
  return ops.adjust_value(image, level[0])


def _contrast(key, image, level):
  del key
  mean = image.mean((0, 1), keepdims=True)
  return (image - mean) * level[0] + mean


def _pixelate_matrix(size: int, fraction):
  """[size, size] map: area-average onto cells of 1 / fraction pixels, then read each pixel's cell."""
  cells = jnp.arange(size, dtype=jnp.float32)[:, None]
  pixels = jnp.arange(size, dtype=jnp.float32)[None, :]
  start, end = cells / fraction, (cells + 1) / fraction
  overlap = jnp.clip(jnp.minimum(end, pixels + 1) - jnp.maximum(start, pixels), 0.0, None)
  average = overlap / jnp.maximum(overlap.sum(1, keepdims=True), 1e-6)
  cell_of_pixel = jnp.floor((jnp.arange(size) + 0.5) * fraction).astype(jnp.int32)
  return average[cell_of_pixel]


def _pixelate(key, image, level):
  del key
  height, width = image.shape[:2]
  return jnp.einsum("hi,ijc,wj->hwc", _pixelate_matrix(height, level[0]), image,
                    _pixelate_matrix(width, level[0]))


_LUMINANCE_TABLE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], np.float32)
_CHROMINANCE_TABLE = np.full((8, 8), 99, np.float32)
_CHROMINANCE_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99],
                              [47, 66, 99, 99]]
# JFIF's RGB -> YCbCr (before the +128 offset of Cb and Cr).
_TO_YCBCR = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                      [0.5, -0.418688, -0.081312]], np.float32)
_DCT = np.array([[(math.sqrt(1 / 8) if k == 0 else math.sqrt(2 / 8))
                  * math.cos(math.pi * (2 * i + 1) * k / 16) for i in range(8)]
                 for k in range(8)], np.float32)


def _jpeg(key, image, level):
  del key
  quality = level[0]
  height, width, channels = image.shape
  factor = jnp.where(quality < 50, 5000 / quality, 200 - 2 * quality)
  tables = np.stack([_LUMINANCE_TABLE] + [_CHROMINANCE_TABLE] * (channels - 1))
  steps = jnp.clip(jnp.floor((tables * factor + 50) / 100), 1, 255)  # [C, 8, 8]
  colour = _TO_YCBCR if channels == 3 else np.eye(channels, dtype=np.float32)
  # Centred on 0 for the DCT: Y - 128, Cb, Cr.
  planes = jnp.einsum("hwc,dc->dhw", image * 255, colour) - 128 * (np.arange(channels) == 0)[
      :, None, None]
  pad_h, pad_w = -height % 8, -width % 8
  planes = jnp.pad(planes, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge")
  blocks = planes.reshape(channels, planes.shape[1] // 8, 8, planes.shape[2] // 8, 8)
  coefficients = jnp.einsum("ki,cyixj,lj->cykxl", _DCT, blocks, _DCT)
  quantized = jnp.round(coefficients / steps[:, None, :, None, :]) * steps[:, None, :, None, :]
  decoded = jnp.einsum("ki,cykxl,lj->cyixj", _DCT, quantized, _DCT).reshape(planes.shape)
  decoded = decoded[:, :height, :width] + 128 * (np.arange(channels) == 0)[:, None, None]
  return jnp.einsum("dhw,cd->hwc", decoded, np.linalg.inv(colour).astype(np.float32)) / 255


def _upsampling_matrix(size: int, grid: int) -> np.ndarray:
  """[size, grid] bilinear interpolation from `grid` cells to `size` pixels (pixel centres aligned)."""
  source = np.clip((np.arange(size) + 0.5) * grid / size - 0.5, 0, grid - 1)
  lower = np.floor(source).astype(int)
  upper = np.minimum(lower + 1, grid - 1)
  matrix = np.zeros((size, grid), np.float32)
  np.add.at(matrix, (np.arange(size), lower), 1 - (source - lower))
  np.add.at(matrix, (np.arange(size), upper), source - lower)
  return matrix


def fractal_noise(key, height: int, width: int, decay):
  """[H, W] low-frequency noise in [0, 1]: octaves on grids of 2, 4, ... px, octave k weighted decay^-k."""
  octaves = max(1, math.ceil(math.log2(max(height, width))))
  noise = jnp.zeros((height, width))
  for octave, octave_key in enumerate(jax.random.split(key, octaves)):
    grid = min(2 ** (octave + 1), max(height, width))
    coarse = jax.random.normal(octave_key, (grid, grid))
    noise += decay ** -octave * (
        _upsampling_matrix(height, grid) @ coarse @ _upsampling_matrix(width, grid).T)
  return (noise - noise.min()) / jnp.maximum(noise.max() - noise.min(), 1e-6)


def _fog(key, image, level):
  thickness, decay = level[0], level[1]
  fog = fractal_noise(key, *image.shape[:2], decay)[..., None]
  peak = image.max()
  return (image + thickness * fog) * peak / (peak + thickness)


CORRUPTIONS = {
    "gaussian_noise": Corruption(_gaussian_noise, ((.08,), (.12,), (.18,), (.26,), (.38,))),
    "shot_noise": Corruption(_shot_noise, ((60.,), (25.,), (12.,), (5.,), (3.,))),
    "impulse_noise": Corruption(_impulse_noise, ((.03,), (.06,), (.09,), (.17,), (.27,))),
    "defocus_blur": Corruption(_defocus_blur,
                               ((.3, .4), (.4, .5), (.5, .6), (1., .2), (1.5, .1))),
    "motion_blur": Corruption(_motion_blur,
                              ((10., 1.), (10., 1.5), (10., 2.), (10., 2.5), (12., 3.))),
    "brightness": Corruption(_brightness, ((.1,), (.2,), (.3,), (.4,), (.5,))),
    "contrast": Corruption(_contrast, ((.75,), (.5,), (.4,), (.3,), (.15,))),
    "pixelate": Corruption(_pixelate, ((.95,), (.75,), (.5,), (.375,), (.25,))),
    "jpeg": Corruption(_jpeg, ((80.,), (50.,), (25.,), (15.,), (7.,))),
    "fog": Corruption(_fog, ((.2, 3.), (.5, 3.), (.75, 2.5), (1., 2.), (1.5, 1.75))),
}


def name_key(seed: int, name: str):
  """The key of `name`'s draws under `seed`: fold_in(key(seed), crc32(name))."""
  return jax.random.fold_in(jax.random.key(seed), zlib.crc32(name.encode()) & 0x7FFFFFFF)


def to_uint8(images):
  """[0, 1] floats -> uint8, rounded, as ImageNet-C stores its images."""
  return jnp.round(jnp.clip(images, 0.0, 1.0) * 255).astype(jnp.uint8)


@functools.partial(jax.jit, static_argnums=0)
def _corrupt(name, images, level, seed, indices):
  key = name_key(seed, name)
  keys = jax.vmap(lambda index: jax.random.fold_in(key, index))(indices)
  apply = jax.vmap(CORRUPTIONS[name].apply, in_axes=(0, 0, None))
  return to_uint8(apply(keys, images.astype(jnp.float32) / 255, level))


def corrupt(images, name: str, severity: int, seed: int = 0, indices=None) -> jax.Array:
  """`images` (uint8 [N, H, W, C]) corrupted by `name` at `severity` (1..5), uint8, on the device.

  `indices` [N] name the images' places in the test set (default 0..N-1):
  image i's draws depend only on (seed, name, i). One compiled function per
  corruption serves every severity.
  """
  if name not in CORRUPTIONS:
    raise ConfigError(f"Unknown corruption {name!r}; use one of {tuple(CORRUPTIONS)}.")
  if severity not in SEVERITIES:
    raise ConfigError(f"Severity {severity!r} of {name}; use one of {SEVERITIES}.")
  if indices is None:
    indices = np.arange(len(images))
  level = jnp.asarray(CORRUPTIONS[name].levels[severity - 1], jnp.float32)
  return _corrupt(name, images, level, seed, jnp.asarray(indices, jnp.int32))
