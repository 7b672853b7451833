"""The discriminator-classifier of Salimans et al. (2016) for GAN-based SSL.

"Improved Techniques for Training GANs", the CIFAR-10 and SVHN network of the
authors' code (openai/improved-gan, train_cifar_feature_matching.py):

  dropout 0.2 (input) -> 3x conv3x3(w) -> dropout 0.5 -> 3x conv3x3(2w) -> dropout 0.5
  -> conv3x3(2w, valid) -> 2x conv1x1(2w) -> global average pool -> dense(K)

every layer weight-normalized (Salimans & Kingma, 2016), leaky ReLU (slope
0.2) after every convolution, the third convolution of each stage with
stride 2. w = 96 on CIFAR-10 (192 in the second stage), 64 on SVHN. Earlier
versions of that code put Gaussian noise (sigma 0.2 on images in [-1, 1])
on the input instead of dropout: `input_noise`.

Differences: weight norm's scale starts at 1 (unit-norm filters) rather than
at the authors' data-dependent initialization, and the valid 3x3
convolution turns "same" when the feature map is smaller than 3x3 (8x8
digits: 2x2 after the two strided stages).
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class GANDiscriminator(nn.Module):
  """The K-logit classifier whose logits also say real vs generated (losses.gan).

  With `return_features` the training-mode call returns `(logits,
  features)`, the globally pooled 2w features the generator's feature
  matching compares (the authors' `disc_layers[-2]`); evaluation returns
  logits alone. No batch norm: the network keeps no "batch_stats".

  Attributes:
    num_classes: number of logits K.
    width: channels w of the first stage (the second has 2w).
    dtype: compute dtype; parameters stay float32 and logits are float32.
    dropout_rate: dropout after each stage (0.5 in the paper).
    input_dropout: dropout on the input image (0.2 in the paper).
    input_noise: standard deviation of Gaussian noise on the (normalized)
      input; 0: none.
    return_features: return (logits, features) in training mode (GAN-SSL).
  """

  num_classes: int
  width: int = 96
  dtype: Any = jnp.float32
  dropout_rate: float = 0.5
  input_dropout: float = 0.2
  input_noise: float = 0.0
  return_features: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool):
    def conv(x, features, kernel=3, stride=1, padding="SAME"):
      layer = nn.Conv(features, (kernel, kernel), strides=stride, padding=padding,
                      dtype=self.dtype, param_dtype=jnp.float32,
                      kernel_init=nn.initializers.normal(0.05))
      return nn.leaky_relu(nn.WeightNorm(layer)(x), 0.2)

    x = x.astype(self.dtype)
    if train and self.input_noise:
      x = x + self.input_noise * jax.random.normal(self.make_rng("dropout"), x.shape, x.dtype)
    x = nn.Dropout(self.input_dropout, deterministic=not train)(x)
    for width in (self.width, 2 * self.width):
      x = conv(x, width)
      x = conv(x, width)
      x = conv(x, width, stride=2)
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = conv(x, 2 * self.width, padding="VALID" if min(x.shape[1:3]) >= 3 else "SAME")
    x = conv(x, 2 * self.width, kernel=1)
    x = conv(x, 2 * self.width, kernel=1)
    features = jnp.mean(x, axis=(1, 2)).astype(jnp.float32)
    logits = nn.WeightNorm(nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32,
                                    kernel_init=nn.initializers.normal(0.05)))(features)
    logits = logits.astype(jnp.float32)
    if train and self.return_features:
      return logits, features
    return logits
