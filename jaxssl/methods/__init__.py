"""SSL methods, each one module with a module-level `METHOD`.

Look a method up by `config.method.name` with `get_method`.
"""

import importlib

from jaxssl.errors import ConfigError
from jaxssl.methods.base import Method

METHOD_NAMES = (
    "supervised",
    "pi_model",
    "temporal_ensembling",
    "mean_teacher",
    "vat",
    "pseudo_label",
    "mixmatch",
    "fixmatch",
    "noisy_student",
    "deit",
)


def get_method(name: str) -> Method:
  """Returns the `Method` registered under `name`."""
  if name not in METHOD_NAMES:
    raise ConfigError(
        f"Unknown method {name!r}. Set config.method.name to one of: "
        f"{', '.join(METHOD_NAMES)}.")
  return importlib.import_module(f"jaxssl.methods.{name}").METHOD


__all__ = ["Method", "METHOD_NAMES", "get_method"]
