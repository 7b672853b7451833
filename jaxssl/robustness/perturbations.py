"""Perturbation sequences of test images, computed on the device.

In the spirit of ImageNet-P (Hendrycks & Dietterich, 2019): each test image
becomes a sequence of T = 16 frames x_0 .. x_15, and a robust classifier's
prediction should not flip from one frame to the next. Frame j sits at
t_j = 2 j / (T - 1) - 1 in [-1, 1], so the smooth sequences pass near the
clean image in their middle; "px" lengths are pixels at 32x32, scaled as the
corruptions' (`ops.pixel_scale`):

  translate       shifted by 2 t_j px along a direction uniform in [0, 2 pi) per image
                  (steps of 0.27 px; edges replicated)
  rotate          rotated by 15 t_j degrees about the centre (steps of 2 degrees)
  brightness      HSV value + 0.3 t_j (steps of 0.04; ImageNet-C's brightness)
  gaussian_noise  x_0 clean, x_j = x + N(0, 0.08^2) drawn afresh for each j
  shot_noise      x_0 clean, x_j = Poisson(60 x) / 60 drawn afresh for each j

The noise frames are not related in time, so their flips are counted against
the clean frame x_0, as Hendrycks & Dietterich do for their noise sequences
(`metrics.flip_probability`). The noise levels are ImageNet-C's mildest.
Image i's draws come from fold_in(fold_in(key(seed), crc32(name)), i).
"""

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.augment import geometric
from jaxssl.errors import ConfigError
from jaxssl.robustness import ops
from jaxssl.robustness.corruptions import name_key, to_uint8

NUM_FRAMES = 16


@dataclasses.dataclass(frozen=True)
class Perturbation:
  """`frame(image_key, frame_key, image [H, W, C] float, t) -> image`; noise: frames unrelated in time."""
  frame: Callable
  noise: bool = False


def _translate(image_key, frame_key, image, t):
  del frame_key
  angle = jax.random.uniform(image_key, (), maxval=2 * jnp.pi)
  distance = 2.0 * ops.pixel_scale(image.shape[0]) * t
  return ops.warp(image, geometric.translation_matrix(distance * jnp.sin(angle),
                                                     distance * jnp.cos(angle)))


def _rotate(image_key, frame_key, image, t):
  del image_key, frame_key
  return ops.warp(image, geometric.rotation_matrix(15.0 * t, *image.shape[:2]))


def _brightness(image_key, frame_key, image, t):
  del image_key, frame_key
  return ops.adjust_value(image, 0.3 * t)


def _gaussian_noise(image_key, frame_key, image, t):
  del image_key, t
  return image + 0.08 * jax.random.normal(frame_key, image.shape)


def _shot_noise(image_key, frame_key, image, t):
  del image_key, t
  return ops.poisson(frame_key, image * 60.0, 60.0) / 60.0


PERTURBATIONS = {
    "translate": Perturbation(_translate),
    "rotate": Perturbation(_rotate),
    "brightness": Perturbation(_brightness),
    "gaussian_noise": Perturbation(_gaussian_noise, noise=True),
    "shot_noise": Perturbation(_shot_noise, noise=True),
}


@functools.partial(jax.jit, static_argnums=(0, 4))
def _frames(name, images, seed, indices, num_frames):
  perturbation = PERTURBATIONS[name]
  key = name_key(seed, name)
  positions = jnp.linspace(-1.0, 1.0, num_frames)

  def sequence(index, image):
    image_key = jax.random.fold_in(key, index)
    frame_keys = jax.random.split(jax.random.fold_in(image_key, 1), num_frames)
    frames = jax.vmap(perturbation.frame, in_axes=(None, 0, None, 0))(
        image_key, frame_keys, image, positions)
    if perturbation.noise:
      frames = frames.at[0].set(image)
    return frames

  frames = jax.vmap(sequence)(indices, images.astype(jnp.float32) / 255)
  return to_uint8(jnp.swapaxes(frames, 0, 1))


def frames(images, name: str, seed: int = 0, indices=None, num_frames: int = NUM_FRAMES
           ) -> jax.Array:
  """uint8 [T, N, H, W, C]: the `name` sequence of each of `images` (uint8 [N, H, W, C]).

  `indices` [N] name the images' places in the test set (default 0..N-1):
  image i's sequence depends only on (seed, name, i).
  """
  if name not in PERTURBATIONS:
    raise ConfigError(f"Unknown perturbation {name!r}; use one of {tuple(PERTURBATIONS)}.")
  if num_frames < 2:
    raise ConfigError(f"A perturbation sequence needs at least 2 frames, got {num_frames}.")
  if indices is None:
    indices = np.arange(len(images))
  return _frames(name, images, seed, jnp.asarray(indices, jnp.int32), num_frames)
