"""The network registry: create a model by name, initialise it, wrap it in a pure apply_fn."""

import dataclasses
import logging
import math
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.errors import ConfigError
from jaxssl.models.cnn13 import CNN13
from jaxssl.models.gan_discriminator import GANDiscriminator
from jaxssl.models.resnet import ResNet
from jaxssl.models.small_cnn import SmallCNN
from jaxssl.models.vit import ViT
from jaxssl.models.wide_resnet import WideResNet

@dataclasses.dataclass(frozen=True)
class _Entry:
  module: type[nn.Module]
  fixed: dict[str, Any]
  residual: bool  # whether the network has residual branches for stochastic depth


_REGISTRY = {
    "small_cnn": _Entry(SmallCNN, {}, residual=False),
    "wrn": _Entry(WideResNet, {}, residual=True),
    "cnn13": _Entry(CNN13, {}, residual=False),
    "resnet18": _Entry(ResNet, {"depth": 18}, residual=True),
    "resnet34": _Entry(ResNet, {"depth": 34}, residual=True),
    "resnet50": _Entry(ResNet, {"depth": 50}, residual=True),
    "vit": _Entry(ViT, {}, residual=True),
    "gan_discriminator": _Entry(GANDiscriminator, {}, residual=False),
}
MODEL_NAMES = tuple(_REGISTRY)
_COMMON_FIELDS = {"parent", "name", "num_classes", "dtype", "dropout_rate",
                  "stochastic_depth_rate"}
# Options of networks that already return a pair in training mode, which `extra_logits` can't join.
_PAIR_OUTPUTS = ("distillation_token", "return_features")


class ExtraLogits(nn.Module):
  """A network whose final linear layer has `num_extra` more outputs than classes.

  The extra columns are a second linear head on the classifier's features
  (e.g. ReMixMatch's 4-way rotation head, Berthelot et al., 2020, Sec. 3.3):
  a training-mode call returns `(class_logits, extra_logits)`, an eval-mode
  call the class logits alone, so evaluation and teachers see an ordinary
  classifier.
  """

  network: nn.Module
  num_classes: int

  @nn.compact
  def __call__(self, x: jax.Array, train: bool):
    logits = self.network(x, train)
    if train:
      return logits[:, :self.num_classes], logits[:, self.num_classes:]
    return logits[:, :self.num_classes]



def create_model(name: str, num_classes: int, *, dtype=jnp.float32, dropout_rate: float = 0.0,
                 stochastic_depth_rate: float = 0.0, **kwargs) -> nn.Module:
  """Builds a registered network.

  Names and their kwargs (see each module's docstring for the papers):
    "small_cnn" (width, bn_momentum): small CNN for 8x8/16x16 digits.
    "wrn" (depth=28, width=2, bn_momentum): Wide ResNet of Oliver et al. 2018.
    "cnn13" (width, pool_dropout_rate, bn_momentum): conv-large of Laine & Aila.
    "resnet18", "resnet34", "resnet50" (width, stem, bn_momentum): He et al. 2016.
    "vit" (size, patch_size, image_size, distillation_token): DeiT.
    "gan_discriminator" (width, input_dropout, input_noise, return_features):
      Salimans et al. 2016's weight-normalized CNN for GAN-based SSL.
  Every network also takes `extra_logits` (default 0): that many more outputs
  of its final linear layer, returned apart in training mode (`ExtraLogits`).

  "small_cnn", "cnn13" and "gan_discriminator" have no residual branches, so they ignore
  `stochastic_depth_rate` (with a logged warning when it is not 0).

  Args:
    name: one of MODEL_NAMES.
    num_classes: number of logits.
    dtype: compute dtype (jnp.bfloat16 or jnp.float32); parameters are float32.
    dropout_rate: dropout before the classifier (ViT: inside the blocks too).
    stochastic_depth_rate: drop-path rate of the last residual block, rising
      linearly from 0 over the blocks.
    **kwargs: architecture options of the named network.

  Raises:
    ConfigError: for an unknown name, an option the network does not take, or
      an invalid option value.
  """
  if name not in _REGISTRY:
    raise ConfigError(f"Unknown model {name!r}; valid names: {', '.join(MODEL_NAMES)}.")
  entry = _REGISTRY[name]
  extra_logits = kwargs.pop("extra_logits", 0)
  if isinstance(extra_logits, bool) or not isinstance(extra_logits, int) or extra_logits < 0:
    raise ConfigError(f"config.model.kwargs.extra_logits={extra_logits!r}; use a whole number "
                      ">= 0.")
  if extra_logits and any(kwargs.get(option) for option in _PAIR_OUTPUTS):
    raise ConfigError(f"Model {name!r} with {[o for o in _PAIR_OUTPUTS if kwargs.get(o)]} "
                      "already returns a pair in training mode; it can't take extra_logits.")
  accepted = {f.name for f in dataclasses.fields(entry.module)} - _COMMON_FIELDS - set(entry.fixed)
  unknown = set(kwargs) - accepted
  if unknown:
    raise ConfigError(f"Model {name!r} does not take {sorted(unknown)}; it takes "
                      f"{sorted(accepted | {'extra_logits'})} (set in config.model.kwargs).")
  common = dict(num_classes=num_classes + extra_logits, dtype=dtype, dropout_rate=dropout_rate)
  if entry.residual:
    common["stochastic_depth_rate"] = stochastic_depth_rate
  elif stochastic_depth_rate:
    logging.warning("Model %r has no residual branches; ignoring stochastic_depth_rate=%s.",
                    name, stochastic_depth_rate)
  network = entry.module(**common, **entry.fixed, **kwargs)
  return ExtraLogits(network, num_classes) if extra_logits else network


def init_variables(model: nn.Module, key: jax.Array, image_shape) -> dict[str, Any]:
  """Initial variables for images of shape `image_shape` = (H, W, C).

  Returns:
    {"params": ..., "batch_stats": ...}, with `{}` as batch stats for networks
    without batch norm.
  """
  variables = model.init({"params": key}, jnp.zeros((1, *image_shape), jnp.float32), train=False)
  return {"params": variables["params"], "batch_stats": variables.get("batch_stats", {})}


def make_apply_fn(model: nn.Module, mean, std) -> Callable[..., tuple[Any, Any]]:
  """A pure `apply_fn(params, batch_stats, x, train, rng) -> (logits, new_batch_stats)`.

  `x` is float `[N, H, W, C]` in [0, 1] and is normalised to (x - mean) / std
  per channel before the network. With `train=True` dropout and stochastic
  depth draw from `rng` (the "dropout" stream) and batch norm uses and updates
  the batch statistics (of the global batch under jit over a sharded batch).
  With `train=False`, `rng` may be None and the running statistics are used.
  The input `batch_stats` come back unchanged for `train=False` and for
  networks without batch norm. A ViT with a distillation token returns
  `(class_logits, distill_logits)` as logits when `train=True`.

  Args:
    model: a module from `create_model`.
    mean: per-channel mean of the [0, 1] training images, shape [C].
    std: per-channel standard deviation, shape [C].
  """
  mean = np.asarray(mean, np.float32)
  std = np.asarray(std, np.float32)

  def apply_fn(params, batch_stats, x, train: bool, rng):
    x = (x.astype(jnp.float32) - mean) / std
    variables = {"params": params}
    if batch_stats:
      variables["batch_stats"] = batch_stats
    rngs = {} if rng is None else {"dropout": rng}
    if train and batch_stats:
      logits, updates = model.apply(variables, x, train=True, rngs=rngs, mutable=["batch_stats"])
      return logits, updates["batch_stats"]
    return model.apply(variables, x, train=train, rngs=rngs), batch_stats

  return apply_fn


def count_params(params) -> int:
  """Number of scalars in a parameter pytree (arrays or `jax.ShapeDtypeStruct`s)."""
  return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))
