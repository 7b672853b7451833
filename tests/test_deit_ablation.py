"""benchmarks/deit_ablation.py: every row is a valid config, and the table reads what ran."""

import importlib.util
import json
import os
import pathlib

import pytest

from jaxssl import sweep

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("deit_ablation",
                                               ROOT / "benchmarks" / "deit_ablation.py")
deit_ablation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(deit_ablation)


@pytest.mark.parametrize("row", list(deit_ablation.ROWS))
def test_each_row_changes_the_recipe_in_the_config_it_names(row):
  config = sweep.load_config("deit", "digits,labels=-1,seed=0", str(ROOT / "configs"))
  sweep.apply_overrides(config, deit_ablation.RECIPE)  # a ConfigError on an unknown field
  before = json.loads(config.to_json())
  sweep.apply_overrides(config, deit_ablation.ROWS[row][1])
  after = json.loads(config.to_json())
  ingredients = {name: (read(before), read(after))
                 for name, read in deit_ablation.INGREDIENTS.items()}
  changed = {name for name, (old, new) in ingredients.items() if old != new}
  assert (row == "baseline") == (not changed), changed


def _fake_run(root, row, seed, config, student, finetuned):
  workdir = sweep.run_dir(str(root), "deit", -1, seed, row)
  os.makedirs(workdir)
  with open(os.path.join(workdir, "config.json"), "w") as f:
    json.dump(config, f)
  stages = [{"stage": "student", "accuracy": {"final": student}},
            {"stage": "finetune", "accuracy": {"final": finetuned}}]
  with open(os.path.join(workdir, "results.json"), "w") as f:
    json.dump({"stages": stages}, f)


def test_table_gives_mean_and_std_per_stage_and_marks_missing_rows(tmp_path):
  config = sweep.load_config("deit", "digits,labels=-1,seed=0", str(ROOT / "configs"))
  sweep.apply_overrides(config, deit_ablation.RECIPE)
  config = json.loads(config.to_json())
  _fake_run(tmp_path, "baseline", 0, config, 0.80, 0.84)
  _fake_run(tmp_path, "baseline", 1, config, 0.90, 0.86)
  text = deit_ablation.table(str(tmp_path), ["baseline", "no_mixup"], [0, 1])
  baseline, no_mixup = text.splitlines()[2:]
  # mean 85.0, sample std of (80, 90) = 7.07; (84, 86): 85.0 and 1.41.
  assert "| 85.0 ± 7.1 | 85.0 ± 1.4 | 2 | 81.8 / 83.1 |" in baseline
  assert "| adamw | adamw | ✓ | ✗ | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ | ✗ | none |" in baseline
  assert "| n/a | n/a | 0 |" in no_mixup
