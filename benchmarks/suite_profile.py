"""Where the test suite's time goes: per test, its seconds and the XLA compiling in them.

A pytest plugin. Run the suite as `make test` does, with it loaded:

    .venv/bin/python -m pytest -n 2 --dist worksteal tests -p benchmarks.suite_profile

Each pytest process (each xdist worker) appends one JSON line per test to
`$SUITE_PROFILE_DIR/<worker>.jsonl` (default `runs/suite_profile`): the test's
id, the seconds its setup, call and teardown spent in XLA's compiler
(`backend_compile_and_load`, so persistent-cache hits cost nothing) and the
number of programs compiled; pytest's --durations gives the wall seconds. Compiling in subprocesses a test starts is not
counted. Then

    .venv/bin/python benchmarks/suite_profile.py [DIR]

prints the totals and the tests that cost most. The figures go to
benchmarks/results/test_suite.md by hand, with the machine and the date.
"""

import collections
import json
import os
import pathlib
import sys
import time

DEFAULT_DIR = "runs/suite_profile"
_compiling = {"seconds": 0.0, "programs": 0}


def _count_compiling():
  """Wraps JAX's call into XLA's compiler so that its time is added to `_compiling`."""
  from jax._src import compiler  # not public API: this is a measuring tool, not library code
  original = compiler.backend_compile_and_load

  def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
      return original(*args, **kwargs)
    finally:
      _compiling["seconds"] += time.perf_counter() - start
      _compiling["programs"] += 1
  compiler.backend_compile_and_load = timed


def pytest_configure(config):
  del config
  _count_compiling()


def pytest_runtest_logstart(nodeid, location):
  del nodeid, location
  _compiling.update(seconds=0.0, programs=0)


def pytest_runtest_logfinish(nodeid, location):
  del location
  directory = pathlib.Path(os.environ.get("SUITE_PROFILE_DIR", DEFAULT_DIR))
  directory.mkdir(parents=True, exist_ok=True)
  worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
  with open(directory / f"{worker}.jsonl", "a") as f:
    f.write(json.dumps({"id": nodeid, "compile_seconds": round(_compiling["seconds"], 3),
                        "programs": _compiling["programs"]}) + "\n")


def summary(directory: str, top: int = 25) -> str:
  """Totals over every worker's file and the `top` tests by compile seconds."""
  rows = [json.loads(line) for path in sorted(pathlib.Path(directory).glob("*.jsonl"))
          for line in path.read_text().splitlines()]
  by_file = collections.Counter()
  for row in rows:
    by_file[row["id"].split("::")[0]] += row["compile_seconds"]
  lines = [f"{len(rows)} tests, {sum(r['compile_seconds'] for r in rows):.0f} s compiling "
           f"{sum(r['programs'] for r in rows)} programs", "", "compile s by file:"]
  lines += [f"  {seconds:7.1f}  {name}" for name, seconds in by_file.most_common(top)]
  lines += ["", "compile s (programs) by test:"]
  lines += [f"  {r['compile_seconds']:7.1f} ({r['programs']:4d})  {r['id']}"
            for r in sorted(rows, key=lambda r: -r["compile_seconds"])[:top]]
  return "\n".join(lines)


if __name__ == "__main__":
  print(summary(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR))
