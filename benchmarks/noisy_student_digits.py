"""Noisy Student on digits: the test error of the teacher and of each student, over seeds.

    python benchmarks/noisy_student_digits.py [--labels 20] [--seeds 0,1,2] [--root runs/ns_digits]

Trains configs/noisy_student.py's digits preset for every (labels, seed) with
`jaxssl.sweep.run_grid` (finished runs are skipped, stopped ones resume), then
writes benchmarks/results/noisy_student_digits.md: one row per round (the
teacher, then each student), the test error (%) of its EMA weights as
mean ± std over the seeds, the accuracy of the pseudo-labels it was trained
on, and on how many seeds it beat the model that labeled its data.
"""

import argparse
import pathlib
import statistics

from jaxssl import sweep

RESULTS = pathlib.Path(__file__).parent / "results" / "noisy_student_digits.md"
CONFIGS = str(pathlib.Path(__file__).resolve().parent.parent / "configs")


def round_error(summary: dict) -> float:
  return 100.0 * (1.0 - summary["ema_accuracy"]["final"])


def mean_std(values) -> str:
  std = statistics.stdev(values) if len(values) > 1 else 0.0
  return f"{statistics.mean(values):.2f} ± {std:.2f}"


def rounds_table(runs: list[dict], num_labels: int) -> str:
  """Markdown rows of one label count: a row per round, statistics over `runs` (one per seed)."""
  lines = [f"### {num_labels} labels, {len(runs)} seeds ({', '.join(str(r['seed']) for r in runs)})",
           "",
           "| round | model | params | test error % | pseudo-label accuracy % "
           "| seeds where it beats its teacher |",
           "|---|---|---|---|---|---|"]
  for index, first in enumerate(runs[0]["stages"]):
    per_seed = [run["stages"][index] for run in runs]
    errors = [round_error(r) for r in per_seed]
    if index == 0:
      pseudo, beats = "(labels only)", "-"
    else:
      pseudo = mean_std([100.0 * r["pseudo_label_accuracy"] for r in per_seed])
      teachers = [round_error(run["stages"][index - 1]) for run in runs]
      beats = f"{sum(e < t for e, t in zip(errors, teachers))} of {len(runs)}"
    model = ", ".join(f"{k} {v}" for k, v in first["model_kwargs"].items())
    lines.append(f"| {index} ({first['role']}) | {model} | {first['num_params']:,} "
                 f"| {mean_std(errors)} | {pseudo} | {beats} |")
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--labels", default="20")
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--root", default="runs/ns_digits")
  args = parser.parse_args()
  labels = [int(n) for n in args.labels.split(",")]
  results = sweep.run_grid(["noisy_student"], labels, [int(s) for s in args.seeds.split(",")],
                           "digits", args.root, CONFIGS)
  text = ("Noisy Student on digits (configs/noisy_student.py, digits preset): test error "
          "(%) of each round's EMA weights at the end of its training, mean ± std over "
          "seeds. Written by benchmarks/noisy_student_digits.py.\n\n")
  text += "\n".join(rounds_table(results[("noisy_student", n)], n) for n in labels)
  RESULTS.parent.mkdir(parents=True, exist_ok=True)
  RESULTS.write_text(text)
  print(text)


if __name__ == "__main__":
  main()
