"""Flax Linen networks behind a pure `apply_fn`, looked up by name.

Only this package knows the networks are Linen modules: the rest of jaxssl
holds plain pytrees ("params", "batch_stats") and calls

    apply_fn(params, batch_stats, x, train, rng) -> (logits, new_batch_stats)

from `make_apply_fn`. Images are NHWC floats in [0, 1]; `apply_fn`
normalises them per channel. Compute runs in the model's `dtype` (bf16 or
fp32) with float32 parameters, and logits come back in float32.

Batch-norm statistics: under `jax.jit` over a batch sharded on the "data"
mesh axis, the mean and variance are reductions over the whole (global)
batch, so every device normalises with the same statistics, as on one device.
"""

from jaxssl.models.build import (DTYPES, adapt_variables, build_model, check_image_size,
                                 compute_dtype, with_image_size)
from jaxssl.models.cnn13 import CNN13
from jaxssl.models.gan_discriminator import GANDiscriminator
from jaxssl.models.posemb import adapt_vit_params, resize_position_embeddings
from jaxssl.models.registry import (MODEL_NAMES, count_params, create_model, init_variables,
                                    make_apply_fn)
from jaxssl.models.resnet import ResNet
from jaxssl.models.small_cnn import SmallCNN
from jaxssl.models.vit import VIT_SIZES, ViT
from jaxssl.models.wide_resnet import WideResNet

__all__ = [
    "CNN13", "DTYPES", "GANDiscriminator", "MODEL_NAMES", "ResNet", "SmallCNN", "VIT_SIZES",
    "ViT", "WideResNet",
    "adapt_variables", "adapt_vit_params", "build_model", "check_image_size", "compute_dtype",
    "count_params", "create_model", "init_variables", "make_apply_fn",
    "resize_position_embeddings", "with_image_size",
]
