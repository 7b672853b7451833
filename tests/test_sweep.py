"""The sweep tool: a tiny grid trains, reruns skip finished runs, the table's format."""

import json
import os

import pytest
from absl import flags
from absl.testing import flagsaver

from jaxssl import stages, sweep
from jaxssl.errors import ConfigError

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def test_tiny_grid_trains_then_skips_finished_runs(tmp_path, monkeypatch):
  root = str(tmp_path / "sweep")
  methods, labels, seeds = ["supervised", "pseudo_label"], [20], [0, 1]
  results = sweep.run_grid(methods, labels, seeds, "digits", root, CONFIGS, steps=2,
                           overrides={"num_devices": 1})
  for method in methods:
    for seed in seeds:
      assert os.path.exists(os.path.join(sweep.run_dir(root, method, 20, seed), "results.json"))
    assert [r["seed"] for r in results[(method, 20)]] == seeds
    assert all(r["steps"] == 2 and r["method"] == method for r in results[(method, 20)])

  def must_not_train(config, workdir):
    raise AssertionError(f"{workdir} was trained again")

  monkeypatch.setattr(stages, "run", must_not_train)
  assert sweep.run_grid(methods, labels, seeds, "digits", root, CONFIGS, steps=2,
                        overrides={"num_devices": 1}) == results
  # Reporting only: the finished runs are found, the missing label count is left out.
  assert sweep.run_grid(methods, [20, 50], seeds, "digits", root, CONFIGS, steps=2,
                        overrides={"num_devices": 1}, train_missing=False) == results
  table = sweep.error_table(results, methods, labels, "digits")
  assert "| supervised |" in table and "| pseudo_label |" in table and "20 labels" in table


def test_error_table_reports_mean_std_and_worst_of_error_rates():
  def run(accuracy, ema=None):
    summary = {"final": accuracy, "best": accuracy, "median_last_20": accuracy}
    return {"accuracy": summary, **({"ema_accuracy": {**summary, "final": ema}} if ema else {})}

  results = {("fixmatch", 20): [run(0.5, ema=0.9), run(0.5, ema=0.8)],
             ("fixmatch", 50): [run(0.5, ema=0.95), run(0.5, ema=0.95)],
             ("supervised", 20): [run(0.7), run(0.6)]}
  table = sweep.error_table(results, ["fixmatch", "supervised"], [20, 50], "digits")
  lines = table.splitlines()
  assert lines[0].startswith("Error rate (%) on digits over 2 runs")
  assert "| fixmatch | 15.00 ± 7.07 (20.00) | 5.00 ± 0.00 (5.00) | EMA |" in lines
  assert "| supervised | 35.00 ± 7.07 (40.00) | n/a | raw |" in lines


def test_load_config_reads_the_configs_directory(tmp_path):
  config = sweep.load_config("fixmatch", "digits,labels=50,seed=2", CONFIGS)
  assert config.method.name == "fixmatch"
  assert (config.data.num_labeled, config.seed) == (50, 2)
  with pytest.raises(ConfigError, match="--configs"):
    sweep.load_config("no_such_method", "digits", CONFIGS)
  with pytest.raises(ConfigError, match="--configs"):
    sweep.load_config("fixmatch", "digits", str(tmp_path))
  # A bug in a user's config file is reported with the file and line, not as a traceback.
  (tmp_path / "mine.py").write_text("def get_config(arg):\n  return arg.no_such_method()\n")
  with pytest.raises(ConfigError, match=r"mine.py fails at line 2: AttributeError"):
    sweep.load_config("mine", "digits", str(tmp_path))
  (tmp_path / "no_arg.py").write_text("def get_config():\n  return None\n")
  with pytest.raises(ConfigError, match=r"no_arg.py was called with an argument"):
    sweep.load_config("no_arg", "digits", str(tmp_path))


def test_variants_train_one_row_each_with_their_overrides(tmp_path):
  root = str(tmp_path / "ablation")
  variants = {"slow": {"optimizer.learning_rate": 0.001}, "fast": {"optimizer.learning_rate": 0.1}}
  results = sweep.run_grid(["supervised"], [20], [0], "digits", root, CONFIGS, steps=1,
                           overrides={"eval_batch_size": 120, "num_devices": 1},
                           variants=variants)
  assert set(results) == {("supervised (slow)", 20), ("supervised (fast)", 20)}
  for name, overrides in variants.items():
    with open(os.path.join(sweep.run_dir(root, "supervised", 20, 0, name), "config.json")) as f:
      config = json.load(f)
    assert config["optimizer"]["learning_rate"] == overrides["optimizer.learning_rate"]
    assert config["eval_batch_size"] == 120
  table = sweep.error_table(results, ["supervised (slow)", "supervised (fast)"], [20], "digits")
  assert "| supervised (slow) |" in table and "| supervised (fast) |" in table


def test_overrides_parse_literals_and_unknown_keys_are_clear_errors():
  assert sweep.parse_variant("hard:method.distillation=hard,method.tau=1.5") == (
      "hard", {"method.distillation": "hard", "method.tau": 1.5})
  assert sweep.parse_overrides(["method.model_sizes=(4, 8)"]) == {"method.model_sizes": (4, 8)}
  config = sweep.load_config("fixmatch", "digits", CONFIGS)
  with pytest.raises(ConfigError, match="no field 'method.treshold'"):
    sweep.apply_overrides(config, {"method.treshold": 0.9})
  with pytest.raises(ConfigError, match="renamed: use config.eval_ema_decay"):
    sweep.apply_overrides(config, {"ema_decay": 0.9})
  with pytest.raises(ConfigError, match="not key=value"):
    sweep.parse_overrides(["threshold"])
  with pytest.raises(ConfigError, match="NAME:key=value"):
    sweep.parse_variant("method.tau=1.0")


def test_staged_runs_add_a_row_per_resolution(tmp_path, monkeypatch):
  def stage(name, size, accuracy):
    summary = {"final": accuracy, "best": accuracy, "median_last_20": accuracy}
    return {"stage": name, "image_size": size, "accuracy": summary}

  def fake_run(config, workdir):
    stages = [stage("pretrain", 8, 0.8), stage("finetune", 16, 0.9)]
    return {**stages[-1], "stages": stages}

  monkeypatch.setattr(stages, "run", fake_run)
  results = sweep.run_grid(["deit"], [-1], [0], "digits", str(tmp_path), CONFIGS)
  rows = list(dict.fromkeys(row for row, _ in results))
  assert rows == ["deit", "deit [pretrain 8px]", "deit [finetune 16px]"]
  table = sweep.error_table(results, rows, [-1], "digits")
  assert "| deit [pretrain 8px] | 20.00 ± 0.00 (20.00) | raw |" in table
  assert "| deit [finetune 16px] | 10.00 ± 0.00 (10.00) | raw |" in table


def test_seed_table_gives_each_runs_error_under_its_labels_and_seed():
  def run(seed, ema):
    summary = {"final": ema, "best": ema, "median_last_20": ema}
    return {"seed": seed, "accuracy": summary, "ema_accuracy": summary}

  results = {("fixmatch", 50): [run(0, 0.9), run(3, 0.75)],
             ("fixmatch", 20): [run(1, 0.8)],
             ("uda", 50): [run(3, 0.6)]}
  lines = sweep.seed_table(results, ["fixmatch", "uda"], [20, 50]).splitlines()
  assert lines[2] == "| Method | 20 labels, seed 1 | 50 labels, seed 0 | 50 labels, seed 3 |"
  assert "| fixmatch | 20.00 | 10.00 | 25.00 |" in lines
  assert "| uda | n/a | n/a | 40.00 |" in lines


def sweep_command_line(*argv):
  """Runs `python -m jaxssl.sweep *argv` in this process; the flags are restored after."""
  with flagsaver.flagsaver():
    flags.FLAGS(["sweep", *argv])
    sweep.main([])


def test_a_misspelt_method_or_no_finished_run_is_refused_and_keeps_the_table_file(
    tmp_path, capsys):
  out = tmp_path / "digits.md"
  out.write_text("the table of an earlier sweep")
  finished = tmp_path / "sweep" / "supervised" / "labels20" / "seed0"
  finished.mkdir(parents=True)
  (finished / "results.json").write_text(json.dumps(
      {"seed": 0, "accuracy": {"final": 0.5}, "ema_accuracy": {"final": 0.6}}))
  common = [f"--root={tmp_path / 'sweep'}", f"--configs={CONFIGS}", "--labels=20",
            f"--out={out}"]
  argv = [*common, "--seeds=0", "--report_only"]
  misspelt = f"No config file in {CONFIGS} for supervisd; the methods there: adamatch, comatch, "
  # Each refused with exit status 2 and one line, before anything is trained or written: a
  # misspelt method among known ones, when reporting and when training (a run of the known
  # method, seed 1, would train first otherwise); a known method without a finished run; a
  # --configs folder that does not exist.
  for arguments, message, fix in (
      ([*argv, "--methods=supervised,supervisd"], misspelt, "Check --methods."),
      ([*common, "--seeds=1", "--methods=supervised,supervisd"], misspelt, "Check --methods."),
      ([*argv, "--methods=fixmatch"], "No finished run under ", "left as it was"),
      ([*argv, "--methods=supervised", f"--configs={tmp_path / 'cfgs'}"],
       f"--configs={tmp_path / 'cfgs'} is not a folder.", "Pass the folder")):
    with pytest.raises(SystemExit) as exit:
      sweep_command_line(*arguments)
    error = capsys.readouterr().err
    assert exit.value.code == 2 and error.startswith(f"error: {message}") and fix in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert out.read_text() == "the table of an earlier sweep"
  assert not (finished.parent / "seed1").exists()
  # The finished run is reported: the table replaces the file.
  sweep_command_line(*argv, "--methods=supervised")
  assert "| supervised | 40.00 ± 0.00 (40.00) | EMA |" in out.read_text()
