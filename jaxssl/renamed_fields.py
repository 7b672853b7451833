"""Config fields that were renamed or moved, so an old name fails with the new one.

Configs and command lines written for an earlier jaxssl set these fields; a
run that meets one stops before anything is written and says what to use.
"""

import ml_collections

from jaxssl.errors import ConfigError

# old dotted path -> what to use now.
RENAMED = {
    "ema_decay": "config.eval_ema_decay (the evaluation EMA of the weights)",
    "method.ema_decay": ("config.method.teacher_decay (Mean Teacher's teacher) or "
                         "config.eval_ema_decay (DeiT's evaluation EMA)"),
    "method.ema_decay_rampup": "config.method.teacher_decay_rampup (Mean Teacher)",
    "method.teacher_workdir": "config.teacher.workdir",
    "method.teacher_weights": ("config.teacher.weights (DeiT's distillation teacher) or "
                               "config.noisy_student.teacher_weights"),
    "method.optimizer": "config.optimizer.name",
    "method.finetune_optimizer": "config.finetune.optimizer.name",
    "method.stochastic_depth": "config.model.stochastic_depth_rate",
    "method.dropout": "config.model.dropout_rate",
    **{f"method.{field}": f"config.noisy_student.{field}" for field in (
        "rounds", "model_size_field", "model_sizes", "equal_or_larger", "pseudo_label",
        "confidence_threshold", "class_balance", "images_per_class")},
}


def replacement(path: str) -> str | None:
  """What to use instead of the config field `path` ("method.ema_decay"), or None."""
  return RENAMED.get(path.removeprefix("config."))


def _has(config: ml_collections.ConfigDict, path: str) -> bool:
  node = config
  for part in path.split("."):
    if not hasattr(node, "keys") or part not in node.keys():
      return False
    node = node[part]
  return True


def check(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError if `config` sets a field by its old name."""
  for old, new in RENAMED.items():
    if _has(config, old):
      raise ConfigError(f"config.{old} was renamed: use {new}.")
