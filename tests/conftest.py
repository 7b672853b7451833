"""Test setup: 8 fake CPU devices so sharded code paths run on a laptop.

With 8 fake devices on a 2-core machine, the threads of an all-reduce can
arrive far apart; XLA's default 40 s rendezvous limit would then abort the
process, so the tests raise it.

Many tests compile the same small programs (a tiny config's step, its
evaluation); JAX's persistent compilation cache, in a folder of this session
only, compiles each once. And XLA compiles at optimization level 0: the tests'
programs are small and run a few steps, so compiling is most of their time
(tests/methods/test_{fixmatch,mixmatch}.py: 2m43s -> 1m39s). It changes
rounding only (see tests/test_behaviour_unchanged.py for how much).
The few tests that run a hundred steps or more take the `optimized_programs`
fixture: their compiled steps run at level 3, where running is cheaper.
Not `--xla_cpu_use_fusion_emitters=false`, which halves compiling: at level 0
(jaxlib 0.10.2) it computes the first layers' gradients of the FixMatch step
wrongly (after one step of the pinned digits config, updates off by about
their own size, where the default emitters agree with the step run op by op
to 3e-8).
`make test` runs the suite in 2 pytest-xdist workers, which share that cache.
"""
import os
import shutil
import tempfile

import pytest

_TEST_XLA_FLAGS = (
    "--xla_force_host_platform_device_count=8",
    "--xla_cpu_collective_timeout_seconds=900",
    "--xla_cpu_collective_call_terminate_timeout_seconds=900",
    "--xla_backend_optimization_level=0",
)
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", "")] +
    [flag for flag in _TEST_XLA_FLAGS if flag.split("=")[0] not in os.environ.get("XLA_FLAGS", "")])
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Made by the first process of the session (pytest-xdist's controller, or pytest
# alone); the workers inherit it through the environment. That process removes it.
_OWN_CACHE_DIR = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _OWN_CACHE_DIR = os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(
      prefix="jaxssl_test_xla_")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_unconfigure(config):
  """Removes this session's compilation cache (~40 MB after the whole suite)."""
  if _OWN_CACHE_DIR is not None:
    shutil.rmtree(_OWN_CACHE_DIR, ignore_errors=True)


@pytest.fixture
def optimized_programs(monkeypatch):
  """The library's compiled programs (train step, evaluation) at XLA's optimization level 3.

  For the tests that run a hundred steps or more, where running the step at
  level 0 costs more than compiling it at 3 (test_behaviour_unchanged.py's
  Mean Teacher: 22-23 s -> 16-18 s). Eager operations stay at the suite's level 0.
  """
  from jaxssl import compiler
  options = {**compiler.jit_options(), "xla_backend_optimization_level": "3"}
  monkeypatch.setattr(compiler, "jit_options", lambda: options)
