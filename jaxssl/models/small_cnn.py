"""A small CNN for 8x8 and 16x16 images (scikit-learn digits), fast on a CPU."""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl.models.batch_norm import BatchNorm
from jaxssl.models.pooling import max_pool_2x2


class SmallCNN(nn.Module):
  """conv(w)-conv(w)-maxpool-conv(2w)-conv(2w)-global average pool-dense.

  Every 3x3 convolution is followed by batch norm and ReLU. With the default
  width 32 and one input channel it has about 65k parameters. `width` is the
  knob Noisy Student (Xie et al. 2020, "Self-training with Noisy Student
  improves ImageNet classification") turns to make each student larger than
  its teacher. Batch norm keeps running statistics in "batch_stats"; under
  `jax.jit` over a sharded batch they cover the global batch. The network has
  no residual connections, so `create_model` ignores stochastic depth for it.

  Attributes:
    num_classes: number of logits.
    width: channels of the first two convolutions.
    dtype: compute dtype; parameters stay float32 and logits are float32.
    dropout_rate: dropout on the pooled features before the classifier (from
      the "dropout" rng stream).
    bn_momentum: running-average decay of the batch statistics; 0.9 because
      runs on digits are a few thousand steps at most.
  """

  num_classes: int
  width: int = 32
  dtype: Any = jnp.float32
  dropout_rate: float = 0.0
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    norm = functools.partial(BatchNorm, use_running_average=not train,
                             momentum=self.bn_momentum, dtype=self.dtype,
                             param_dtype=jnp.float32)

    def conv_bn_relu(x, filters):
      x = nn.Conv(filters, (3, 3), use_bias=False, dtype=self.dtype, param_dtype=jnp.float32)(x)
      return nn.relu(norm()(x))

    x = conv_bn_relu(x.astype(self.dtype), self.width)
    x = conv_bn_relu(x, self.width)
    x = max_pool_2x2(x)
    x = conv_bn_relu(x, 2 * self.width)
    x = conv_bn_relu(x, 2 * self.width)
    x = jnp.mean(x, axis=(1, 2))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    logits = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32)(x)
    return logits.astype(jnp.float32)
