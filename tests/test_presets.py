"""Config argument parsing and the workdir's run identity."""

import importlib
import json
import pathlib

import pytest

from jaxssl import checkpointing, presets
from jaxssl.errors import ConfigError, WorkdirMismatchError


def test_parse_arg():
  assert presets.parse_arg(None) == {"dataset": "digits"}
  assert presets.parse_arg("cifar10,labels=250,seed=2") == {
      "dataset": "cifar10", "labels": 250, "seed": 2}
  assert presets.parse_arg("folder=/data/c10,labels=40") == {
      "dataset": "folder", "path": "/data/c10", "labels": 40}


@pytest.mark.parametrize("arg, message", [
    ("imagenet21k", "Unknown data-set preset"),
    ("cifar10,lables=40", "Unknown config argument"),
    ("cifar10,labels=many", "integer"),
])
def test_parse_arg_errors(arg, message):
  with pytest.raises(ConfigError, match=message):
    presets.parse_arg(arg)


def test_base_config_fills_preset():
  config = presets.base_config("cifar100,labels=2500,seed=3")
  assert config.data.source == "tfds:cifar100"
  assert config.data.num_labeled == 2500
  assert config.seed == config.data.split_seed == 3
  assert config.model.kwargs.width == 8
  assert presets.base_config("folder=/x").data.source == "folder:/x"


CONFIG_MODULES = sorted(p.stem for p in (pathlib.Path(__file__).parent.parent / "configs").glob(
    "*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", CONFIG_MODULES)
def test_every_config_resolves_on_every_preset(name):
  """Each preset's data fields reach every method's config (the train steps: tests/methods)."""
  get_config = importlib.import_module(f"configs.{name}").get_config
  for arg, preset in presets.DATASETS.items():
    if arg == "folder":
      arg = "folder=/data/images"
    config = get_config(f"{arg},labels=40,seed=7")
    assert config.data.num_labeled == 40 and config.seed == config.data.split_seed == 7
    assert config.data.source == preset["source"].format(path="/data/images")
    assert config.data.flip == preset["flip"]
    assert config.data.num_classes == preset["num_classes"]


def test_claim_workdir_allows_cadence_changes_only(tmp_path):
  config = presets.base_config("digits")
  checkpointing.claim_workdir(str(tmp_path), config)
  config.log_every = 7
  checkpointing.claim_workdir(str(tmp_path), config)  # watching differently is fine
  saved = (tmp_path / "config.json").read_text()
  config.optimizer.learning_rate = 0.1
  with pytest.raises(WorkdirMismatchError, match="optimizer.learning_rate"):
    checkpointing.claim_workdir(str(tmp_path), config)
  assert (tmp_path / "config.json").read_text() == saved
  assert json.loads(saved)["log_every"] == 100


def test_claim_workdir_refuses_foreign_checkpoints(tmp_path):
  (tmp_path / "checkpoints").mkdir()
  with pytest.raises(WorkdirMismatchError, match="no config.json"):
    checkpointing.claim_workdir(str(tmp_path), presets.base_config("digits"))
  assert not (tmp_path / "config.json").exists()
