"""Preemption: a real SIGTERM sent to launch.py mid-run, then the same command again.

The interrupted run must finish its step, write a checkpoint, say how to
resume and exit with 128 + 15; the rerun must end with the parameters of a run
that was never interrupted, and metrics.jsonl must not repeat a step.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp

import launch
from jaxssl import metrics_log

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOTAL_STEPS = 40  # SIGTERM at step 10 or a little later; a margin to stop before the end


def tiny_fixmatch_command(workdir, cache, total_steps: int, evals: int = 1) -> list[str]:
  """launch.py argv of a small FixMatch on digits: a log every 2 steps, a checkpoint at the end."""
  return ["launch.py", "--config=configs/fixmatch.py", f"--workdir={workdir}",
          "--config.model.kwargs.width=8", "--config.batch_size=8", "--config.unlabeled_ratio=2",
          f"--config.total_steps={total_steps}", "--config.log_every=2",
          f"--config.eval_every={total_steps // evals}", f"--config.checkpoint_every={total_steps}",
          f"--compilation_cache={cache}"]


def command(workdir, cache):
  return tiny_fixmatch_command(workdir, cache, TOTAL_STEPS) + ["--config.num_devices=1"]


def train_steps_logged(workdir) -> list[int]:
  """The steps of the train records in metrics.jsonl so far (a line being written is skipped)."""
  return [record["step"] for record in metrics_log.read_records(workdir, "train")]


def final_parameters(workdir, total_steps: int) -> list[np.ndarray]:
  """The parameter arrays of the checkpoint at `total_steps`, which must be the latest."""
  directory = workdir / "checkpoints"
  assert max(int(p.name) for p in directory.iterdir() if p.name.isdigit()) == total_steps
  checkpointer = ocp.PyTreeCheckpointer()
  path = (directory / str(total_steps) / "default").absolute()
  # Onto this process's first device, whatever devices or processes wrote it.
  device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  target = jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device),
                        checkpointer.metadata(path).item_metadata.tree)
  state = checkpointer.restore(path, item=target,
                               restore_args=ocp.checkpoint_utils.construct_restore_args(target))
  return [np.asarray(leaf) for leaf in jax.tree.leaves(state["params"])]


def test_sigterm_checkpoints_and_the_rerun_matches_an_uninterrupted_run(tmp_path):
  cache = tmp_path / "cache"
  interrupted_dir, reference_dir = tmp_path / "interrupted", tmp_path / "reference"
  # The test session's XLA flags (tests/conftest.py) hold for the subprocess too: the three
  # runs must compile the step alike to round alike.
  process = subprocess.Popen([sys.executable, *command(interrupted_dir, cache)], cwd=ROOT,
                             env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
  deadline = time.monotonic() + 240
  while not any(step >= 10 for step in train_steps_logged(interrupted_dir)):
    assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
    time.sleep(0.02)
  process.send_signal(signal.SIGTERM)
  _, stderr = process.communicate(timeout=240)

  assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
  assert "Traceback" not in stderr
  stopped_at = int(stderr.split("SIGTERM at step ")[1].split(":")[0])
  assert 10 <= stopped_at < TOTAL_STEPS
  assert "Run the same command again to resume" in stderr
  assert sorted(int(p.name) for p in (interrupted_dir / "checkpoints").iterdir()
                if p.name.isdigit()) == [stopped_at]
  assert not (interrupted_dir / "results.json").exists()

  assert launch.run(command(interrupted_dir, cache)) == 0
  assert launch.run(command(reference_dir, cache)) == 0
  for resumed, reference in zip(final_parameters(interrupted_dir, TOTAL_STEPS),
                                final_parameters(reference_dir, TOTAL_STEPS), strict=True):
    np.testing.assert_array_equal(resumed, reference)
  logged = train_steps_logged(interrupted_dir)
  assert logged == sorted(set(logged)) and logged[-1] == TOTAL_STEPS


def test_resume_drops_the_metrics_rows_of_steps_that_will_be_trained_again(tmp_path):
  rows = [{"step": 2, "kind": "train", "loss": 1.0}, {"step": 4, "kind": "eval", "accuracy": 0.5},
          {"step": 6, "kind": "train", "loss": 0.5}]
  text = "".join(json.dumps(row) + "\n" for row in rows) + '{"step": 8, "ki'  # killed mid-line
  (tmp_path / "metrics.jsonl").write_text(text)
  metrics_log.drop_records_after(str(tmp_path), 4)
  assert (tmp_path / "metrics.jsonl").read_text() == "".join(
      json.dumps(row) + "\n" for row in rows[:2])


def test_records_are_read_in_order_by_kind_without_a_line_cut_short(tmp_path):
  assert metrics_log.read_records(tmp_path) == []  # no metrics.jsonl yet
  rows = [{"step": 2, "kind": "train", "loss": 1.0}, {"step": 2, "kind": "eval", "accuracy": 0.5},
          {"step": 4, "kind": "train", "loss": 0.5}]
  text = "".join(json.dumps(row) + "\n" for row in rows) + '{"step": 6, "ki'  # being written
  (tmp_path / "metrics.jsonl").write_text(text)
  assert metrics_log.read_records(tmp_path) == rows
  assert metrics_log.read_records(tmp_path, "train") == [rows[0], rows[2]]
  assert metrics_log.read_evals(str(tmp_path), up_to_step=2) == [rows[1]]
  assert metrics_log.read_evals(str(tmp_path), up_to_step=1) == []
