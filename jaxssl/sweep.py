"""Trains a grid of (method, labels, seed) runs and writes the papers' error-rate table.

  python -m jaxssl.sweep --methods=fixmatch,mixmatch,pseudo_label,supervised \
      --labels=20,50,100 --seeds=0,1,2 --preset=digits --configs=configs \
      --root=runs/sweep_digits --out=benchmarks/results/digits.md [--steps=N]

Ablations: each --variant NAME:key=value,... adds one row per method, trained
with those config overrides; --set key=value applies to every run. E.g. the
DeiT distillation rows:

  python -m jaxssl.sweep --methods=deit --labels=-1 --set=method.teacher_workdir=runs/teacher \
      --variant=none:method.distillation=none --variant=hard:method.distillation=hard

Runs go one after another, each in `<root>/<method>[/<variant>]/labels<N>/seed<S>`, trained
by `jaxssl.stages.run` (so `config.runner` picks the stages, as in launch.py) on
`<configs>/<method>.py`'s `get_config(f"{preset},labels={N},seed={S}")`; the
seed is the labeled split's and the training's. A run whose results.json exists
is skipped, so a sweep that was stopped picks up where it left off (a run
stopped half-way resumes from its last checkpoint). With --report_only
nothing is trained and the table covers the finished runs (a missing cell
reads n/a). The table follows the seed papers' result tables (Berthelot et
al., 2019; Sohn et al., 2020): error rate (%) = 100 (1 - accuracy), mean ±
standard deviation over the seeds, with the worst seed's error, one row per
method, one column per label count; below it, each run's error rate. Next to
the table (--out) goes a bar chart of the same numbers (.png).

Like launch.py, this is a top-level entry point: it imports `jaxssl.stages`,
and no library module imports it (see the dependency rules in DESIGN.md).
"""

import ast
import importlib.util
import json
import os
import statistics
import sys
from typing import Sequence

from absl import app, flags, logging

from jaxssl import metrics_log, plots, renamed_fields, stages
from jaxssl.errors import ConfigError, config_file_loading

STATISTICS = ("final", "median_last_20", "best")


def config_path(method: str, configs_dir: str) -> str:
  """Where a method's config file is: `<configs_dir>/<method>.py`."""
  return os.path.join(configs_dir, f"{method}.py")


def load_config(method: str, arg: str, configs_dir: str):
  """`<configs_dir>/<method>.py`'s `get_config(arg)`, loaded from its file."""
  path = config_path(method, configs_dir)
  if not os.path.isfile(path):
    raise ConfigError(
        f"No config file {path} for method {method!r}. Pass --configs=<folder> with one "
        "<method>.py per method (the repository's configs/ folder).")
  spec = importlib.util.spec_from_file_location(f"jaxssl_sweep_configs.{method}", path)
  module = importlib.util.module_from_spec(spec)
  with config_file_loading(path, passthrough=ConfigError):
    spec.loader.exec_module(module)
    return module.get_config(arg)


def check_methods(methods: Sequence[str], configs_dir: str) -> None:
  """Refuses, before any run trains or any table is written, methods without a config file."""
  unknown = [m for m in methods if not os.path.isfile(config_path(m, configs_dir))]
  if not unknown:
    return
  if not os.path.isdir(configs_dir):
    raise ConfigError(f"--configs={configs_dir} is not a folder. Pass the folder with one "
                      "<method>.py per method (the repository's configs/).")
  known = sorted(name.removesuffix(".py") for name in os.listdir(configs_dir)
                 if name.endswith(".py") and not name.startswith("_"))
  raise ConfigError(f"No config file in {configs_dir} for {', '.join(unknown)}; "
                    f"the methods there: {', '.join(known)}. Check --methods.")


def parse_overrides(items: Sequence[str]) -> dict:
  """['method.tau=1.0', 'model.name=vit'] -> {'method.tau': 1.0, 'model.name': 'vit'}.

  Values are Python literals where they parse as one, strings otherwise.
  """
  overrides = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep or not key:
      raise ConfigError(f"Override {item!r} is not key=value (e.g. method.threshold=0.9).")
    try:
      overrides[key] = ast.literal_eval(value)
    except (ValueError, SyntaxError):
      overrides[key] = value
  return overrides


def parse_variant(text: str) -> tuple[str, dict]:
  """'hard:method.distillation=hard,method.tau=1.0' -> ('hard', {...})."""
  name, sep, items = text.partition(":")
  if not sep or not name:
    raise ConfigError(f"Variant {text!r} is not NAME:key=value,key=value.")
  return name, parse_overrides([i for i in items.split(",") if i])


def apply_overrides(config, overrides: dict) -> None:
  """Sets each dotted key of `overrides` in `config`; an unknown key is a ConfigError."""
  for key, value in overrides.items():
    *parents, field = key.split(".")
    node = config
    for parent in parents:
      node = node.get(parent) if hasattr(node, "get") else None
    if node is None or not hasattr(node, "get") or field not in node:
      new = renamed_fields.replacement(key)
      raise ConfigError(f"Override {key}={value!r}: the config has no field {key!r}"
                        + (f"; it was renamed: use {new}." if new else "."))
    node[field] = value


def row_name(method: str, variant: str | None) -> str:
  return method if variant is None else f"{method} ({variant})"


def run_dir(root: str, method: str, labels: int, seed: int, variant: str | None = None) -> str:
  parts = [root, method] + ([variant] if variant else []) + [f"labels{labels}", f"seed{seed}"]
  return os.path.join(*parts)


def read_results(workdir: str) -> dict | None:
  path = os.path.join(workdir, metrics_log.RESULTS_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def run_grid(methods: Sequence[str], labels: Sequence[int], seeds: Sequence[int],
             preset: str, root: str, configs_dir: str, steps: int | None = None,
             overrides: dict | None = None,
             variants: dict[str, dict] | None = None,
             train_missing: bool = True) -> dict[tuple[str, int], list[dict]]:
  """Trains every missing run of the grid; returns {(row, labels): [results per seed]}.

  A row is a method, or with `variants` ({name: overrides}) one row per
  method and variant, named by `row_name`. `overrides` apply to every run.
  Runs in stages (pre-train, then fine-tune at a higher resolution) add a
  row per stage, e.g. "deit (hard) [finetune 16px]".
  With `train_missing=False` nothing is trained: runs without results are
  left out, so a table can be written while a sweep is still going.
  """
  variant_items = list((variants or {None: {}}).items())
  grid = [(m, v, n, s) for m in methods for v in variant_items for n in labels for s in seeds]
  results = {}
  for i, (method, (variant, variant_overrides), num_labels, seed) in enumerate(grid, 1):
    workdir = run_dir(root, method, num_labels, seed, variant)
    found = read_results(workdir)
    if found is None and not train_missing:
      continue
    if found is None:
      config = load_config(method, f"{preset},labels={num_labels},seed={seed}", configs_dir)
      apply_overrides(config, {**(overrides or {}), **variant_overrides})
      if steps:
        config.total_steps = steps
      logging.info("[%d/%d] training %s", i, len(grid), workdir)
      os.makedirs(workdir, exist_ok=True)
      found = stages.run(config, workdir)
    else:
      logging.info("[%d/%d] skipping %s: results.json exists", i, len(grid), workdir)
    row = row_name(method, variant)
    results.setdefault((row, num_labels), []).append(found)
    for stage in found.get("stages", []):  # pre-train then fine-tune: a row per resolution
      stage_row = f"{row} [{stage['stage']} {stage['image_size']}px]"
      results.setdefault((stage_row, num_labels), []).append({"seed": seed, **stage})
  return results


def error_rate(results: dict, statistic: str) -> tuple[float, str]:
  """100 (1 - accuracy) of one run, from its EMA weights when it kept them, and which."""
  key = "ema_accuracy" if "ema_accuracy" in results else "accuracy"
  return 100.0 * (1.0 - results[key][statistic]), "EMA" if key == "ema_accuracy" else "raw"


def error_rates(results: dict[tuple[str, int], list[dict]], methods: Sequence[str],
                labels: Sequence[int], statistic: str = "final"
                ) -> tuple[dict[str, dict[int, list[float]]], dict[str, set[str]]]:
  """{row: {labels: [error % per seed]}} and {row: the kinds of weights evaluated}."""
  rates, weights = {}, {}
  for method in methods:
    rates[method], weights[method] = {}, set()
    for num_labels in labels:
      for run in results.get((method, num_labels), []):
        rate, kind = error_rate(run, statistic)
        rates[method].setdefault(num_labels, []).append(rate)
        weights[method].add(kind)
  return rates, weights


def error_table(results: dict[tuple[str, int], list[dict]], methods: Sequence[str],
                labels: Sequence[int], preset: str, statistic: str = "final") -> str:
  """The markdown table: error rate (%) mean ± std (worst) over seeds, rows x label counts.

  `methods` are the row names (`row_name` of each method and variant).
  """
  rates, weights = error_rates(results, methods, labels, statistic)
  header = ("| Method | " + " | ".join(f"{n} labels" if n >= 0 else "all labels" for n in labels)
            + " | weights |")
  lines = [header, "|" + "---|" * (len(labels) + 2)]
  seeds_seen = set()
  for method in methods:
    cells = []
    for num_labels in labels:
      values = rates[method].get(num_labels, [])
      if not values:
        cells.append("n/a")
        continue
      seeds_seen.add(len(values))
      std = statistics.stdev(values) if len(values) > 1 else 0.0
      cells.append(f"{statistics.mean(values):.2f} ± {std:.2f} ({max(values):.2f})")
    lines.append(f"| {method} | " + " | ".join(cells) + f" | {'/'.join(sorted(weights[method]))} |")
  runs_text = "/".join(str(n) for n in sorted(seeds_seen))
  caption = (f"Error rate (%) on {preset} over {runs_text} runs (seeds), mean ± std "
             f"(sample standard deviation) and, in brackets, the worst seed's, from the "
             f"{statistic.replace('_', ' ')} test evaluation of each run. \"weights\": EMA = "
             "the exponential moving average of the parameters (used whenever a run kept one), "
             "raw = the trained parameters.")
  return caption + "\n\n" + "\n".join(lines) + "\n"


def seed_table(results: dict[tuple[str, int], list[dict]], methods: Sequence[str],
                labels: Sequence[int], statistic: str = "final") -> str:
  """The markdown table of every run's error rate (%): rows x (label count, seed) columns.

  The spread of the summary table, run by run: which seed is the worst, and
  whether one seed is hard for every method. A run not finished reads n/a.
  """
  errors = {}
  for method in methods:
    for num_labels in labels:
      for run in results.get((method, num_labels), []):
        errors[(method, num_labels, run["seed"])] = error_rate(run, statistic)[0]
  columns = sorted({(n, seed) for _, n, seed in errors}, key=lambda c: (labels.index(c[0]), c[1]))
  header = "| Method | " + " | ".join(
      f"{n if n >= 0 else 'all'} labels, seed {seed}" for n, seed in columns) + " |"
  lines = [header, "|" + "---|" * (len(columns) + 1)]
  for method in methods:
    cells = [f"{errors[(method, *c)]:.2f}" if (method, *c) in errors else "n/a" for c in columns]
    lines.append(f"| {method} | " + " | ".join(cells) + " |")
  return (f"Error rate (%) of each run, {statistic.replace('_', ' ')} test evaluation:\n\n"
          + "\n".join(lines) + "\n")


_METHODS = flags.DEFINE_list("methods", "fixmatch,mixmatch,pseudo_label,supervised",
                             "Methods, each with a configs/<method>.py.")
_LABELS = flags.DEFINE_list("labels", "20,50,100", "Numbers of labeled examples.")
_SEEDS = flags.DEFINE_list("seeds", "0,1,2", "Seeds (model init, batches and labeled split).")
_PRESET = flags.DEFINE_string("preset", "digits", "Data-set preset of jaxssl.presets.")
_CONFIGS = flags.DEFINE_string("configs", "configs", "Folder of the <method>.py config files.")
_ROOT = flags.DEFINE_string("root", "runs/sweep", "Directory holding one workdir per run.")
_OUT = flags.DEFINE_string("out", None, "Markdown file for the table (it is printed anyway); "
                           "its plot goes beside it, as .png.")
_STEPS = flags.DEFINE_integer("steps", None, "Overrides config.total_steps of every run.")
_SET = flags.DEFINE_multi_string("set", [], "key=value: a config override for every run.")
_VARIANTS = flags.DEFINE_multi_string(
    "variant", [], "NAME:key=value,key=value: one more row per method, with these overrides.")
_REPORT_ONLY = flags.DEFINE_bool(
    "report_only", False, "Train nothing; tabulate the runs that have finished.")
_STATISTIC = flags.DEFINE_enum("statistic", "final", STATISTICS,
                               "Which accuracy of results.json the table reports.")


def main(argv):
  del argv
  try:
    sweep()
  except ConfigError as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)


def sweep():
  """Trains the grid the flags describe; prints and writes its table and plot."""
  methods, labels = _METHODS.value, [int(n) for n in _LABELS.value]
  check_methods(methods, _CONFIGS.value)
  variants = dict(parse_variant(v) for v in _VARIANTS.value) or None
  results = run_grid(methods, labels, [int(s) for s in _SEEDS.value], _PRESET.value,
                     _ROOT.value, _CONFIGS.value, _STEPS.value,
                     overrides=parse_overrides(_SET.value), variants=variants,
                     train_missing=not _REPORT_ONLY.value)
  if not results:  # only when reporting; an empty table must not replace a filled one
    raise ConfigError(
        f"No finished run under {_ROOT.value} for methods {','.join(methods)}, labels "
        f"{','.join(_LABELS.value)}, seeds {','.join(_SEEDS.value)}: nothing to report"
        + (f", and {_OUT.value} is left as it was" if _OUT.value else "")
        + ". Check --root and --methods, or drop --report_only to train the runs.")
  rows = list(dict.fromkeys(row for row, _ in results))  # grid order, stage rows included
  table = (error_table(results, rows, labels, _PRESET.value, _STATISTIC.value) + "\n"
           + seed_table(results, rows, labels, _STATISTIC.value))
  if _OUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
    with open(_OUT.value, "w") as f:
      f.write(table)
    plots.error_bars(error_rates(results, rows, labels, _STATISTIC.value)[0],
                     os.path.splitext(_OUT.value)[0] + ".png",
                     title=f"Test error on {_PRESET.value}")
  print(table)


if __name__ == "__main__":
  app.run(main)
