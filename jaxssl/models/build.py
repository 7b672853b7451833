"""A run's model from its config: the network, its apply_fn, and resolution changes.

`build_model` reads `config.model` (name, kwargs, dropout_rate,
stochastic_depth_rate) and `config.dtype`. The resolution functions let a
multi-stage run train one network at one image size and continue at another
(DeiT's fine-tuning at a higher resolution, Touvron et al., 2021, Sec. 6)
without knowing which network it is.
"""

from typing import Any, Callable

import jax.numpy as jnp
import ml_collections

from jaxssl.errors import ConfigError
from jaxssl.models import posemb, vit
from jaxssl.models.registry import create_model, make_apply_fn

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(config: ml_collections.ConfigDict):
  """The jnp dtype of `config.dtype`, or a ConfigError naming the choices."""
  if config.dtype not in DTYPES:
    raise ConfigError(f"config.dtype={config.dtype!r}; use one of {list(DTYPES)}.")
  return DTYPES[config.dtype]


def build_model(config: ml_collections.ConfigDict, num_classes: int, mean, std
                ) -> tuple[Any, Callable]:
  """The network of `config.model` and its `apply_fn`, normalizing inputs with (mean, std).

  mean and std are the per-channel statistics of the training images on the
  [0, 1] scale (`jaxssl.data.channel_stats`).
  """
  model = create_model(
      config.model.name, num_classes, dtype=compute_dtype(config),
      dropout_rate=config.model.dropout_rate,
      stochastic_depth_rate=config.model.stochastic_depth_rate, **config.model.kwargs)
  return model, make_apply_fn(model, mean, std)


def check_image_size(model_config: ml_collections.ConfigDict, image_size: int) -> None:
  """Refuses a network that can't take square images of side `image_size`.

  Convolutional networks take any size. A ViT needs a patch size that divides
  it, and the size it was built for (kwargs.image_size) must match.
  """
  if model_config.name != "vit":
    return
  vit.check_patch_size(image_size, model_config.kwargs.patch_size)
  built_for = model_config.kwargs.get("image_size")
  if built_for not in (None, image_size):
    raise ConfigError(
        f"config.model.kwargs.image_size={built_for} but the run trains on "
        f"{image_size}x{image_size} images; set it to {image_size} (or config.data.image_size "
        f"to {built_for}).")


def with_image_size(model_config: ml_collections.ConfigDict, image_size: int
                    ) -> ml_collections.ConfigDict:
  """`model_config` for images of side `image_size` (a ViT's kwargs.image_size follows)."""
  resized = model_config.copy_and_resolve_references()
  if "image_size" in resized.kwargs:
    resized.kwargs.image_size = image_size
  return resized


def adapt_variables(model_config: ml_collections.ConfigDict, variables: dict,
                    image_size: int) -> dict:
  """Trained variables made fit for images of side `image_size`.

  Convolutional networks are unchanged. A ViT's patch-grid position
  embeddings are interpolated bicubically to the new grid (Dosovitskiy et
  al., 2021, Sec. 3.2); its token embeddings are kept.
  """
  if model_config.name != "vit":
    return variables
  return {**variables, "params": posemb.adapt_vit_params(
      variables["params"], image_size, model_config.kwargs.patch_size)}
