"""On-device image augmentation, pure jnp.

Conventions:
- Images are float32 [N, H, W, C] in [0, 1], NHWC, any H, W and C (8x8
  grey digits up to 224x224 RGB). `to_float` converts the uint8 images the
  data sources yield. Every function returns the same shape and dtype, with
  values still in [0, 1].
- Batch functions are pure `(key, images, ...) -> images` and draw their
  randomness per example from `key`, so the same key gives the same output.
  They work under `jit`, with `vmap`, and on a batch sharded over a device
  mesh (`P('data')`); the result does not depend on the sharding.
- The single ops (`posterize(images, bits)`, `rotate(images, degrees)`, ...)
  take one image or a batch sharing one parameter; `jax.vmap` them to give
  each image its own parameter.
- This package imports jax and dm_pix only, nothing else from jaxssl.
"""

from jaxssl.augment import ctaugment
from jaxssl.augment.colour import (autocontrast, brightness, color, contrast, equalize,
                                   posterize, sharpness, solarize)
from jaxssl.augment.geometric import (rotate, shear_x, shear_y, translate_x, translate_y,
                                      warp)
from jaxssl.augment.mixing import cutmix_batch
from jaxssl.augment.occlusion import cutout, random_erasing
from jaxssl.augment.rand_augment import (FIXMATCH_POLICY, REFERENCE_GEOMETRY_POLICY, ColourOp,
                                        GeometricOp, Range, randaugment)
from jaxssl.augment.views import gaussian_noise, strong, to_float, weak

__all__ = [
    "FIXMATCH_POLICY",
    "REFERENCE_GEOMETRY_POLICY",
    "ColourOp",
    "GeometricOp",
    "Range",
    "autocontrast",
    "brightness",
    "color",
    "contrast",
    "ctaugment",
    "cutmix_batch",
    "cutout",
    "equalize",
    "gaussian_noise",
    "posterize",
    "random_erasing",
    "randaugment",
    "rotate",
    "sharpness",
    "shear_x",
    "shear_y",
    "solarize",
    "strong",
    "to_float",
    "translate_x",
    "translate_y",
    "warp",
    "weak",
]
