"""ResNet-18/34 (basic blocks) and ResNet-50 (bottleneck blocks).

He et al. 2016, "Deep Residual Learning for Image Recognition", with the
stride of a bottleneck on its 3x3 convolution ("ResNet v1.5", as torchvision).
Two stems: the ImageNet stem (7x7 stride-2 convolution and 3x3 stride-2 max
pool) for images of 64 pixels and more, and the CIFAR stem (one 3x3
convolution, no pooling) that He et al. use for 32x32 inputs, so that small
images are not shrunk 4x before the first block. ResNet-18 with the CIFAR stem
has about 11.2M parameters at 10 classes.
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl.errors import ConfigError
from jaxssl.models.batch_norm import BatchNorm
from jaxssl.models.layers import DropPath, drop_path_rates

# depth -> (blocks per stage, bottleneck blocks?)
_ARCHITECTURES = {
    18: ((2, 2, 2, 2), False),
    34: ((3, 4, 6, 3), False),
    50: ((3, 4, 6, 3), True),
}
_STEMS = ("auto", "cifar", "imagenet")
_conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


class _BasicBlock(nn.Module):
  """conv3x3-BN-ReLU-conv3x3-BN plus shortcut, then ReLU; `filters` output channels."""

  filters: int
  strides: int
  drop_path_rate: float
  norm: Any
  conv: Any

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    y = nn.relu(self.norm()(self.conv(self.filters, (3, 3), strides=self.strides)(x)))
    y = self.norm()(self.conv(self.filters, (3, 3))(y))
    return nn.relu(_shortcut(x, self.filters, self.strides, self.norm, self.conv)
                   + DropPath(self.drop_path_rate)(y, train))


class _BottleneckBlock(nn.Module):
  """conv1x1-conv3x3(stride)-conv1x1 (each with BN) plus shortcut; 4 * `filters` outputs."""

  filters: int
  strides: int
  drop_path_rate: float
  norm: Any
  conv: Any

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    y = nn.relu(self.norm()(self.conv(self.filters, (1, 1))(x)))
    y = nn.relu(self.norm()(self.conv(self.filters, (3, 3), strides=self.strides)(y)))
    y = self.norm()(self.conv(4 * self.filters, (1, 1))(y))
    return nn.relu(_shortcut(x, 4 * self.filters, self.strides, self.norm, self.conv)
                   + DropPath(self.drop_path_rate)(y, train))


def _shortcut(x, filters, strides, norm, conv):
  """Identity, or a strided 1x1 convolution with BN where the shape changes."""
  if x.shape[-1] == filters and strides == 1:
    return x
  return norm()(conv(filters, (1, 1), strides=strides)(x))


class ResNet(nn.Module):
  """ResNet-depth (18, 34 or 50) on NHWC images (float input already normalised).

  Batch norm keeps running statistics in "batch_stats"; under `jax.jit` over a
  batch sharded across devices the statistics cover the global batch. Dropout
  and stochastic depth draw from the "dropout" rng stream.

  Attributes:
    num_classes: number of logits.
    depth: 18, 34 or 50.
    width: channels of the first stage (64 in the paper); the stages have
      width, 2 width, 4 width, 8 width (times 4 after bottlenecks).
    stem: "cifar" (3x3 conv), "imagenet" (7x7 stride-2 conv + max pool) or
      "auto", which picks the ImageNet stem for images of 64 pixels or more.
    dtype: compute dtype; parameters stay float32 and logits are float32.
    dropout_rate: dropout on the pooled features before the classifier.
    stochastic_depth_rate: drop-path rate of the last block, rising linearly
      from 0 over the blocks.
    bn_momentum: running-average decay of the batch statistics.
  """

  num_classes: int
  depth: int = 18
  width: int = 64
  stem: str = "auto"
  dtype: Any = jnp.float32
  dropout_rate: float = 0.0
  stochastic_depth_rate: float = 0.0
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    if self.depth not in _ARCHITECTURES:
      raise ConfigError(f"ResNet depth must be one of {sorted(_ARCHITECTURES)}, got "
                        f"{self.depth}; use the 'resnet18', 'resnet34' or 'resnet50' model.")
    if self.stem not in _STEMS:
      raise ConfigError(f"ResNet stem must be one of {_STEMS}, got {self.stem!r}; set "
                        f"model.kwargs.stem accordingly.")
    stage_sizes, bottleneck = _ARCHITECTURES[self.depth]
    block_cls = _BottleneckBlock if bottleneck else _BasicBlock
    conv = functools.partial(nn.Conv, use_bias=False, padding="SAME", kernel_init=_conv_init,
                             dtype=self.dtype, param_dtype=jnp.float32)
    norm = functools.partial(BatchNorm, use_running_average=not train,
                             momentum=self.bn_momentum, dtype=self.dtype,
                             param_dtype=jnp.float32)
    rates = iter(drop_path_rates(self.stochastic_depth_rate, sum(stage_sizes)))

    x = x.astype(self.dtype)
    imagenet_stem = self.stem == "imagenet" or (self.stem == "auto" and min(x.shape[1:3]) >= 64)
    if imagenet_stem:
      x = nn.relu(norm()(conv(self.width, (7, 7), strides=2)(x)))
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
    else:
      x = nn.relu(norm()(conv(self.width, (3, 3))(x)))
    for stage, num_blocks in enumerate(stage_sizes):
      for block in range(num_blocks):
        x = block_cls(filters=self.width * 2**stage,
                      strides=2 if block == 0 and stage > 0 else 1,
                      drop_path_rate=next(rates), norm=norm, conv=conv)(x, train)
    x = jnp.mean(x, axis=(1, 2))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    logits = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32)(x)
    return logits.astype(jnp.float32)
