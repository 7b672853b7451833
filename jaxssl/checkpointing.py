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
from absl import logging
from jax.experimental import multihost_utils

from jaxssl.errors import CheckpointUnreadableError, WorkdirMismatchError

# Fields a resumed run may change: none of them alters the numbers trained.
RESUMABLE_FIELDS = frozenset({
    "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
    "eval_batch_size", "num_devices", "steps_per_dispatch",
})
CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
UNREADABLE_DIR = "checkpoints_unreadable"  # where a checkpoint that can't be read is moved
TMP_SUFFIX = ".orbax-checkpoint-tmp"  # orbax writes a step here, then renames it when complete


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
    self._workdir = workdir
    self._directory = os.path.abspath(os.path.join(workdir, CHECKPOINT_DIR))
    self._manager = ocp.CheckpointManager(
        self._directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state: Any) -> None:
    self._manager.save(step, args=ocp.args.StandardSave(flax.serialization.to_state_dict(state)))

  def restore(self, state_template: Any) -> Any:
    """Restores the newest readable checkpoint into the structure and shardings of the template.

    A checkpoint that can't be read (a truncated or corrupt file) is moved,
    not deleted, to workdir/checkpoints_unreadable/<step>, with a warning, and
    the next older one is tried. (A save cut short never becomes a step:
    orbax writes into a temporary folder and renames it when complete.)
    """
    unfinished = sorted(name for name in os.listdir(self._directory) if TMP_SUFFIX in name)
    if unfinished:
      logging.warning("%s holds saves that were cut short (%s); they never became checkpoints "
                      "and are ignored.", self._directory, ", ".join(unfinished))
    target = flax.serialization.to_state_dict(state_template)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    unreadable = []
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
      except Exception as error:  # pylint: disable=broad-except
        # orbax/TensorStore report a truncated or corrupt file as a bare Exception.
        unreadable.append(step)
        logging.warning("The checkpoint at step %d in %s can't be read (%s); it is moved to "
                        "%s and an older one is tried.", step, self._workdir,
                        str(error).splitlines()[0][:300], self._set_aside(step))
        continue
      return flax.serialization.from_state_dict(state_template, restored)
    raise CheckpointUnreadableError(
        f"No checkpoint in {self._workdir} can be read (steps {unreadable}); they were moved to "
        f"{os.path.join(self._workdir, UNREADABLE_DIR)}. Start the run again in a new --workdir.")

  def _set_aside(self, step: int) -> str:
    """Moves checkpoint `step` out of the manager's folder (process 0; the others wait)."""
    destination = os.path.join(self._workdir, UNREADABLE_DIR, str(step))
    while os.path.exists(destination):  # set aside before, by an earlier start
      destination += "+"
    if jax.process_index() == 0:
      os.makedirs(os.path.dirname(destination), exist_ok=True)
      os.replace(os.path.join(self._directory, str(step)), destination)
    multihost_utils.sync_global_devices(f"jaxssl_set_aside_checkpoint_{step}")
    self._manager.reload()
    return destination

  def close(self) -> int | None:
    """Waits for saves in flight, closes; returns the latest saved step."""
    self._manager.wait_until_finished()
    latest = self._manager.latest_step()
    self._manager.close()
    return latest
