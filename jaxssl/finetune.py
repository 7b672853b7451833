"""Staged training: pre-train at resolution r, fine-tune at r', with an optional frozen teacher.

DeiT (Touvron et al., 2021, Sec. 6, following Dosovitskiy et al., 2021,
Sec. 3.2) pre-trains at 224 and fine-tunes at 384: the patch size p stays, so
the patch grid grows from (r/p)^2 to (r'/p)^2 and the grid position embeddings
are interpolated bicubically (jaxssl.models.adapt_vit_params); the class and
distillation token embeddings are kept. Here images are resized to the
stage's `config.data.image_size` (e.g. digits 8x8 -> 16x16).

With `config.finetune.image_size` set, the workdir holds

  config.json       the run's config
  pretrain/         a train workdir at config.data.image_size (0: the source's size)
  finetune/         a train workdir at config.finetune.image_size, started from the
                    final pre-trained weights (raw or EMA: config.finetune.init_weights)
  results.json      both stages' accuracy

and each stage resumes from its checkpoints and is skipped once it has its
results.json. With `config.finetune.image_size = 0` the run is one stage,
trained in the workdir itself.

A method that distills (DeiT with `config.method.distillation` "soft" or
"hard") gets the run in `config.method.teacher_workdir`, loaded read-only by
jaxssl.teacher, as `teacher_fn` (eval-mode logits; images are resized to the
teacher's resolution). It is loaded, like every other check, before anything
is written.
"""

import dataclasses
import json
import os

import jax
import ml_collections
from absl import logging

from jaxssl import checkpointing, data, metrics_log, models, sharding, teacher, train
from jaxssl.errors import ConfigError
from jaxssl.methods import deit

STAGES = ("pretrain", "finetune")


def stage_configs(config: ml_collections.ConfigDict) -> list[ml_collections.ConfigDict]:
  """[pre-training config] or [pre-training config, fine-tuning config]."""
  if not config.finetune.image_size:
    return [config]
  pretrain = config.copy_and_resolve_references()
  # A stage's config.json holds what that stage trains with, nothing of the other stage.
  with pretrain.unlocked():  # launch.py's config_flags hands over a locked ConfigDict
    del pretrain["finetune"]
  finetune = pretrain.copy_and_resolve_references()
  finetune.data.image_size = config.finetune.image_size
  if "image_size" in finetune.model.kwargs:
    finetune.model.kwargs.image_size = config.finetune.image_size
  finetune.total_steps = config.finetune.total_steps
  finetune.optimizer.update(config.finetune.optimizer.to_dict())
  return [pretrain, finetune]


def resolution(config: ml_collections.ConfigDict, native: data.Dataset) -> int:
  return config.data.get("image_size", 0) or native.image_shape[0]


def check_stage(config: ml_collections.ConfigDict, native: data.Dataset) -> None:
  """Refuses a stage whose ViT doesn't fit its image size, or a bad recipe."""
  train.validate_config(config)
  if config.method.name == "deit":
    deit.validate(config)
  if config.model.name == "vit":
    size = resolution(config, native)
    models.vit.check_patch_size(size, config.model.kwargs.patch_size)
    if config.model.kwargs.get("image_size") not in (None, size):
      raise ConfigError(
          f"config.model.kwargs.image_size={config.model.kwargs.image_size} but this stage "
          f"trains on {size}x{size} images; set it to {size} (or config.data.image_size to "
          f"{config.model.kwargs.image_size}).")


def distills(config: ml_collections.ConfigDict) -> bool:
  return config.method.get("distillation", "none") != "none"


def load_teacher_fn(config, native, mesh):
  """The frozen teacher's logits function, or None for a method that doesn't distill."""
  if not distills(config):
    return None
  if not config.method.teacher_workdir:
    raise ConfigError(
        f"config.method.distillation={config.method.distillation!r} needs a teacher: set "
        "config.method.teacher_workdir to the workdir of a finished run (e.g. of "
        "configs/supervised.py or configs/fixmatch.py), or set config.method.distillation='none'.")
  return teacher.load_teacher(config.method.teacher_workdir, config, native, mesh).logits_fn()


def finetune_variables(pretrain_dir: str, pretrain: ml_collections.ConfigDict,
                       native: data.Dataset, mesh, config: ml_collections.ConfigDict) -> dict:
  """The pre-trained variables, position embeddings resized for the fine-tuning resolution."""
  model, _ = train.build_model(pretrain, native.num_classes, native.train_images[:1])
  size = resolution(pretrain, native)
  variables = teacher.restore_variables(pretrain_dir, model, (size, size, native.image_shape[2]),
                                        mesh, config.finetune.init_weights)
  if config.model.name == "vit":
    variables["params"] = models.adapt_vit_params(
        variables["params"], config.finetune.image_size, config.model.kwargs.patch_size)
  return variables


def train_stage(stage: ml_collections.ConfigDict, workdir: str, native: data.Dataset,
                teacher_fn, initial_variables=None) -> dict:
  exp = train.build_experiment(stage, native)
  exp = dataclasses.replace(exp, teacher_fn=teacher_fn, initial_variables=initial_variables)
  return train.train_and_evaluate(stage, workdir, exp)


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains the config's stages in `workdir`; returns the results of the last one."""
  native = data.load_source(config.data.source, config.data.data_dir or None)
  stages = stage_configs(config)
  for stage in stages:
    check_stage(stage, native)
  mesh = sharding.make_mesh(config.num_devices or None)
  teacher_fn = load_teacher_fn(config, native, mesh)
  if len(stages) == 1:
    return train_stage(config, workdir, native, teacher_fn)

  checkpointing.claim_workdir(workdir, config)
  summaries = []
  for name, stage in zip(STAGES, stages):
    stage_dir = os.path.join(workdir, name)
    results_path = os.path.join(stage_dir, metrics_log.RESULTS_FILE)
    if os.path.exists(results_path):
      logging.info("%s is finished; skipping it.", stage_dir)
      with open(results_path) as f:
        results = json.load(f)
    else:
      initial_variables = None
      if name == "finetune":
        initial_variables = finetune_variables(os.path.join(workdir, STAGES[0]), stages[0],
                                               native, mesh, config)
      results = train_stage(stage, stage_dir, native, teacher_fn, initial_variables)
    summaries.append({"stage": name, "image_size": resolution(stage, native),
                      "steps": results["steps"],
                      **{k: results[k] for k in ("accuracy", "ema_accuracy") if k in results}})
  final = summaries[-1]
  results = {
      "method": config.method.name, "source": config.data.source,
      "num_labeled": config.data.num_labeled, "seed": config.seed, "steps": final["steps"],
      "stages": summaries,
      **{k: final[k] for k in ("accuracy", "ema_accuracy") if k in final}}
  if jax.process_index() == 0:
    metrics_log.write_results(workdir, results)
  return results
