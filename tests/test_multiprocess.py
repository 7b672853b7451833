"""Two launch.py processes of 2 CPU devices each, over loopback, against one process of 4.

The processes find each other through a local coordinator on a free port
(--coordinator_address, --num_processes, --process_id) and reduce over gloo.
A SIGTERM to one of them stops both at the step JAX's preemption sync agrees
on, with one checkpoint there; the same commands resume from it. The run must
end with the parameters (to float tolerance: the reductions are grouped
differently) and the eval accuracies of the one-process run, and only
process 0 writes metrics and results.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np

import launch
from jaxssl import metrics_log
from tests.test_preemption import ROOT, final_parameters, tiny_fixmatch_command, train_steps_logged

TOTAL_STEPS = 30


def command(workdir, cache):
  return tiny_fixmatch_command(workdir, cache, TOTAL_STEPS, evals=2)


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def start_two_processes(workdir, cache, tmp_path, attempt) -> list[subprocess.Popen]:
  environment = dict(os.environ)
  environment["XLA_FLAGS"] = re.sub(r"--xla_force_host_platform_device_count=\d+",
                                    "--xla_force_host_platform_device_count=2",
                                    environment["XLA_FLAGS"])
  port = free_port()
  processes = []
  for process_id in (0, 1):
    log = open(tmp_path / f"attempt{attempt}_process{process_id}.log", "w")
    processes.append(subprocess.Popen(
        [sys.executable, *command(workdir, cache), f"--coordinator_address=localhost:{port}",
         "--num_processes=2", f"--process_id={process_id}"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True))
  return processes


def wait_all(processes, tmp_path, attempt) -> list[int]:
  codes = [process.wait(timeout=300) for process in processes]
  logs = [(tmp_path / f"attempt{attempt}_process{i}.log").read_text() for i in (0, 1)]
  return codes, logs


def test_two_processes_end_where_one_process_ends_and_resume_after_sigterm(tmp_path):
  cache, two, one = tmp_path / "cache", tmp_path / "two", tmp_path / "one"
  processes = start_two_processes(two, cache, tmp_path, attempt=1)
  deadline = time.monotonic() + 240
  while not any(step >= 10 for step in train_steps_logged(two)):
    assert all(p.poll() is None for p in processes) and time.monotonic() < deadline
    time.sleep(0.02)
  processes[1].send_signal(signal.SIGTERM)  # the scheduler preempts one machine
  codes, logs = wait_all(processes, tmp_path, attempt=1)
  assert codes == [128 + signal.SIGTERM] * 2, logs[0][-3000:] + logs[1][-3000:]
  stopped_at = [int(re.search(r"SIGTERM at step (\d+)", log).group(1)) for log in logs]
  assert stopped_at[0] == stopped_at[1] < TOTAL_STEPS
  assert sorted(p.name for p in (two / "checkpoints").iterdir()) == [str(stopped_at[0])]

  codes, logs = wait_all(start_two_processes(two, cache, tmp_path, attempt=2), tmp_path,
                         attempt=2)
  assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
  assert all(f"from step {stopped_at[0]}" in log for log in logs)
  # Process 0 alone writes: each step's record appears once.
  logged = train_steps_logged(two)
  assert logged == sorted(set(logged)) and logged[-1] == TOTAL_STEPS
  assert json.loads((two / "results.json").read_text())["steps"] == TOTAL_STEPS

  assert launch.run(command(one, cache) + ["--config.num_devices=4"]) == 0
  for two_processes, one_process in zip(final_parameters(two, TOTAL_STEPS),
                                        final_parameters(one, TOTAL_STEPS), strict=True):
    # Two processes sum the gradients in another order; 30 steps amplify that rounding to
    # ~2e-5 (measured at weight decay 5e-3). A wrong reduction moves far more.
    np.testing.assert_allclose(two_processes, one_process, rtol=1e-3, atol=1e-4)
  two_evals, one_evals = (
      [(r["step"], r["accuracy"], r["ema_accuracy"]) for r in metrics_log.read_records(run, "eval")]
      for run in (two, one))
  assert two_evals == one_evals and [step for step, _, _ in one_evals] == [15, 30]


def test_two_streaming_processes_read_different_shards_into_one_global_batch(tmp_path):
  environment = {**os.environ, "PYTHONPATH": str(ROOT),
                 "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
  port = free_port()
  outs = [tmp_path / f"process{i}.json" for i in (0, 1)]
  processes = [subprocess.Popen(
      [sys.executable, "tests/stream_probe.py", f"localhost:{port}", str(i), str(outs[i])],
      cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in (0, 1)]
  for process in processes:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
  local = [json.loads(out.read_text())["local"] for out in outs]
  assert all(index % 2 == 0 for index in local[0]) and all(index % 2 == 1 for index in local[1])
  assert len(local[0]) == len(local[1]) == 8
  for out in outs:  # each process sees the same global batch: both parts
    assert sorted(json.loads(out.read_text())["global"]) == sorted(local[0] + local[1])
