"""A method (FixMatch by default) on digits over labeled splits and training seeds, vs LabelSpreading.

    python benchmarks/fixmatch_digits_seeds.py [--split_seeds 0-9] [--train_seeds 1-5] \
        [--labels 20] [--root runs/fixmatch_digits_seeds] [--set method.threshold=0.9 ...] \
        [--method comatch] [--out benchmarks/results/fixmatch_digits_seeds.md]

Two tables, both with 20 labels by default:
- one row per labeled split (split seed s, trained with seed s): the method's
  test accuracy (EMA weights, end of training) and scikit-learn's
  LabelSpreading (kNN graph, k = 7, alpha = 0.2; Zhou et al., 2004) on the
  SAME labeled images, and the margin between them;
- one row per training seed on the first split (the split held fixed, the
  initialization, batches and augmentation drawn anew).
Each table ends with mean ± std and the worst row. Runs are skipped once they
have a results.json, so the script can be stopped and rerun. `--set` applies
config overrides to every run (an ablation); use another --root for it.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys

import numpy as np
from sklearn.semi_supervised import LabelSpreading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from jaxssl import data, stages, sweep  # noqa: E402

# Table headings for the configs' names; others are shown as named.
DISPLAY_NAMES = {"fixmatch": "FixMatch", "comatch": "CoMatch"}
CONFIGS = str(pathlib.Path(__file__).resolve().parent.parent / "configs")


def seeds(text: str) -> list[int]:
  """'0-9' or '0,3,5' -> a list of ints."""
  if "-" in text:
    first, last = text.split("-")
    return list(range(int(first), int(last) + 1))
  return [int(s) for s in text.split(",")]


def label_spreading_accuracy(dataset: data.Dataset, labeled: np.ndarray) -> float:
  """Test accuracy of LabelSpreading (kNN, k=7, alpha=0.2) given the labels of `labeled`."""
  features = dataset.train_images.reshape(len(dataset.train_images), -1) / 255.0
  targets = np.full(len(features), -1)
  targets[labeled] = dataset.train_labels[labeled]
  model = LabelSpreading(kernel="knn", n_neighbors=7, alpha=0.2, max_iter=1000)
  test = dataset.test_images.reshape(len(dataset.test_images), -1) / 255.0
  # Points whose neighbours carry no label mass divide 0 by 0 inside scikit-learn; they
  # are predicted as class 0, which counts against LabelSpreading, not for it.
  with np.errstate(divide="ignore", invalid="ignore"):
    model.fit(features, targets)
    predicted = model.predict(test)
  return float(np.mean(predicted == dataset.test_labels))


def train_run(root: str, labels: int, split_seed: int, train_seed: int, overrides: dict,
              method: str = "fixmatch") -> dict:
  workdir = os.path.join(root, f"labels{labels}", f"split{split_seed}_train{train_seed}")
  results_path = os.path.join(workdir, "results.json")
  if os.path.exists(results_path):
    return json.loads(pathlib.Path(results_path).read_text())
  config = sweep.load_config(method, f"digits,labels={labels},seed={split_seed}", CONFIGS)
  config.seed = train_seed
  sweep.apply_overrides(config, overrides)
  return stages.run(config, workdir)


def accuracy(results: dict) -> float:
  key = "ema_accuracy" if "ema_accuracy" in results else "accuracy"
  return results[key]["final"]


def summary_rows(values: dict[str, list[float]]) -> list[str]:
  """'mean ± std' and 'worst' rows over the columns of a table (accuracies in %)."""
  def cell(column, how):
    column = [100 * v for v in column]
    if how == "mean":
      std = statistics.stdev(column) if len(column) > 1 else 0.0
      return f"{statistics.mean(column):.2f} ± {std:.2f}"
    return f"{min(column):.2f}"
  return ["| mean ± std | " + " | ".join(cell(v, "mean") for v in values.values()) + " |",
          "| worst | " + " | ".join(cell(v, "worst") for v in values.values()) + " |"]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--split_seeds", default="0-9")
  parser.add_argument("--train_seeds", default="1-5")
  parser.add_argument("--labels", type=int, default=20)
  parser.add_argument("--root", default="runs/fixmatch_digits_seeds")
  parser.add_argument("--set", action="append", default=[], help="key=value override")
  parser.add_argument("--method", default="fixmatch", help="a config in configs/")
  parser.add_argument("--out", default=None)
  args = parser.parse_args()
  overrides = sweep.parse_overrides(args.set)
  dataset = data.load_source("digits")

  name = DISPLAY_NAMES.get(args.method, args.method)
  split_rows, split_columns = [], {"LabelSpreading": [], name: [], "margin": []}
  for split_seed in seeds(args.split_seeds):
    labeled = data.labeled_split(dataset.train_labels, args.labels, dataset.num_classes,
                                 split_seed)
    spreading = label_spreading_accuracy(dataset, labeled)
    score = accuracy(train_run(args.root, args.labels, split_seed, split_seed, overrides,
                               args.method))
    for column, value in zip(split_columns, (spreading, score, score - spreading)):
      split_columns[column].append(value)
    split_rows.append(f"| {split_seed} | {100 * spreading:.2f} | {100 * score:.2f} | "
                      f"{100 * (score - spreading):+.2f} |")
    print(split_rows[-1], flush=True)

  first_split = seeds(args.split_seeds)[0]
  seed_rows, seed_columns = [], {name: []}
  for train_seed in seeds(args.train_seeds):
    score = accuracy(train_run(args.root, args.labels, first_split, train_seed, overrides,
                               args.method))
    seed_columns[name].append(score)
    seed_rows.append(f"| {train_seed} | {100 * score:.2f} |")
    print(seed_rows[-1], flush=True)

  text = "\n".join([
      f"{name} on digits, {args.labels} labels (configs/{args.method}.py digits preset"
      + (f", overrides {overrides}" if overrides else "") + "): test accuracy (%) of the EMA "
      "weights at the end of training. Written by benchmarks/fixmatch_digits_seeds.py.",
      "",
      "### Across labeled splits (split seed = training seed), next to LabelSpreading",
      "",
      f"| split seed | LabelSpreading (kNN k=7, alpha=0.2) | {name} | {name} - LabelSpreading |",
      "|---|---|---|---|", *split_rows, *summary_rows(split_columns), "",
      f"### Across training seeds on split seed {first_split}",
      "",
      f"| training seed | {name} |", "|---|---|", *seed_rows, *summary_rows(seed_columns), ""])
  if args.out:
    pathlib.Path(args.out).write_text(text)
  print(text)


if __name__ == "__main__":
  main()
