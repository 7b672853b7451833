"""The robustness command: evaluates finished runs against a baseline run and writes the table.

  python -m jaxssl.robustness --baseline=supervised=runs/sup/seed{seed} \
      --workdirs=fixmatch=runs/fm/seed{seed},runs/other --split_seeds=0,1,2,3,4 \
      --out=benchmarks/results/robustness_digits.md

Each entry is [LABEL=]WORKDIR; `{seed}` in a path stands for each of
--split_seeds, and each run is normalized by the baseline of the same seed
(the supervised run on the same labels, as Hendrycks & Dietterich normalize
by AlexNet). A staged run's workdir (Noisy Student, fine-tuning) means its
final stage; name a stage's sub-workdir for another. Figures are mean ± std
over the seeds. --out gets the Markdown table and, beside it, a .json of every
figure per seed; nothing is written into the workdirs.

Bad input (a missing workdir, a run not finished, no --baseline, runs on
different data) ends with a one-line message, exit status 2, before anything
is evaluated or written.
"""

import dataclasses
import json
import os
import shlex
import statistics
import sys

from absl import flags

from jaxssl import data, sharding, teacher
from jaxssl.errors import ConfigError
from jaxssl.robustness import corruptions, evaluate, metrics, perturbations

SEED_FIELD = "{seed}"


def parse_entries(text: str) -> list[tuple[str, str]]:
  """'a=runs/x,runs/y' -> [('a', 'runs/x'), ('runs/y', 'runs/y')]."""
  entries = []
  for item in filter(None, (part.strip() for part in text.split(","))):
    label, sep, path = item.partition("=")
    entries.append((label, path) if sep and label and path else (item, item))
  return entries


def _parse(argv: list[str]):
  flag_values = flags.FlagValues()
  workdirs = flags.DEFINE_string("workdirs", "", "Comma-separated [LABEL=]WORKDIR of finished "
                                 "runs; {seed} stands for each split seed.",
                                 flag_values=flag_values)
  baseline = flags.DEFINE_string("baseline", "", "[LABEL=]WORKDIR of the baseline run (e.g. "
                                 "the supervised run on the same data); {seed} as above.",
                                 flag_values=flag_values)
  split_seeds = flags.DEFINE_list("split_seeds", [], "Values of {seed} in the paths.",
                                  flag_values=flag_values)
  weights = flags.DEFINE_enum("weights", "ema", teacher.WEIGHTS, "Which parameters to "
                              "evaluate: the raw ones or their evaluation EMA.",
                              flag_values=flag_values)
  seed = flags.DEFINE_integer("seed", 0, "Seed of the corruptions' and perturbations' draws.",
                              flag_values=flag_values)
  out = flags.DEFINE_string("out", "", "Markdown file for the table (a .json beside it).",
                            flag_values=flag_values)
  flag_values(argv)
  if not baseline.value:
    raise ConfigError("--baseline is required: the workdir of the run that mCE and mFR are "
                      "normalized by (e.g. the supervised run on the same data).")
  try:
    seeds = [int(value) for value in split_seeds.value]
  except ValueError as error:
    raise ConfigError(f"--split_seeds={','.join(split_seeds.value)}: give integers, "
                      "e.g. 0,1,2.") from error
  entries = parse_entries(baseline.value)[:1] + parse_entries(workdirs.value)
  if any(SEED_FIELD in path for _, path in entries) and not seeds:
    raise ConfigError("The paths hold {seed} but --split_seeds is empty; give the seeds, "
                      "e.g. --split_seeds=0,1,2,3,4.")
  return entries, seeds or [None], weights.value, seed.value, out.value


def _plan(entries, seeds, out) -> dict:
  """{(label, seed): the finished run's workdir}, every one checked before anything is evaluated."""
  runs = {}
  for label, path in entries:
    for seed in seeds:
      runs[label, seed] = evaluate.finished_run(
          path if seed is None else path.replace(SEED_FIELD, str(seed)))
  sources = {teacher.read_config(workdir).data.source for workdir in runs.values()}
  if len(sources) > 1:
    raise ConfigError(f"The runs were trained on different data ({', '.join(sorted(sources))}); "
                      "compare runs on one data source.")
  if out:
    target = os.path.abspath(out)
    for label, path in entries:
      if target.startswith(os.path.abspath(path.split(SEED_FIELD)[0]).rstrip(os.sep) + os.sep):
        raise ConfigError(f"--out={out} lies inside the run {path}; write the table outside "
                          "the workdirs.")
  return runs


def _mean_std(values) -> str:
  std = statistics.stdev(values) if len(values) > 1 else 0.0
  return f"{statistics.mean(values):.1f} ± {std:.1f}"


def summarize(figures: dict, labels: list[str], seeds: list) -> dict:
  """{label: {column: [value per seed]}} of the table, each run against its seed's baseline."""
  baseline = labels[0]
  rows = {}
  for label in labels:
    columns = {}
    for seed in seeds:
      run, base = figures[label, seed], figures[baseline, seed]
      values = {
          "clean error %": 100 * run.clean_error,
          "mCE": metrics.mean_corruption_error(run.corruption_errors, base.corruption_errors),
          "corruption error %": metrics.unnormalized_corruption_error(run.corruption_errors),
          "mFR": metrics.mean_flip_rate(run.flip_probabilities, base.flip_probabilities),
          "flip probability %": 100 * statistics.mean(run.flip_probabilities.values()),
          **{f"CE {name}": 100 * ratio for name, ratio in metrics.corruption_errors(
              run.corruption_errors, base.corruption_errors).items()},
          **{f"FR {name}": 100 * ratio for name, ratio in metrics.flip_rates(
              run.flip_probabilities, base.flip_probabilities).items()}}
      for column, value in values.items():
        columns.setdefault(column, []).append(value)
    rows[label] = columns
  return rows


def _table(rows: dict, columns: list[str], header: list[str]) -> list[str]:
  lines = ["| run | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
  for label, values in rows.items():
    lines.append(f"| {label} | " + " | ".join(_mean_std(values[c]) for c in columns) + " |")
  return lines


def markdown(rows: dict, baseline: str, seeds: list, weights: str, seed: int,
             command: str) -> str:
  """The Markdown report: the summary table, then CE per corruption and FR per perturbation."""
  seed_text = ("one run each" if seeds == [None] else
               f"split seeds {', '.join(map(str, seeds))}: mean ± std over them")
  main = ["clean error %", "mCE", "corruption error %", "mFR", "flip probability %"]
  columns = list(next(iter(rows.values())))
  corrupted = [column[3:] for column in columns if column.startswith("CE ")]
  perturbed = [column[3:] for column in columns if column.startswith("FR ")]
  return "\n".join([
      "# Robustness to corruptions (mCE) and perturbations (mFR)", "",
      f"Written by `{command}`.", "",
      f"Baseline: {baseline} (mCE = mFR = 100). {weights} weights, {seed_text}. "
      f"{len(corruptions.CORRUPTIONS)} corruptions x 5 severities and "
      f"{len(perturbations.PERTURBATIONS)} perturbation sequences of "
      f"{perturbations.NUM_FRAMES} frames (jaxssl/robustness), draws from seed {seed}. "
      "Corruption error % is the un-normalized mean error over corruptions and severities; "
      "flip probability % the mean FP over the perturbations.", "",
      *_table(rows, main, ["clean error %", "mCE", "mean corruption error %", "mFR",
                           "mean flip probability %"]), "",
      "CE per corruption (% of the baseline's summed error):", "",
      *_table(rows, [f"CE {name}" for name in corrupted], corrupted), "",
      "FR per perturbation (% of the baseline's flip probability):", "",
      *_table(rows, [f"FR {name}" for name in perturbed], perturbed), ""])


def run(argv: list[str]) -> int:
  """Runs the command line `argv`; returns the exit status."""
  try:
    entries, seeds, weights, seed, out = _parse(argv)
    runs = _plan(entries, seeds, out)
    config = teacher.read_config(next(iter(runs.values())))
    dataset = data.load_source(config.data.source, config.data.data_dir or None)
    mesh = sharding.make_mesh()
    figures, done = {}, {}
    for (label, split), workdir in runs.items():
      if workdir not in done:
        print(f"Evaluating {label} ({workdir})", file=sys.stderr, flush=True)
        done[workdir] = evaluate.evaluate_run(workdir, dataset, mesh, weights, seed)
      figures[label, split] = done[workdir]
    labels = list(dict.fromkeys(label for label, _ in entries))
    rows = summarize(figures, labels, seeds)
  except (flags.Error, ConfigError) as error:
    print(f"error: {error}".splitlines()[0], file=sys.stderr)
    return 2
  command = "python -m jaxssl.robustness " + shlex.join(argv[1:])
  report = markdown(rows, labels[0], seeds, weights, seed, command)
  print(report)
  if out:
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
      f.write(report)
    per_seed = {f"{label} / seed {split}": {"workdir": runs[label, split],
                                             **dataclasses.asdict(figures[label, split])}
                for label, split in runs}
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
      json.dump(per_seed, f, indent=2)
  return 0
