"""DeiT's ablation table (Touvron et al., 2021, Table 8) on digits, as one sweep.

    python benchmarks/deit_ablation.py --seeds=0,1 [--root=runs/deit_ablation] \
        [--rows=baseline,no_mixup] [--set key=value ...] [--report_only] \
        [--out=benchmarks/results/deit_ablation_digits.md]

Every row is DeiT's training recipe (configs/deit.py's defaults: AdamW,
RandAugment N = 2 at 9 of 10, MixUp 0.8, CutMix 1.0, random erasing 0.25,
stochastic depth 0.1, repeated augmentation x3, no dropout, no EMA) with one
ingredient changed, as in the paper's table, on the digits preset's ViT-micro
(patch 2, 1,500 steps of 96 images at 8x8), then fine-tuned for 300 steps at
16x16 (position embeddings interpolated; `finetune.image_size=16`). Two more
rows add DeiT's hard and soft distillation from a supervised CNN teacher.

The table has the paper's columns: the ingredients (read back from each run's
config.json, so the table shows what ran), test accuracy at the training
resolution and after fine-tuning at the higher one, mean +- std over seeds
(EMA weights in the EMA row, the trained weights elsewhere), and the paper's
figures for DeiT-B on ImageNet (224 then 384 pixels) where its row matches.

Runs live in <root>/deit/<row>/labels-1/seed<S> (jaxssl.sweep's layout); a
finished run is skipped, so the table fills in over several sittings, and two
processes with different --seeds can share the root. --report_only trains
nothing; --set overrides every run's config (e.g. total_steps for a smoke run).
"""

import argparse
import json
import os
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from jaxssl import sweep  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent

# DeiT's recipe on top of the digits preset (which softens it; see configs/deit.py's
# `_digits`), with EMA off as in the paper's baseline row, and the 16x16 fine-tuning.
RECIPE = {"method.distillation": "none", "method.randaugment_magnitude": 0.9,
          "method.cutmix": 1.0, "method.random_erasing": 0.25,
          "method.repeated_augmentation": 3, "eval_ema_decay": 0.0,
          "finetune.image_size": 16}

# SGD with momentum 0.9 at the digits baselines' rate, for the optimizer rows.
_SGD = {"name": "sgd", "learning_rate": 0.03, "weight_decay": 5e-4, "schedule": "warmup_cosine"}

# row -> (what changes, overrides on RECIPE, the paper's top-1 at 224 / after 384 fine-tuning).
# The paper's figures are DeiT-B's (Table 8; the distillation rows from its Table 3, hard
# distillation with the distillation token); "*" marks a run that did not converge there.
ROWS = {
    "baseline": ("DeiT's recipe", {}, "81.8 / 83.1"),
    "sgd_pretrain": ("SGD for pre-training",
                     {f"optimizer.{k}": v for k, v in _SGD.items()}, "74.5 / 77.3"),
    "sgd_finetune": ("SGD for fine-tuning",
                     {"finetune.optimizer.name": "sgd", "finetune.optimizer.learning_rate": 0.003},
                     "81.8 / 83.1"),
    "no_randaugment": ("no RandAugment", {"method.randaugment": False}, "lower"),
    "autoaugment": ("AutoAugment instead of RandAugment",
                    {"method.randaugment": False, "method.autoaugment": True}, "lower"),
    "no_mixup": ("no MixUp", {"method.mixup": 0.0}, "lower"),
    "no_cutmix": ("no CutMix", {"method.cutmix": 0.0}, "lower"),
    "no_mixup_cutmix": ("neither MixUp nor CutMix",
                        {"method.mixup": 0.0, "method.cutmix": 0.0}, "lower"),
    "no_erasing": ("no random erasing", {"method.random_erasing": 0.0}, "4.3* / 0.1"),
    "no_stochastic_depth": ("no stochastic depth", {"model.stochastic_depth_rate": 0.0},
                            "3.4* / 0.1"),
    "no_repeated_augmentation": ("no repeated augmentation",
                                 {"method.repeated_augmentation": 1}, "76.5 / 77.4"),
    "dropout": ("dropout 0.1", {"model.dropout_rate": 0.1}, "81.3 / 83.1"),
    # DeiT's 0.99996 is a horizon of 25k of its 375k steps; 0.99 is 100 of 1,500.
    "ema": ("EMA of the weights (0.99)", {"eval_ema_decay": 0.99}, "81.9 / 83.1"),
    "hard_distillation": ("+ hard distillation", {"method.distillation": "hard"}, "83.4 / 84.5"),
    "soft_distillation": ("+ soft distillation", {"method.distillation": "soft"}, "81.8 / 83.2"),
}

# column -> how to read it from a run's config.json.
INGREDIENTS = {
    "pre-train opt.": lambda c: c["optimizer"]["name"],
    "fine-tune opt.": lambda c: c["finetune"]["optimizer"]["name"] or c["optimizer"]["name"],
    "RandAug": lambda c: c["method"]["randaugment"],
    "AutoAug": lambda c: c["method"]["autoaugment"],
    "MixUp": lambda c: c["method"]["mixup"] > 0,
    "CutMix": lambda c: c["method"]["cutmix"] > 0,
    "Erasing": lambda c: c["method"]["random_erasing"] > 0,
    "Stoch. depth": lambda c: c["model"]["stochastic_depth_rate"] > 0,
    "Rep. aug.": lambda c: c["method"]["repeated_augmentation"] > 1,
    "Dropout": lambda c: c["model"]["dropout_rate"] > 0,
    "EMA": lambda c: c["eval_ema_decay"] > 0,
    "distillation": lambda c: c["method"]["distillation"],
}


def stage_accuracy(results: dict, stage: str) -> float:
  """Test accuracy (%) of one stage of a run: its EMA weights' when it kept an EMA."""
  found = next(s for s in results["stages"] if s["stage"] == stage)
  key = "ema_accuracy" if "ema_accuracy" in found else "accuracy"
  return 100.0 * found[key]["final"]


def mean_std(values: list[float]) -> str:
  if not values:
    return "n/a"
  std = statistics.stdev(values) if len(values) > 1 else 0.0
  return f"{statistics.mean(values):.1f} ± {std:.1f}"


def cell(value) -> str:
  if isinstance(value, bool):
    return "✓" if value else "✗"
  return str(value)


def table(root: str, rows: list[str], seeds: list[int]) -> str:
  """The markdown table of the finished runs of `rows` x `seeds`."""
  header = (["row", "change"] + list(INGREDIENTS)
            + ["8px acc. %", "16px fine-tuned acc. %", "seeds", "paper 224 / 384"])
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    change, _, paper = ROWS[row]
    workdirs = [sweep.run_dir(root, "deit", -1, seed, row) for seed in seeds]
    finished = [(w, r) for w in workdirs if (r := sweep.read_results(w)) is not None]
    if finished:
      with open(os.path.join(finished[0][0], "config.json")) as f:
        config = json.load(f)
      ingredients = [cell(read(config)) for read in INGREDIENTS.values()]
    else:
      ingredients = ["?"] * len(INGREDIENTS)
    student = [stage_accuracy(r, "student") for _, r in finished]
    finetuned = [stage_accuracy(r, "finetune") for _, r in finished]
    lines.append("| " + " | ".join([row, change] + ingredients + [
        mean_std(student), mean_std(finetuned), str(len(finished)), paper]) + " |")
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", default="0,1")
  parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows of ROWS")
  parser.add_argument("--root", default="runs/deit_ablation")
  parser.add_argument("--set", action="append", default=[], help="key=value for every run")
  parser.add_argument("--report_only", action="store_true")
  parser.add_argument("--out", default=None, help="markdown file for the table")
  args = parser.parse_args()
  seeds = [int(s) for s in args.seeds.split(",")]
  rows = args.rows.split(",")
  unknown = sorted(set(rows) - set(ROWS))
  if unknown:
    sys.exit(f"error: unknown rows {unknown}; choose from {list(ROWS)}.")
  if not args.report_only:
    sweep.run_grid(["deit"], [-1], seeds, "digits", args.root, str(ROOT / "configs"),
                   overrides={**RECIPE, **sweep.parse_overrides(args.set)}, variants={row: ROWS[row][1] for row in rows})
  text = table(args.root, rows, seeds)
  print(text)
  if args.out:
    pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
  main()
