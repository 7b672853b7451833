"""Wide ResNet (WRN-depth-k) as used for CIFAR-10/SVHN semi-supervised benchmarks.

Zagoruyko & Komodakis 2016, "Wide Residual Networks", in the variant of
Oliver et al. 2018, "Realistic Evaluation of Deep Semi-Supervised Learning
Algorithms", that MixMatch (Berthelot et al. 2019) and FixMatch (Sohn et al.
2020) reuse: pre-activation blocks, leaky ReLU with slope 0.1, batch norm with
momentum 0.999, He-normal (fan-out) convolution initialisation and a
Glorot-normal classifier. WRN-28-2 has about 1.47M parameters at 10 classes.
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl.errors import ConfigError
from jaxssl.models.batch_norm import BatchNorm
from jaxssl.models.layers import DropPath, drop_path_rates

_conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def _leaky_relu(x: jax.Array) -> jax.Array:
  return nn.leaky_relu(x, negative_slope=0.1)


class _PreActBlock(nn.Module):
  """BN-lReLU-conv3x3-BN-lReLU-conv3x3 plus a (1x1 conv when reshaped) shortcut.

  `activate_before_residual` feeds the shortcut with the activated input, which
  the reference implementation does only in the first group, whose input is the
  raw stem convolution.
  """

  filters: int
  strides: int
  activate_before_residual: bool
  drop_path_rate: float
  norm: Any
  conv: Any

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    activated = _leaky_relu(self.norm()(x))
    shortcut = activated if self.activate_before_residual else x
    y = self.conv(self.filters, (3, 3), strides=self.strides)(activated)
    y = _leaky_relu(self.norm()(y))
    y = self.conv(self.filters, (3, 3))(y)
    if shortcut.shape[-1] != self.filters:
      shortcut = self.conv(self.filters, (1, 1), strides=self.strides)(shortcut)
    return shortcut + DropPath(self.drop_path_rate)(y, train)


class WideResNet(nn.Module):
  """WRN-depth-width for small images (NHWC, float input already normalised).

  Three groups of (depth - 4) / 6 blocks with 16k, 32k and 64k channels, the
  second and third starting with stride 2, then BN-lReLU, global average
  pooling, dropout and a dense classifier.

  Batch norm keeps running statistics in the "batch_stats" collection. Under
  `jax.jit` over a batch sharded across devices the batch statistics cover the
  global batch, not each device's share. Dropout and stochastic depth draw from
  the "dropout" rng stream.

  Attributes:
    num_classes: number of logits.
    depth: total depth, 6n + 4 (28 in the papers).
    width: widening factor k (2 for CIFAR-10/SVHN, 8 for CIFAR-100).
    dtype: compute dtype; parameters stay float32 and logits are float32.
    dropout_rate: dropout on the pooled features before the classifier.
    stochastic_depth_rate: drop-path rate of the last block, rising linearly
      from 0 over the blocks.
    bn_momentum: running-average decay of the batch statistics.
  """

  num_classes: int
  depth: int = 28
  width: int = 2
  dtype: Any = jnp.float32
  dropout_rate: float = 0.0
  stochastic_depth_rate: float = 0.0
  bn_momentum: float = 0.999

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    if self.depth < 10 or (self.depth - 4) % 6:
      raise ConfigError(f"WideResNet depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), "
                        f"got {self.depth}; set model.kwargs.depth to e.g. 28.")
    blocks_per_group = (self.depth - 4) // 6
    conv = functools.partial(nn.Conv, use_bias=False, padding="SAME", kernel_init=_conv_init,
                             dtype=self.dtype, param_dtype=jnp.float32)
    # epsilon 1e-3 is the TensorFlow default that the reference WRN was trained with.
    norm = functools.partial(BatchNorm, use_running_average=not train,
                             momentum=self.bn_momentum, epsilon=1e-3,
                             dtype=self.dtype, param_dtype=jnp.float32)
    rates = drop_path_rates(self.stochastic_depth_rate, 3 * blocks_per_group)

    x = conv(16, (3, 3))(x.astype(self.dtype))
    for group in range(3):
      for block in range(blocks_per_group):
        first = block == 0
        x = _PreActBlock(filters=16 * self.width * 2**group,
                         strides=2 if first and group > 0 else 1,
                         activate_before_residual=first and group == 0,
                         drop_path_rate=rates[group * blocks_per_group + block],
                         norm=norm, conv=conv)(x, train)
    x = _leaky_relu(norm()(x))
    x = jnp.mean(x, axis=(1, 2))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    logits = nn.Dense(self.num_classes, kernel_init=nn.initializers.glorot_normal(),
                      dtype=self.dtype, param_dtype=jnp.float32)(x)
    return logits.astype(jnp.float32)
