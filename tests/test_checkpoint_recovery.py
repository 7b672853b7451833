"""Checkpoints cut short or corrupted on disk: the run says so and resumes from an older one.

A save cut short by kill -9 leaves orbax's temporary folder, never a step; a
truncated file makes a step unreadable, and it is moved aside, not deleted.
Either way the rerun ends with the parameters of a run never disturbed.
"""

import numpy as np

import launch
from jaxssl import metrics_log
from tests.test_preemption import final_parameters


def command(workdir, cache):
  return ["launch.py", "--config=configs/supervised.py", f"--workdir={workdir}",
          "--config.total_steps=20", "--config.log_every=10", "--config.eval_every=20",
          "--config.checkpoint_every=10", "--config.num_devices=1",
          f"--compilation_cache={cache}"]


def truncate_largest_file(checkpoint_dir) -> None:
  largest = max((p for p in checkpoint_dir.rglob("*") if p.is_file()),
                key=lambda p: p.stat().st_size)
  largest.write_bytes(largest.read_bytes()[:largest.stat().st_size // 2])


def metrics_steps(workdir) -> list[int]:
  return [record["step"] for record in metrics_log.read_records(workdir)]


def test_a_cut_short_or_truncated_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog,
                                                                           capsys):
  workdir, cache = tmp_path / "run", tmp_path / "cache"
  assert launch.run(command(workdir, cache)) == 0
  expected = final_parameters(workdir, 20)

  # kill -9 during the save of step 20: its folder never got its final name.
  (workdir / "checkpoints" / "20").rename(workdir / "checkpoints" / "20.orbax-checkpoint-tmp-1")
  assert launch.run(command(workdir, cache)) == 0
  assert "saves that were cut short (20.orbax-checkpoint-tmp-1)" in caplog.text
  for resumed, undisturbed in zip(final_parameters(workdir, 20), expected, strict=True):
    np.testing.assert_array_equal(resumed, undisturbed)
  assert metrics_steps(workdir) == [10, 20, 20]  # train 10, train 20, eval 20: once each

  truncate_largest_file(workdir / "checkpoints" / "20")
  assert launch.run(command(workdir, cache)) == 0
  assert "The checkpoint at step 20" in caplog.text and "can't be read" in caplog.text
  assert (workdir / "checkpoints_unreadable" / "20").is_dir()  # kept for a look, not deleted
  for resumed, undisturbed in zip(final_parameters(workdir, 20), expected, strict=True):
    np.testing.assert_array_equal(resumed, undisturbed)
  assert metrics_steps(workdir) == [10, 20, 20]

  for step in ("10", "20"):
    truncate_largest_file(workdir / "checkpoints" / step)
  capsys.readouterr()
  assert launch.run(command(workdir, cache)) == 2
  err = capsys.readouterr().err
  assert "No checkpoint in" in err and "new --workdir" in err and "Traceback" not in err
  assert sorted(p.name for p in (workdir / "checkpoints_unreadable").iterdir()) == [
      "10", "20", "20+"]
  assert (workdir / "checkpoints" / "20.orbax-checkpoint-tmp-1").is_dir()
