"""Run records: metrics.jsonl, TensorBoard, console lines and results.json."""

import json
import os
import statistics
import time

from absl import logging
from tensorboardX import SummaryWriter

METRICS_FILE = "metrics.jsonl"
RESULTS_FILE = "results.json"


class MetricWriter:
  """Appends one JSON line per record and mirrors scalars to TensorBoard."""

  def __init__(self, workdir: str, enabled: bool = True):
    self._enabled = enabled
    self._path = os.path.join(workdir, METRICS_FILE)
    self._tensorboard = SummaryWriter(os.path.join(workdir, "tensorboard")) if enabled else None

  def write(self, step: int, kind: str, values: dict[str, float]) -> None:
    if not self._enabled:
      return
    with open(self._path, "a") as f:
      f.write(json.dumps({"step": step, "kind": kind, **values}) + "\n")
    for name, value in values.items():
      self._tensorboard.add_scalar(f"{kind}/{name}", value, step)
    self._tensorboard.flush()

  def close(self) -> None:
    if self._tensorboard is not None:
      self._tensorboard.close()


def drop_records_after(workdir: str, step: int) -> None:
  """Removes the records past `step` (the checkpoint a run resumes from) from metrics.jsonl.

  The steps after the last checkpoint of an interrupted attempt are trained
  again, so their rows would otherwise appear twice. The file is replaced
  atomically; a line cut short by a kill is dropped with them.
  """
  path = os.path.join(workdir, METRICS_FILE)
  if not os.path.exists(path):
    return
  with open(path) as f:
    lines = f.read().splitlines()
  kept = []
  for line in lines:
    try:
      if json.loads(line)["step"] <= step:
        kept.append(line)
    except (ValueError, KeyError):
      continue
  if len(kept) == len(lines):
    return
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write("".join(line + "\n" for line in kept))
  os.replace(tmp, path)


def read_records(workdir: str | os.PathLike, kind: str | None = None) -> list[dict]:
  """The records of workdir/metrics.jsonl in the file's order ([] without the file).

  Args:
    workdir: the run's workdir.
    kind: only the records of this kind ("train", "eval"); None: all.

  A line that is not JSON (cut short by a killed run, or being written) is skipped.
  """
  path = os.path.join(workdir, METRICS_FILE)
  if not os.path.exists(path):
    return []
  records = []
  with open(path) as f:
    for line in f:
      try:
        records.append(json.loads(line))
      except json.JSONDecodeError:
        continue
  return [r for r in records if kind is None or r["kind"] == kind]


def read_evals(workdir: str, up_to_step: int) -> list[dict]:
  """The eval records of an earlier attempt at this run, up to its checkpoint."""
  by_step = {r["step"]: r for r in read_records(workdir, "eval") if r["step"] <= up_to_step}
  return [by_step[s] for s in sorted(by_step)]


def summarize(evals: list[dict], keys: tuple[str, ...]) -> dict:
  """Final, best and median-of-last-20 accuracies for each eval key."""
  summary = {}
  for key in keys:
    values = [r[key] for r in evals if key in r]
    if values:
      summary[key] = {"final": values[-1], "best": max(values),
                      "median_last_20": statistics.median(values[-20:])}
  return summary


def write_results(workdir: str, results: dict) -> None:
  tmp = os.path.join(workdir, RESULTS_FILE + ".tmp")
  with open(tmp, "w") as f:
    json.dump(results, f, indent=2, sort_keys=True)
  os.replace(tmp, os.path.join(workdir, RESULTS_FILE))


class Progress:
  """Console line: step, steps/s, ETA, losses, accuracy."""

  def __init__(self, start_step: int, total_steps: int):
    self._total = total_steps
    self._last_step, self._last_time = start_step, time.perf_counter()

  def log(self, step: int, metrics: dict[str, float]) -> float:
    now = time.perf_counter()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self._total - step) / max(rate, 1e-9)
    shown = "  ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
    logging.info("step %d/%d  %.1f steps/s  ETA %dm%02ds  %s",
                 step, self._total, rate, eta // 60, eta % 60, shown)
    return rate
