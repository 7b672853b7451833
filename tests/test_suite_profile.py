"""benchmarks/suite_profile.py: the compile seconds it counts, and its summary."""

import json

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import compiler

from benchmarks import suite_profile


def test_compiling_a_new_program_is_counted_and_a_cached_one_is_not(monkeypatch):
  monkeypatch.setattr(compiler, "backend_compile_and_load", compiler.backend_compile_and_load)
  suite_profile._count_compiling()
  x = np.ones(7, np.float32)  # numpy: making it compiles nothing
  suite_profile.pytest_runtest_logstart("a test", None)
  program = jax.jit(lambda x: jnp.cumsum(x * 3.0 + 0.123456))  # a program no other test builds
  program(x).block_until_ready()
  program(x).block_until_ready()  # the same shapes: no second compile
  assert suite_profile._current["programs"] == 1
  assert suite_profile._current["compile_seconds"] > 0


def test_summary_totals_every_worker_and_ranks_the_tests(tmp_path):
  rows = {"gw0": [("tests/a.py::slow", 20.0, 9.5, 3), ("tests/a.py::quick", 1.0, 0.5, 10)],
          "gw1": [("tests/b.py::middle", 12.0, 2.0, 1)]}
  for worker, tests in rows.items():
    (tmp_path / f"{worker}.jsonl").write_text("".join(
        json.dumps({"id": i, "seconds": s, "compile_seconds": c, "programs": n}) + "\n"
        for i, s, c, n in tests))
  lines = suite_profile.summary(str(tmp_path), top=2).splitlines()
  assert lines[0] == "3 tests, 33 s (gw0 21, gw1 12), 12 s compiling 14 programs"
  assert lines[3:5] == ["     21.0    10.0  tests/a.py", "     12.0     2.0  tests/b.py"]
  assert lines[-2:] == ["     20.0     9.5 (   3)  tests/a.py::slow",
                        "     12.0     2.0 (   1)  tests/b.py::middle"]
