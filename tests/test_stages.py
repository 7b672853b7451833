"""Runs in stages: pre-train then fine-tune a CNN at another resolution, from the trained weights."""

import json

import jax
import numpy as np

from configs import supervised
from jaxssl import models, sharding, stages, teacher


def test_finetune_runner_continues_a_cnn_at_a_higher_resolution(tmp_path):
  config = supervised.get_config("digits")
  config.model.kwargs.width = 4
  config.num_devices = 1
  config.total_steps = config.log_every = config.eval_every = config.checkpoint_every = 2
  config.runner = "finetune"
  config.finetune.update(dict(image_size=16, total_steps=2))
  config.finetune.optimizer.learning_rate = 1e-9  # fine-tuning barely moves the weights
  workdir = tmp_path / "run"
  results = stages.run(config, str(workdir))
  assert [(s["stage"], s["image_size"], s["steps"]) for s in results["stages"]] == [
      ("pretrain", 8, 2), ("finetune", 16, 2)]
  tuned = json.loads((workdir / "finetune" / "config.json").read_text())
  assert tuned["data"]["image_size"] == 16 and tuned["optimizer"]["learning_rate"] == 1e-9
  assert "runner" not in tuned and "finetune" not in tuned
  # The fine-tuning stage started from the pre-trained weights: at a learning rate of
  # 1e-9 its final weights are theirs.
  dataset = stages.load_native(config)
  mesh = sharding.make_mesh(1)
  pretrained = teacher.load_model(str(workdir / "pretrain"), dataset, mesh)
  finetuned = teacher.load_model(str(workdir / "finetune"), dataset, mesh)
  assert finetuned.image_size == (16, 16)
  for a, b in zip(jax.tree.leaves(pretrained.variables["params"]),
                  jax.tree.leaves(finetuned.variables["params"])):
    np.testing.assert_allclose(a, b, atol=1e-6)
  assert models.adapt_variables(config.model, pretrained.variables, 16) is pretrained.variables
