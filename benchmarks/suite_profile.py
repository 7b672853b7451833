"""Where the test suite's time goes: per test, its seconds and the XLA compiling in them.

A pytest plugin. Run the suite as `make test` does, with it loaded:

    .venv/bin/python -m pytest -n 2 --dist worksteal tests -p benchmarks.suite_profile

Each pytest process (each xdist worker) appends one JSON line per test to
`$SUITE_PROFILE_DIR/<worker>.jsonl` (default `runs/suite_profile`): the test's
id, the seconds of its setup, call and teardown, the part of them spent in
XLA's compiler (`backend_compile_and_load`, so persistent-cache hits cost
nothing) and the number of programs compiled. Compiling in subprocesses a test
starts is not counted. Then

    .venv/bin/python benchmarks/suite_profile.py [DIR]

prints the totals per worker and the files and tests that cost most. The figures go to
benchmarks/results/test_suite.md by hand, with the machine and the date.
"""

import collections
import functools
import json
import os
import pathlib
import sys
import time

DEFAULT_DIR = "runs/suite_profile"
# The counts of the test running now; `record` is False in pytest-xdist's controller,
# which hears of every worker's tests but runs none.
_current = {"seconds": 0.0, "compile_seconds": 0.0, "programs": 0, "record": True}


def _count_compiling():
  """Wraps JAX's call into XLA's compiler so that its time is added to `_current`."""
  from jax._src import compiler  # not public API: this is a measuring tool, not library code
  # Wrapping twice (the plugin loaded and a test calling this) must not count twice.
  original = getattr(compiler.backend_compile_and_load, "__wrapped__",
                     compiler.backend_compile_and_load)

  @functools.wraps(original)
  def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
      return original(*args, **kwargs)
    finally:
      _current["compile_seconds"] += time.perf_counter() - start
      _current["programs"] += 1
  compiler.backend_compile_and_load = timed


def pytest_configure(config):
  _current["record"] = hasattr(config, "workerinput") or not config.getoption("numprocesses", None)
  _count_compiling()


def pytest_runtest_logstart(nodeid, location):
  del nodeid, location
  _current.update(seconds=0.0, compile_seconds=0.0, programs=0)


def pytest_runtest_logreport(report):
  """Adds the setup's, the call's and the teardown's seconds."""
  _current["seconds"] += report.duration


def pytest_runtest_logfinish(nodeid, location):
  del location
  if not _current["record"]:
    return
  directory = pathlib.Path(os.environ.get("SUITE_PROFILE_DIR", DEFAULT_DIR))
  directory.mkdir(parents=True, exist_ok=True)
  worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
  with open(directory / f"{worker}.jsonl", "a") as f:
    f.write(json.dumps({"id": nodeid, "seconds": round(_current["seconds"], 3),
                        "compile_seconds": round(_current["compile_seconds"], 3),
                        "programs": _current["programs"]}) + "\n")


def summary(directory: str, top: int = 25) -> str:
  """Totals per worker, then seconds and compile seconds by file and of the `top` tests."""
  rows = [dict(json.loads(line), worker=path.stem)
          for path in sorted(pathlib.Path(directory).glob("*.jsonl"))
          for line in path.read_text().splitlines()]
  per_worker = collections.Counter()
  by_file = collections.defaultdict(lambda: [0.0, 0.0])
  for row in rows:
    per_worker[row["worker"]] += row["seconds"]
    by_file[row["id"].split("::")[0]][0] += row["seconds"]
    by_file[row["id"].split("::")[0]][1] += row["compile_seconds"]
  lines = [f"{len(rows)} tests, {sum(per_worker.values()):.0f} s "
           f"({', '.join(f'{w} {s:.0f}' for w, s in sorted(per_worker.items()))}), "
           f"{sum(r['compile_seconds'] for r in rows):.0f} s compiling "
           f"{sum(r['programs'] for r in rows)} programs", "", "s, compile s by file:"]
  lines += [f"  {seconds:7.1f} {compiling:7.1f}  {name}" for name, (seconds, compiling)
            in sorted(by_file.items(), key=lambda item: -item[1][0])[:top]]
  lines += ["", "s, compile s (programs) by test:"]
  lines += [f"  {r['seconds']:7.1f} {r['compile_seconds']:7.1f} ({r['programs']:4d})  {r['id']}"
            for r in sorted(rows, key=lambda r: -r["seconds"])[:top]]
  return "\n".join(lines)


if __name__ == "__main__":
  print(summary(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR))
