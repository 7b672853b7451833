"""CNN-13 ("conv-large"), the 13-layer network of the Pi-model and Mean Teacher papers.

Laine & Aila 2017, "Temporal Ensembling for Semi-Supervised Learning" (Table 5);
Tarvainen & Valpola 2017, "Mean teachers are better role models"; Miyato et
al. 2018, "Virtual Adversarial Training" (Table 4, "conv-large"). This is the
batch-norm version of VAT: every convolution is followed by batch norm and a
leaky ReLU with slope 0.1. The papers' input noise and translation are left to
`jaxssl.augment`. About 3.1M parameters at 10 classes.
"""

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl.errors import ConfigError
from jaxssl.models.batch_norm import BatchNorm
from jaxssl.models.pooling import max_pool_2x2


class CNN13(nn.Module):
  """conv-large for images of at least 12x12 pixels (32x32 in the papers).

  3x conv3x3(w), max-pool, dropout, 3x conv3x3(2w), max-pool, dropout,
  conv3x3(4w) valid, conv1x1(2w), conv1x1(w), global average pooling and a
  dense classifier (w = 128 in the papers). Batch norm keeps running
  statistics in "batch_stats"; under `jax.jit` over a sharded batch they cover
  the global batch. The network has no residual connections, so
  `create_model` ignores stochastic depth for it.

  Attributes:
    num_classes: number of logits.
    width: channels of the first stage (128 in the papers).
    dtype: compute dtype; parameters stay float32 and logits are float32.
    pool_dropout_rate: dropout after each max-pool, part of the architecture
      (0.5 in the papers).
    dropout_rate: dropout on the pooled features before the classifier (not in
      the papers; 0 by default).
    bn_momentum: running-average decay of the batch statistics.
  """

  num_classes: int
  width: int = 128
  dtype: Any = jnp.float32
  pool_dropout_rate: float = 0.5
  dropout_rate: float = 0.0
  bn_momentum: float = 0.999

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype, param_dtype=jnp.float32)
    norm = functools.partial(BatchNorm, use_running_average=not train,
                             momentum=self.bn_momentum, dtype=self.dtype,
                             param_dtype=jnp.float32)

    def conv_bn_act(x, filters, kernel, padding):
      x = conv(filters, (kernel, kernel), padding=padding)(x)
      return nn.leaky_relu(norm()(x), negative_slope=0.1)

    if min(x.shape[1:3]) < 12:
      raise ConfigError(f"CNN13 needs images of at least 12x12 pixels (two 2x2 pools, then a "
                        f"valid 3x3 conv), got {x.shape[1]}x{x.shape[2]}; use 'small_cnn' "
                        f"or upscale the images.")
    x = x.astype(self.dtype)
    for stage_filters in (self.width, 2 * self.width):
      for _ in range(3):
        x = conv_bn_act(x, stage_filters, 3, "SAME")
      x = max_pool_2x2(x)
      x = nn.Dropout(self.pool_dropout_rate, deterministic=not train)(x)
    x = conv_bn_act(x, 4 * self.width, 3, "VALID")
    x = conv_bn_act(x, 2 * self.width, 1, "VALID")
    x = conv_bn_act(x, self.width, 1, "VALID")
    x = jnp.mean(x, axis=(1, 2))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    logits = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32)(x)
    return logits.astype(jnp.float32)
