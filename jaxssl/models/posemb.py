"""Resizing ViT position embeddings for fine-tuning at another resolution.

Dosovitskiy et al. 2021 (ViT, Sec. 3.2) and Touvron et al. 2021 (DeiT,
Sec. 6) fine-tune at a higher resolution than they pre-train at: the patch
size stays fixed, so the patch grid grows, and the pre-trained patch-grid
position embeddings are interpolated bicubically to the new grid. The class
and distillation token embeddings have no spatial position and are kept.
"""

import math
from typing import Any

import flax
import jax

from jaxssl.errors import ConfigError
from jaxssl.models.vit import POSEMB_GRID, check_patch_size


def resize_position_embeddings(posemb_grid: jax.Array, new_grid_size: int) -> jax.Array:
  """Bicubically resizes square-grid position embeddings `[1, g*g, D] -> [1, g'*g', D]`.

  The embeddings are laid out as a `[g, g, D]` image and resized with
  `jax.image.resize(method="bicubic")` (Keys cubic kernel, a = -0.5). That
  function uses half-pixel centres: output index i samples the old grid at
  (i + 0.5) * g / g' - 0.5, so the corners of the two grids' cells coincide,
  as with `align_corners=False` in other libraries. Antialiasing is off, so
  shrinking the grid also interpolates rather than low-pass filters.

  Args:
    posemb_grid: `[1, g*g, D]` patch-grid position embeddings.
    new_grid_size: g', the number of patches along each side after resizing.

  Returns:
    `[1, g'*g', D]` embeddings in the dtype of `posemb_grid`.
  """
  _, num_patches, dim = posemb_grid.shape
  grid_size = math.isqrt(num_patches)
  if grid_size * grid_size != num_patches:
    raise ConfigError(f"Position embeddings for {num_patches} patches are not a square grid; "
                      f"only square patch grids can be resized.")
  grid = posemb_grid.reshape(grid_size, grid_size, dim)
  resized = jax.image.resize(grid, (new_grid_size, new_grid_size, dim), method="bicubic",
                             antialias=False)
  return resized.reshape(1, new_grid_size * new_grid_size, dim).astype(posemb_grid.dtype)


def adapt_vit_params(params: Any, new_image_size: int, patch_size: int) -> Any:
  """ViT parameters with the patch-grid position embeddings resized for `new_image_size`.

  Everything else, including the class/distillation token embeddings
  ("pos_embed_tokens"), is returned as is. Use the result with a `ViT` built
  with `image_size=new_image_size` and the same `patch_size`.

  Args:
    params: the "params" collection of a `ViT` (dict or FrozenDict).
    new_image_size: side of the square images to fine-tune on.
    patch_size: the model's patch size; must divide `new_image_size`.

  Returns:
    A copy of `params` (same container type) with "pos_embed_grid" resized.
  """
  check_patch_size(new_image_size, patch_size)
  resized = resize_position_embeddings(params[POSEMB_GRID], new_image_size // patch_size)
  return flax.core.copy(params, {POSEMB_GRID: resized})
