"""benchmarks/speed_table.py: the README's speed table comes from the results file."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("speed_table", ROOT / "benchmarks" / "speed_table.py")
speed_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speed_table)

RESULTS = """Train-step speed: one row per measurement.

| date | device | JAX | config | overrides | dtype | steps/dispatch | compile s | steps/s | images/s | peak memory MB |
|---|---|---|---|---|---|---|---|---|---|---|
| 2026-11-01 | H200 x1 (gpu) | 0.11.2 | configs/fixmatch.py:cifar10 | - | bfloat16 | 1 | 42.5 | 103.4 | 99264 | 9000 |
| 2026-11-02 | cpu x1 (cpu) | 0.10.2 | configs/fixmatch.py:digits | - | float32 | 1 | 6.3 | 9.4 | 2413 | 778 |
| 2026-11-03 | H200 x1 (gpu) | 0.11.2 | configs/fixmatch.py:cifar10 | - | bfloat16 | 1 | 14.0 | 262.1 | 251616 | 9000 |
"""


def test_duration_by_hand():
  assert speed_table.duration(2**20 / 103.4) == "2 h 49 min"  # 10141 s
  assert speed_table.duration(2460) == "41 min"
  assert speed_table.duration(3600) == "1 h 00 min"


def test_newest_row_per_setting_and_the_time_for_the_papers_schedule():
  lines = speed_table.table(speed_table.measurements(RESULTS)).splitlines()
  assert len(lines) == 2 + 2  # header, rule, one row per setting
  gpu = next(line for line in lines if "H200" in line)
  assert "| 262.1 |" in gpu and "| 14.0 |" in gpu and "103.4" not in gpu
  assert "| 1 h 07 min |" in gpu  # 2^20 / 262.1 = 4001 s


def test_table_replaces_only_the_text_between_the_markers():
  readme = f"intro\n{speed_table.START}\nold\n{speed_table.END}\noutro\n"
  assert speed_table.with_table(readme, "NEW") == (
      f"intro\n{speed_table.START}\nNEW\n{speed_table.END}\noutro\n")
  with pytest.raises(SystemExit, match="markers"):
    speed_table.with_table("no markers here", "NEW")


def test_readme_table_is_the_one_the_results_file_gives():
  """Fails when train_step.md gained rows and `python benchmarks/speed_table.py` was not run."""
  readme = speed_table.README.read_text()
  expected = speed_table.table(speed_table.measurements(speed_table.RESULTS.read_text()))
  assert speed_table.with_table(readme, expected) == readme
