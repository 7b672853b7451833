"""Vision Transformer in the DeiT form, with an optional distillation token.

Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words" (ViT) and Touvron et
al. 2021, "Training data-efficient image transformers & distillation through
attention" (DeiT). Pre-norm blocks (LayerNorm, multi-head self-attention,
LayerNorm, MLP with exact GELU and ratio 4), stochastic depth rising linearly
over the blocks, a final LayerNorm, a class head on the class token and a
distillation head on the distillation token.

Sizes (`size`, embedding dim / blocks / heads) and the patch sizes they are
meant for:

| size  | dim | blocks | heads | use                                          |
|-------|-----|--------|-------|----------------------------------------------|
| micro |  64 |   4    |   2   | digits: patch 2 at 8x8 or 16x16 (CPU tests)  |
| mini  | 128 |   6    |   4   | CIFAR/SVHN: patch 4 at 32x32                 |
| tiny  | 192 |  12    |   3   | DeiT-Ti: patch 16 at 224 (~5.7M params)      |
| small | 384 |  12    |   6   | DeiT-S: patch 16 at 224 (~22M params)        |
| base  | 768 |  12    |  12   | DeiT-B: patch 16 at 224 (~86M params)        |

The position embeddings are two parameters: "pos_embed_grid" `[1, g*g, D]`
for the g x g patch grid and "pos_embed_tokens" `[1, T, D]` for the T = 1 or
2 class/distillation tokens, so that `jaxssl.models.posemb.adapt_vit_params`
can resize the grid for fine-tuning at another resolution without touching
the tokens.
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl.errors import ConfigError
from jaxssl.models.layers import DropPath, drop_path_rates

# size -> (embedding dim, blocks, heads)
VIT_SIZES = {
    "micro": (64, 4, 2),
    "mini": (128, 6, 4),
    "tiny": (192, 12, 3),
    "small": (384, 12, 6),
    "base": (768, 12, 12),
}
POSEMB_GRID = "pos_embed_grid"
_MLP_RATIO = 4
_dense_init = nn.initializers.truncated_normal(0.02)


def _layer_norm(dtype, name=None) -> nn.LayerNorm:
  return nn.LayerNorm(epsilon=1e-6, dtype=dtype, param_dtype=jnp.float32, name=name)


def _dense(features, dtype, name=None) -> nn.Dense:
  return nn.Dense(features, kernel_init=_dense_init, dtype=dtype, param_dtype=jnp.float32,
                  name=name)


def check_patch_size(image_size: int, patch_size: int) -> None:
  """Raises ConfigError unless `patch_size` divides `image_size`."""
  if image_size % patch_size:
    raise ConfigError(
        f"ViT patch_size {patch_size} does not divide image_size {image_size}; pick a patch "
        f"size that divides {image_size} (e.g. 2 for 8x8 or 16x16, 4 for 32x32, 16 for 224) "
        f"or resize the images.")


class _SelfAttention(nn.Module):
  """Multi-head self-attention with one fused qkv projection and an output projection."""

  num_heads: int
  dtype: Any
  dropout_rate: float

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    batch, tokens, dim = x.shape
    qkv = _dense(3 * dim, self.dtype, "qkv")(x)
    qkv = qkv.reshape(batch, tokens, 3, self.num_heads, dim // self.num_heads)
    attended = jax.nn.dot_product_attention(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2])
    y = _dense(dim, self.dtype, "proj")(attended.reshape(batch, tokens, dim))
    return nn.Dropout(self.dropout_rate, deterministic=not train)(y)


class _Mlp(nn.Module):
  """Dense(4 D) - GELU - dropout - Dense(D) - dropout."""

  dtype: Any
  dropout_rate: float

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    dim = x.shape[-1]
    y = _dense(_MLP_RATIO * dim, self.dtype)(x)
    y = nn.Dropout(self.dropout_rate, deterministic=not train)(nn.gelu(y, approximate=False))
    y = _dense(dim, self.dtype)(y)
    return nn.Dropout(self.dropout_rate, deterministic=not train)(y)


class _EncoderBlock(nn.Module):
  """x + DropPath(MHSA(LN(x))), then x + DropPath(MLP(LN(x)))."""

  num_heads: int
  dtype: Any
  dropout_rate: float
  drop_path_rate: float

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    y = _SelfAttention(self.num_heads, self.dtype, self.dropout_rate)(
        _layer_norm(self.dtype)(x), train)
    x = x + DropPath(self.drop_path_rate)(y, train)
    y = _Mlp(self.dtype, self.dropout_rate)(_layer_norm(self.dtype)(x), train)
    return x + DropPath(self.drop_path_rate)(y, train)


class ViT(nn.Module):
  """DeiT/ViT classifier on NHWC images (float input already normalised).

  Returns, as float32:
    * without a distillation token: class logits `[N, num_classes]`;
    * with one and `train=True`: `(class_logits, distill_logits)`, the class
      head trained on labels and the distillation head on the teacher;
    * with one and `train=False`: `log((softmax(class_logits) +
      softmax(distill_logits)) / 2)`; DeiT averages the two heads' softmax
      outputs at inference, and this is its log, a valid logits array.

  Dropout and stochastic depth draw from the "dropout" rng stream. There is no
  batch norm, so the model has no "batch_stats".

  Attributes:
    num_classes: number of logits per head.
    size: one of VIT_SIZES ("micro", "mini", "tiny", "small", "base").
    patch_size: side of the square patches (kernel and stride of the patch
      embedding convolution); must divide the image size.
    image_size: side of the square input images; if given, checked against the
      patch size at construction and against the input at call time.
    distillation_token: add DeiT's distillation token and head.
    dtype: compute dtype; parameters stay float32 and outputs are float32.
    dropout_rate: dropout after the position embeddings, the attention output
      projection and both MLP layers.
    stochastic_depth_rate: drop-path rate of the last block, rising linearly
      from 0 over the blocks (DeiT uses 0.1).
  """

  num_classes: int
  size: str = "tiny"
  patch_size: int = 16
  image_size: int | None = None
  distillation_token: bool = False
  dtype: Any = jnp.float32
  dropout_rate: float = 0.0
  stochastic_depth_rate: float = 0.0

  def __post_init__(self):
    if self.size not in VIT_SIZES:
      raise ConfigError(f"Unknown ViT size {self.size!r}; choose one of {sorted(VIT_SIZES)}.")
    if self.image_size is not None:
      check_patch_size(self.image_size, self.patch_size)
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool):
    height, width = x.shape[1:3]
    if self.image_size is not None and (height, width) != (self.image_size, self.image_size):
      raise ConfigError(
          f"ViT built for {self.image_size}x{self.image_size} images got {height}x{width}; "
          f"create the model with image_size={height} and, to reuse trained weights, pass "
          f"them through jaxssl.models.adapt_vit_params.")
    check_patch_size(height, self.patch_size)
    check_patch_size(width, self.patch_size)
    dim, num_blocks, num_heads = VIT_SIZES[self.size]
    num_tokens = 2 if self.distillation_token else 1

    patches = nn.Conv(dim, (self.patch_size, self.patch_size), strides=self.patch_size,
                      padding="VALID", dtype=self.dtype, param_dtype=jnp.float32,
                      name="patch_embed")(x.astype(self.dtype))
    batch, grid_h, grid_w, _ = patches.shape
    posemb_grid = self.param(POSEMB_GRID, _dense_init, (1, grid_h * grid_w, dim), jnp.float32)
    posemb_tokens = self.param("pos_embed_tokens", _dense_init, (1, num_tokens, dim),
                               jnp.float32)
    tokens = [self.param("cls_token", _dense_init, (1, 1, dim), jnp.float32)]
    if self.distillation_token:
      tokens.append(self.param("dist_token", _dense_init, (1, 1, dim), jnp.float32))
    tokens = jnp.concatenate(tokens, axis=1) + posemb_tokens
    x = jnp.concatenate([
        jnp.broadcast_to(tokens.astype(self.dtype), (batch, num_tokens, dim)),
        patches.reshape(batch, grid_h * grid_w, dim) + posemb_grid.astype(self.dtype),
    ], axis=1)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    for rate in drop_path_rates(self.stochastic_depth_rate, num_blocks):
      x = _EncoderBlock(num_heads, self.dtype, self.dropout_rate, rate)(x, train)
    x = _layer_norm(self.dtype, "final_norm")(x)

    class_logits = _dense(self.num_classes, self.dtype, "head")(x[:, 0]).astype(jnp.float32)
    if not self.distillation_token:
      return class_logits
    distill_logits = _dense(self.num_classes, self.dtype, "head_dist")(x[:, 1]).astype(jnp.float32)
    if train:
      return class_logits, distill_logits
    log_probs = jnp.stack([jax.nn.log_softmax(class_logits), jax.nn.log_softmax(distill_logits)])
    return jax.nn.logsumexp(log_probs, axis=0) - math.log(2.0)
