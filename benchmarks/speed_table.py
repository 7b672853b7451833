"""The README's speed table, generated from benchmarks/results/train_step.md.

    python benchmarks/speed_table.py [--check]

Keeps the newest row of train_step.md for each (device, config, overrides,
precision, steps per dispatch) and writes, between the README's
`<!-- speed-table:start -->` and `<!-- speed-table:end -->` markers, one row
each: hardware, config, precision, steps/s, images/s, compile seconds and
the time 2^20 steps (the FixMatch paper's schedule) take at that speed.
With --check nothing is written; the exit status is 1 when the README's
table is not the one the results file gives.
"""

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "train_step.md"
README = ROOT / "README.md"
START, END = "<!-- speed-table:start -->", "<!-- speed-table:end -->"
PAPER_STEPS = 2**20
COLUMNS = ("date", "device", "jax", "config", "overrides", "dtype", "steps_per_dispatch",
           "compile_s", "steps_per_s", "images_per_s", "peak_memory_mb")


def measurements(results_text: str) -> list[dict]:
  """The rows of train_step.md as dicts, in file order."""
  rows = []
  for line in results_text.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != len(COLUMNS) or not cells[0][:1].isdigit():
      continue  # the header, its rule and the prose
    rows.append(dict(zip(COLUMNS, cells)))
  return rows


def duration(seconds: float) -> str:
  """12345 -> '3 h 25 min'; under an hour '41 min'."""
  minutes = round(seconds / 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def table(rows: list[dict]) -> str:
  """The newest measurement per setting, as the README's markdown table."""
  newest = {}
  for row in rows:
    newest[(row["device"], row["config"], row["overrides"], row["dtype"],
            row["steps_per_dispatch"])] = row
  lines = ["| hardware | config | overrides | precision | steps/dispatch | steps/s | images/s "
           "| compile s | 2^20 steps take | measured |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  for row in newest.values():
    steps_per_second = float(row["steps_per_s"])
    lines.append(
        f"| {row['device']} | `{row['config']}` | {row['overrides']} | {row['dtype']} | "
        f"{row['steps_per_dispatch']} | {row['steps_per_s']} | {row['images_per_s']} | "
        f"{row['compile_s']} | {duration(PAPER_STEPS / steps_per_second)} | "
        f"{row['date']}, JAX {row['jax']} |")
  return "\n".join(lines)


def with_table(readme_text: str, new_table: str) -> str:
  """The README with the text between the markers replaced by `new_table`."""
  if START not in readme_text or END not in readme_text:
    raise SystemExit(f"README.md lacks the {START} / {END} markers; put them where the "
                     "speed table belongs.")
  head, rest = readme_text.split(START, 1)
  _, tail = rest.split(END, 1)
  return f"{head}{START}\n{new_table}\n{END}{tail}"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true",
                      help="exit 1 if the README's table is out of date; write nothing")
  args = parser.parse_args()
  readme = README.read_text()
  updated = with_table(readme, table(measurements(RESULTS.read_text())))
  if args.check:
    sys.exit(0 if updated == readme else 1)
  README.write_text(updated)


if __name__ == "__main__":
  main()
