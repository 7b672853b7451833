"""launch.py: bad input ends with one message and exit status 2, no traceback, workdir untouched.

Every option every method declares (`OPTIONS` in jaxssl/methods/<name>.py)
is fed values it must refuse, through launch.py's command line. The runs go
in-process (`launch.run`, on fresh flag values) because a subprocess per case
would cost a JAX import each; the subprocess tests at the end check the real
entry point.
"""

import importlib
import os
import pathlib
import subprocess
import sys

import pytest

import launch
from jaxssl.methods import METHOD_NAMES, method_module, options

ROOT = pathlib.Path(__file__).resolve().parent.parent


def invalid_values(option) -> list:
  """Values `option` must refuse: past each end of its range, a wrong type, a non-choice."""
  if isinstance(option, options.Choice):
    return ["not_a_choice"]
  if isinstance(option, options.Flag):
    return ["maybe"]
  values = ["a_string"]
  if option.low is not None:
    values.append(option.low if option.low_open else option.low - 1)
  if option.high is not None:
    values.append(option.high if option.high_open else option.high + 1)
  if option.integer:
    values.append((option.low or 0) + 1.5)
  return values


def config_fields(method: str) -> set[str]:
  """The fields of config.method that configs/<method>.py sets."""
  return set(importlib.import_module(f"configs.{method}").get_config("digits").method.keys())


CASES = [(method, field, value)
         for method in METHOD_NAMES
         for field, option in method_module(method).OPTIONS.items()
         if field in config_fields(method)
         for value in invalid_values(option)]


def snapshot(directory: pathlib.Path) -> dict:
  """Every path under `directory` with its bytes (files) and modification time."""
  return {path.relative_to(directory): (path.read_bytes() if path.is_file() else None,
                                        path.stat().st_mtime_ns)
          for path in directory.rglob("*")}


@pytest.fixture
def workdir(tmp_path):
  """A workdir that already holds files: a bad run must leave them exactly as they are."""
  directory = tmp_path / "run"
  (directory / "notes").mkdir(parents=True)
  (directory / "notes" / "keep.txt").write_text("not jaxssl's")
  (directory / "results.json").write_text('{"from": "an earlier run"}')
  return directory


def launch_in_process(capsys, *argv):
  status = launch.run(["launch.py", *argv])
  return status, capsys.readouterr().err


@pytest.mark.parametrize("method, field, value", CASES,
                         ids=[f"{m}-{f}={v}" for m, f, v in CASES])
def test_every_bad_option_is_refused_with_a_message(capsys, workdir, method, field, value):
  before = snapshot(workdir)
  status, err = launch_in_process(capsys, f"--config=configs/{method}.py",
                                  f"--config.method.{field}={value}", f"--workdir={workdir}")
  assert status == 2
  assert "error:" in err and field in err and "Traceback" not in err
  assert snapshot(workdir) == before


def test_every_method_declares_and_checks_its_options():
  assert len(CASES) > 100
  for method in METHOD_NAMES:
    assert set(method_module(method).OPTIONS) >= config_fields(method) - {"name"}


@pytest.mark.parametrize("argv, message", [
    (["--config.nope=1"], "no field 'nope'"),
    (["--config.ema_decay=0.9"], "config.ema_decay was renamed: use config.eval_ema_decay"),
    (["--config.method.ema_decay=0.9"], "use config.method.teacher_decay"),
    (["--config=configs/no_such_config.py"], "no_such_config.py"),
    (["--config=configs/fixmatch.py:bogus"], "Unknown data-set preset 'bogus'"),
    (["--config.batch_size=12"], "batch_size=12 does not divide over 8 devices; use a multiple of 8 such as 8 or 16."),
    (["--config.data.pipeline=disk"], "pipeline"),
    (["--config.runner=sideways"], "config.runner='sideways'"),
    (["--config.runner=noisy_student"], "start from configs/noisy_student.py"),
    (["--config.runner=finetune"], "config.finetune.image_size > 0"),
    (["--num_processes=2", "--process_id=0"], "needs --coordinator_address as well"),
    (["--coordinator_address=localhost:1", "--num_processes=2", "--process_id=2"],
     "--process_id=2 must be below --num_processes=2"),
])
def test_bad_command_lines_are_refused_with_a_message(capsys, workdir, argv, message):
  before = snapshot(workdir)
  status, err = launch_in_process(capsys, *argv, f"--workdir={workdir}")
  assert status == 2 and message in err and "Traceback" not in err
  assert snapshot(workdir) == before


BROKEN_CONFIG_FILES = [
    ("def get_config(:\n", "fails at line 1: SyntaxError"),
    ("import ml_collections\n\ndef get_config():\n  config = ml_collections.ConfigDict()\n"
     "  config.width = undefined_name\n  return config\n",
     "fails at line 5: NameError: name 'undefined_name' is not defined"),
    ("WIDTH = 3\n", "defines no get_config()"),
]


@pytest.mark.parametrize("text, message", BROKEN_CONFIG_FILES,
                         ids=["syntax", "raises", "no_get_config"])
def test_a_broken_config_file_is_named_with_its_line(capsys, workdir, tmp_path, text, message):
  config_file = tmp_path / "my_config.py"
  config_file.write_text(text)
  # A config loaded before in this process must not stand in for the broken one.
  launch.parse(["launch.py", "--config=configs/supervised.py", f"--workdir={workdir}"])
  before = snapshot(workdir)
  status, err = launch_in_process(capsys, f"--config={config_file}", f"--workdir={workdir}")
  assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
  assert err.startswith(f"error: The config file {config_file} ") and message in err
  assert snapshot(workdir) == before


def test_launch_py_as_a_program(tmp_path):
  """The real entry point: a refused option, then the same config resumed from its workdir."""
  # One CPU device, as a user has; XLA at optimization level 0 as in the rest of the suite
  # (tests/conftest.py): the test is about the entry point, and that compiles faster.
  environment = {**os.environ, "JAX_PLATFORMS": "cpu",
                 "XLA_FLAGS": "--xla_backend_optimization_level=0"}
  command = [sys.executable, "launch.py", "--config=configs/supervised.py",
             f"--workdir={tmp_path / 'run'}", "--config.total_steps=4", "--config.log_every=2",
             "--config.eval_every=4", "--config.checkpoint_every=2",
             f"--compilation_cache={tmp_path / 'cache'}"]
  refused = subprocess.run(command + ["--config.optimizer.learning_rate=-1"], cwd=ROOT,
                           env=environment, capture_output=True, text=True, timeout=300)
  assert refused.returncode == 2 and "learning_rate=-1" in refused.stderr
  assert "Traceback" not in refused.stderr and not (tmp_path / "run").exists()
  trained = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True,
                           timeout=300)
  assert trained.returncode == 0, trained.stderr[-2000:]
  assert "supervised on digits (20 labels, seed 0, 4 steps)" in trained.stdout
  assert (tmp_path / "run" / "results.json").exists()
  assert (tmp_path / "run" / "learning_curve.png").exists()
  # The compiled step went to the persistent cache, for the next run of this config.
  assert any(path.name.startswith("jit_multi_step") for path in (tmp_path / "cache").iterdir())
