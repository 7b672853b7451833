"""Trains a grid of (method, labels, seed) runs and writes the papers' error-rate table.

  python -m jaxssl.sweep --methods=fixmatch,mixmatch,pseudo_label,supervised \
      --labels=20,50,100 --seeds=0,1,2 --preset=digits \
      --root=runs/sweep_digits --out=benchmarks/results/digits.md [--steps=N]

Runs go one after another, each in `<root>/<method>/labels<N>/seed<S>`, trained
by `jaxssl.train.run` on `configs/<method>.py`'s
`get_config(f"{preset},labels={N},seed={S}")`. A run whose results.json exists
is skipped, so a sweep that was stopped picks up where it left off (a run
stopped half-way resumes from its last checkpoint). The table follows the
seed papers' result tables (Berthelot et al., 2019; Sohn et al., 2020):
error rate (%) = 100 (1 - accuracy), mean ± standard deviation over the seeds,
one row per method, one column per label count.

Like launch.py, this is a top-level entry point, so it imports `jaxssl.train`;
no library module does (see the dependency rules in DESIGN.md).
"""

import importlib.util
import json
import os
import statistics
from typing import Sequence

from absl import app, flags, logging

from jaxssl import metrics_log, train

CONFIGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "configs")
STATISTICS = ("final", "median_last_20", "best")


def load_config(method: str, arg: str, configs_dir: str = CONFIGS_DIR):
  """`configs/<method>.py`'s `get_config(arg)`, loaded from its file."""
  path = os.path.join(configs_dir, f"{method}.py")
  spec = importlib.util.spec_from_file_location(f"jaxssl_sweep_configs.{method}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def run_dir(root: str, method: str, labels: int, seed: int) -> str:
  return os.path.join(root, method, f"labels{labels}", f"seed{seed}")


def read_results(workdir: str) -> dict | None:
  path = os.path.join(workdir, metrics_log.RESULTS_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def run_grid(methods: Sequence[str], labels: Sequence[int], seeds: Sequence[int],
             preset: str, root: str, steps: int | None = None,
             configs_dir: str = CONFIGS_DIR) -> dict[tuple[str, int], list[dict]]:
  """Trains every missing run of the grid; returns {(method, labels): [results per seed]}."""
  grid = [(m, n, s) for m in methods for n in labels for s in seeds]
  results = {}
  for i, (method, num_labels, seed) in enumerate(grid, 1):
    workdir = run_dir(root, method, num_labels, seed)
    found = read_results(workdir)
    if found is None:
      config = load_config(method, f"{preset},labels={num_labels},seed={seed}", configs_dir)
      if steps:
        config.total_steps = steps
      logging.info("[%d/%d] training %s", i, len(grid), workdir)
      os.makedirs(workdir, exist_ok=True)
      found = train.run(config, workdir)
    else:
      logging.info("[%d/%d] skipping %s: results.json exists", i, len(grid), workdir)
    results.setdefault((method, num_labels), []).append(found)
  return results


def error_rate(results: dict, statistic: str) -> tuple[float, str]:
  """100 (1 - accuracy) of one run, from its EMA weights when it kept them, and which."""
  key = "ema_accuracy" if "ema_accuracy" in results else "accuracy"
  return 100.0 * (1.0 - results[key][statistic]), "EMA" if key == "ema_accuracy" else "raw"


def error_table(results: dict[tuple[str, int], list[dict]], methods: Sequence[str],
                labels: Sequence[int], preset: str, statistic: str = "final") -> str:
  """The markdown table: error rate (%) mean ± std over seeds, methods x label counts."""
  header = "| Method | " + " | ".join(f"{n} labels" for n in labels) + " | weights |"
  lines = [header, "|" + "---|" * (len(labels) + 2)]
  seeds_seen = set()
  for method in methods:
    cells, weights = [], set()
    for num_labels in labels:
      runs = results.get((method, num_labels), [])
      if runs:
        seeds_seen.add(len(runs))
      rates = []
      for run in runs:
        rate, kind = error_rate(run, statistic)
        rates.append(rate)
        weights.add(kind)
      std = statistics.stdev(rates) if len(rates) > 1 else 0.0
      cells.append(f"{statistics.mean(rates):.2f} ± {std:.2f}" if rates else "n/a")
    lines.append(f"| {method} | " + " | ".join(cells) + f" | {'/'.join(sorted(weights))} |")
  runs_text = "/".join(str(n) for n in sorted(seeds_seen))
  caption = (f"Error rate (%) on {preset} over {runs_text} runs (seeds), mean ± std "
             f"(sample standard deviation), from the {statistic.replace('_', ' ')} test "
             "evaluation of each run. \"weights\": EMA = the exponential moving average of "
             "the parameters (used whenever a run kept one), raw = the trained parameters.")
  return caption + "\n\n" + "\n".join(lines) + "\n"


_METHODS = flags.DEFINE_list("methods", "fixmatch,mixmatch,pseudo_label,supervised",
                             "Methods, each with a configs/<method>.py.")
_LABELS = flags.DEFINE_list("labels", "20,50,100", "Numbers of labeled examples.")
_SEEDS = flags.DEFINE_list("seeds", "0,1,2", "Seeds (model init, batches and labeled split).")
_PRESET = flags.DEFINE_string("preset", "digits", "Data-set preset of jaxssl.presets.")
_ROOT = flags.DEFINE_string("root", "runs/sweep", "Directory holding one workdir per run.")
_OUT = flags.DEFINE_string("out", None, "Markdown file for the table (it is printed anyway).")
_STEPS = flags.DEFINE_integer("steps", None, "Overrides config.total_steps of every run.")
_STATISTIC = flags.DEFINE_enum("statistic", "final", STATISTICS,
                               "Which accuracy of results.json the table reports.")


def main(argv):
  del argv
  methods, labels = _METHODS.value, [int(n) for n in _LABELS.value]
  results = run_grid(methods, labels, [int(s) for s in _SEEDS.value], _PRESET.value,
                     _ROOT.value, _STEPS.value)
  table = error_table(results, methods, labels, _PRESET.value, _STATISTIC.value)
  if _OUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
    with open(_OUT.value, "w") as f:
      f.write(table)
  print(table)


if __name__ == "__main__":
  app.run(main)
