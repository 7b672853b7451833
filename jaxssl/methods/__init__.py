"""SSL methods, one module each, built from their config by `make_method`.

Each `jaxssl/methods/<name>.py` has `OPTIONS` (its declared options) and
`make(method_config, *, num_classes, image_shape, flip) -> Method`.
"""

import importlib
from types import ModuleType

from jaxssl.errors import ConfigError
from jaxssl.methods.base import FrozenModel, Method

METHOD_NAMES = (
    "supervised",
    "pi_model",
    "temporal_ensembling",
    "mean_teacher",
    "vat",
    "pseudo_label",
    "mixmatch",
    "remixmatch",
    "fixmatch",
    "uda",
    "flexmatch",
    "freematch",
    "softmatch",
    "dash",
    "adamatch",
    "defixmatch",
    "simmatch",
    "comatch",
    "shrinkmatch",
    "noisy_student",
    "deit",
    "gan_ssl",
)


def method_module(name: str) -> ModuleType:
  """The module of the method registered under `name`."""
  if name not in METHOD_NAMES:
    raise ConfigError(
        f"Unknown method {name!r}. Set config.method.name to one of: "
        f"{', '.join(METHOD_NAMES)}.")
  return importlib.import_module(f"jaxssl.methods.{name}")


def make_method(method_config, *, num_classes: int, image_shape: tuple[int, int, int],
                flip: bool) -> Method:
  """Builds `config.method`'s method, checking every option (ConfigError if one is bad)."""
  return method_module(method_config.name).make(
      method_config, num_classes=num_classes, image_shape=tuple(image_shape), flip=flip)


__all__ = ["FrozenModel", "METHOD_NAMES", "Method", "make_method", "method_module"]
