"""The generator of GAN-based SSL (Salimans et al., 2016), owned by methods/gan_ssl.

Not a classifier, so not in jaxssl.models: the method creates it and keeps
its parameters in its own state.

The CIFAR-10/SVHN generator of "Improved Techniques for Training GANs" (the
authors' code, openai/improved-gan):

  z ~ U[0, 1)^100 -> dense(4*4*512), BN, ReLU -> deconv5x5/2(256), BN, ReLU
  -> deconv5x5/2(128), BN, ReLU -> deconv5x5/2(3), weight norm, tanh

Batch norm (Ioffe & Szegedy, 2015) has a learned shift and no scale, as in
that code, and always normalizes with the statistics of the generated batch:
the generator only ever runs in training mode, so it keeps no running
averages. The output is a sigmoid, i.e. (tanh(a/2) + 1) / 2, because jaxssl's
images are in [0, 1] where the authors' were in [-1, 1].
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

# name -> channels of the dense layer's map and of each hidden deconvolution.
GENERATORS = {
    "improved_gan": (512, 256, 128),  # the paper's CIFAR-10/SVHN generator
    "tiny": (64, 32),                 # 8x8 digits: 2x2x64 -> 4x4x32 -> 8x8x1
}


def upsamplings(name: str) -> int:
  """How many times the generator doubles its map: the image side must be a multiple of 2^this."""
  return len(GENERATORS[name])


class BatchStatNorm(nn.Module):
  """(x - mean) / sqrt(var + eps) + beta, the statistics over every axis but the last."""

  epsilon: float = 1e-4

  @nn.compact
  def __call__(self, x):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axes)
    variance = jnp.square(x - mean).mean(axes)
    shift = self.param("bias", nn.initializers.zeros, (x.shape[-1],))
    return (x - mean) * jax.lax.rsqrt(variance + self.epsilon) + shift


class Generator(nn.Module):
  """G(z) -> images [N, H, W, C] in (0, 1).

  Attributes:
    image_shape: (H, W, C) of the images to generate; H and W multiples of
      2^len(widths).
    widths: channels of the dense layer's map and of the hidden
      deconvolutions (GENERATORS).
  """

  image_shape: tuple[int, int, int]
  widths: tuple[int, ...]

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    height, width, channels = self.image_shape
    scale = 2 ** len(self.widths)
    init = nn.initializers.normal(0.05)
    x = nn.Dense(height // scale * width // scale * self.widths[0], use_bias=False,
                 kernel_init=init)(z)
    # Each of the dense layer's units is normalized on its own, then reshaped to a map.
    x = nn.relu(BatchStatNorm()(x)).reshape(-1, height // scale, width // scale, self.widths[0])
    for features in self.widths[1:]:
      x = nn.ConvTranspose(features, (5, 5), strides=(2, 2), use_bias=False, kernel_init=init)(x)
      x = nn.relu(BatchStatNorm()(x))
    x = nn.WeightNorm(nn.ConvTranspose(channels, (5, 5), strides=(2, 2), kernel_init=init))(x)
    return nn.sigmoid(x)
