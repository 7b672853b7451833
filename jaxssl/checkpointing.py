"""orbax checkpoints with automatic resume, and the workdir's run identity.

A workdir belongs to one run. The first start writes `config.json`; a later
start in the same workdir must carry the same config, apart from fields that
only change how the run is watched (logging, eval and checkpoint cadence,
device count), or it is refused before anything is written.
"""

import json
import os
from typing import Any

import flax.serialization
import jax
import ml_collections
import orbax.checkpoint as ocp

from jaxssl.errors import WorkdirMismatchError

# Fields a resumed run may change: none of them alters the numbers trained.
RESUMABLE_FIELDS = frozenset({
    "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
    "eval_batch_size", "num_devices", "steps_per_dispatch",
})
CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"


def _comparable(config_dict: dict) -> dict:
  return {k: v for k, v in config_dict.items() if k not in RESUMABLE_FIELDS}


def _flat_diff(old: dict, new: dict, prefix: str = "") -> list[str]:
  diffs = []
  for key in sorted(set(old) | set(new)):
    a, b = old.get(key, "<missing>"), new.get(key, "<missing>")
    if isinstance(a, dict) and isinstance(b, dict):
      diffs += _flat_diff(a, b, f"{prefix}{key}.")
    elif a != b:
      diffs.append(f"{prefix}{key}: {a!r} in the workdir, {b!r} now")
  return diffs


def claim_workdir(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Writes config.json, or checks that the workdir's run has this config."""
  try:
    _claim(workdir, config)
  except OSError as error:
    raise WorkdirMismatchError(
        f"Cannot write the run to {workdir}: {error.strerror or error} "
        f"({error.filename or workdir}). Pass a --workdir you can write to; nothing in "
        f"{workdir} was changed.") from error


def _claim(workdir: str, config: ml_collections.ConfigDict) -> None:
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, CONFIG_FILE)
  new = json.loads(config.to_json())
  if not os.path.exists(path):
    if os.path.isdir(os.path.join(workdir, CHECKPOINT_DIR)):
      raise WorkdirMismatchError(
          f"{workdir} holds checkpoints but no {CONFIG_FILE}, so it can't be checked "
          f"against this config. Use a new --workdir (nothing was changed in {workdir}).")
    with open(path, "w") as f:
      json.dump(new, f, indent=2, sort_keys=True)
    return
  with open(path) as f:
    old = json.load(f)
  diffs = _flat_diff(_comparable(old), _comparable(new))
  if diffs:
    raise WorkdirMismatchError(
        f"{workdir} holds a run with a different config:\n  " + "\n  ".join(diffs[:10]) +
        "\nResume with the same config, or pass a new --workdir "
        "(nothing in the existing workdir was changed).")


class Checkpointer:
  """Keeps the last `keep` train states under workdir/checkpoints."""

  def __init__(self, workdir: str, keep: int):
    self._manager = ocp.CheckpointManager(
        os.path.abspath(os.path.join(workdir, CHECKPOINT_DIR)),
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state: Any) -> None:
    self._manager.save(step, args=ocp.args.StandardSave(flax.serialization.to_state_dict(state)))

  def restore(self, state_template: Any) -> Any:
    """Restores the latest checkpoint into the structure and shardings of the template."""
    target = flax.serialization.to_state_dict(state_template)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    restored = self._manager.restore(
        self._manager.latest_step(), args=ocp.args.StandardRestore(abstract))
    return flax.serialization.from_state_dict(state_template, restored)

  def close(self) -> int | None:
    """Waits for saves in flight, closes; returns the latest saved step."""
    self._manager.wait_until_finished()
    latest = self._manager.latest_step()
    self._manager.close()
    return latest
