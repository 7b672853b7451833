"""Runs in stages: each stage an ordinary train run in its own sub-workdir.

`config.runner` picks the plan:

  "train"          one stage, trained in the workdir itself.
  "finetune"       pretrain/ at config.data.image_size (0: the source's), then
                   finetune/ at config.finetune.image_size, started from the
                   pre-trained weights (config.finetune.init_weights: raw or EMA),
                   a ViT's position embeddings interpolated (any method, any model
                   that `models.adapt_variables` knows; CNNs need nothing).
  "distill"        teacher/ (config.teacher.config; skipped when config.teacher.workdir
                   names a finished run), then student/ reading it as the frozen
                   input "teacher", then finetune/ when config.finetune.image_size.
  "noisy_student"  round0_teacher/, round1_student/, ... (config.noisy_student,
                   jaxssl.self_training): each student trains on the previous
                   round's pseudo-labels, its frozen input "unlabeled_targets".

Every stage's config is checked, and its method built, before anything is
written. Rerunning the same command skips the finished stages (those with a
results.json), resumes the unfinished one from its checkpoints, and writes one
summary results.json in the workdir. A frozen teacher given by
`config.teacher.workdir` serves any runner whose method reads "teacher".
"""

import dataclasses
import functools
import json
import os
from typing import Callable

import jax
import ml_collections

from jaxssl import (checkpointing, data, evaluation, metrics_log, models, self_training,
                    sharding, teacher, train)
from jaxssl.errors import ConfigError
from jaxssl.methods import make_method

# Fields that describe the stages rather than one run; a stage's config has none of them.
PLAN_FIELDS = ("runner", "finetune", "teacher", "noisy_student")


@dataclasses.dataclass(frozen=True)
class Stage:
  """One train run of a plan.

  Attributes:
    name: its sub-workdir ("" trains in the run's workdir).
    config: its train config.
    prepare: `(workdir) -> train.StageInputs`, called only when the stage
      trains, once the stages before it have finished in `workdir`.
    supplies: the names of the frozen inputs `prepare` hands the stage; they
      must be those its method reads, which `check` verifies up front.
    summary: `(workdir) -> dict` of facts for results.json beside the
      stage's accuracy.
  """
  name: str
  config: ml_collections.ConfigDict
  prepare: Callable[[str], train.StageInputs]
  supplies: tuple[str, ...] = ()
  summary: Callable[[str], dict] = lambda workdir: {}


def stage_config(config: ml_collections.ConfigDict, **updates) -> ml_collections.ConfigDict:
  """`config` without the plan's fields, with `updates` ({"data.image_size": 16, ...})."""
  stage = config.copy_and_resolve_references()
  with stage.unlocked():  # launch.py's config_flags hands over a locked ConfigDict
    for field in PLAN_FIELDS:
      if field in stage:
        del stage[field]
  for path, value in updates.items():
    *parents, leaf = path.split(".")
    node = stage
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return stage


def _image_shape(config, native: data.Dataset) -> tuple[int, int, int]:
  size = config.data.image_size or native.image_shape[0]
  return (size, size, native.image_shape[2])


def _reads_teacher(config, native) -> bool:
  method = make_method(config.method, num_classes=native.num_classes,
                       image_shape=_image_shape(config, native), flip=config.data.flip)
  return "teacher" in method.frozen_inputs


def _given_teacher(config, native, mesh):
  """{"teacher": the run in config.teacher.workdir}, loaded now, or {} without one."""
  if not config.get("teacher") or not config.teacher.workdir:
    return {}
  return {"teacher": teacher.load_model(config.teacher.workdir, native, mesh,
                                        config.teacher.weights, source=config.data.source)}


def _inputs(native, frozen=None, **fields) -> Callable[[str], train.StageInputs]:
  return lambda workdir: train.StageInputs(dataset=native, frozen=frozen or {}, **fields)


def _finetune_stage(config, native, mesh, base: str, frozen, supplies) -> Stage:
  """finetune/: `base`'s final weights, continued at config.finetune.image_size.

  `frozen(workdir)` gives the frozen inputs named `supplies`.
  """
  settings = config.finetune
  if not settings.image_size or settings.total_steps <= 0:
    raise ConfigError(
        f"A fine-tuning stage needs config.finetune.image_size > 0 and total_steps > 0 (got "
        f"{settings.image_size} and {settings.total_steps}); set them, or use "
        "config.runner='train'.")
  tuned = stage_config(config, **{
      "data.image_size": settings.image_size, "total_steps": settings.total_steps})
  tuned.model = models.with_image_size(tuned.model, settings.image_size)
  tuned.optimizer.update({field: value for field, value in settings.optimizer.items()
                          if value is not None})

  def prepare(workdir):
    pretrained = teacher.load_model(os.path.join(workdir, base), native, mesh,
                                    settings.init_weights)
    variables = models.adapt_variables(config.model, pretrained.variables, settings.image_size)
    return train.StageInputs(dataset=native, frozen=frozen(workdir),
                             initial_variables=variables)
  return Stage("finetune", tuned, prepare, supplies)


def plan_train(config, native, mesh) -> list[Stage]:
  frozen = _given_teacher(config, native, mesh)
  return [Stage("", stage_config(config), _inputs(native, frozen), tuple(frozen))]


def plan_finetune(config, native, mesh) -> list[Stage]:
  frozen = _given_teacher(config, native, mesh)
  return [Stage("pretrain", stage_config(config), _inputs(native, frozen), tuple(frozen)),
          _finetune_stage(config, native, mesh, "pretrain", lambda workdir: frozen,
                          tuple(frozen))]


def plan_distill(config, native, mesh) -> list[Stage]:
  stages = []
  given = _given_teacher(config, native, mesh)
  trains_teacher = not given and _reads_teacher(config, native)
  if trains_teacher:
    if not config.get("teacher") or not config.teacher.get("config"):
      raise ConfigError(
          "This run distills from a teacher: set config.teacher.workdir to a finished run, or "
          "config.teacher.config to the config of one to train first.")
    teacher_config = stage_config(config.teacher.config)
    if teacher_config.data.source != config.data.source:
      raise ConfigError(
          f"config.teacher.config trains on {teacher_config.data.source} but the student on "
          f"{config.data.source}; a teacher must see the same data source.")
    stages.append(Stage("teacher", teacher_config, _inputs(native)))

  def frozen(workdir):
    if not trains_teacher:
      return given
    return {"teacher": teacher.load_model(os.path.join(workdir, "teacher"), native, mesh,
                                          config.teacher.weights)}

  supplies = ("teacher",) if given or trains_teacher else ()
  stages.append(Stage("student", stage_config(config),
                      lambda workdir: train.StageInputs(dataset=native, frozen=frozen(workdir)),
                      supplies))
  if config.finetune.image_size:
    stages.append(_finetune_stage(config, native, mesh, "student", frozen, supplies))
  return stages


def _student_inputs(config, round_cfg, native, mesh, index, workdir) -> train.StageInputs:
  """A Noisy Student round's inputs: the previous round's pseudo-labels of its unlabeled set."""
  settings = config.noisy_student
  round_dir = os.path.join(workdir, self_training.round_name(index))
  teacher_dir = os.path.join(workdir, self_training.round_name(index - 1))
  labeled = data.labeled_split(native.train_labels, config.data.num_labeled,
                               native.num_classes, config.data.split_seed)
  unlabeled = data.unlabeled_indices(len(native.train_labels), labeled,
                                     config.data.unlabeled_includes_labeled,
                                     native.num_extra_unlabeled)

  def make():
    previous = teacher.load_model(teacher_dir, native, mesh, settings.teacher_weights)
    predictor = evaluation.Predictor(previous.apply_fn, mesh, round_cfg.eval_batch_size)
    return self_training.make_pseudo_labels(previous, predictor, native, unlabeled, settings)

  pseudo_labels = self_training.load_or_make_pseudo_labels(round_dir, make)
  targets = jax.device_put(pseudo_labels["targets"], sharding.replicated(mesh))
  return train.StageInputs(dataset=native, frozen={"unlabeled_targets": targets},
                           unlabeled_indices=pseudo_labels["train_indices"])


def plan_noisy_student(config, native, mesh) -> list[Stage]:
  if not config.get("noisy_student"):
    raise ConfigError("config.runner='noisy_student' needs config.noisy_student (rounds, model "
                      "sizes, pseudo-labels); start from configs/noisy_student.py.")
  self_training.check(config, native.num_classes, _image_shape(config, native))
  stages = []
  for index in range(config.noisy_student.rounds + 1):
    round_cfg = stage_config(self_training.round_config(config, index))
    kwargs = round_cfg.model.kwargs.to_dict()

    def summary(workdir, index=index, round_cfg=round_cfg, kwargs=kwargs):
      facts = {"round": index, "role": "teacher" if index == 0 else "student",
               "model_kwargs": kwargs, "num_params": self_training.num_params(
                   round_cfg, native.num_classes, _image_shape(round_cfg, native))}
      if index:
        facts.update(self_training.pseudo_label_summary(
            os.path.join(workdir, self_training.round_name(index)), native))
      return facts

    if index == 0:
      prepare, supplies = _inputs(native), ()
    else:
      prepare = functools.partial(_student_inputs, config, round_cfg, native, mesh, index)
      supplies = ("unlabeled_targets",)
    stages.append(Stage(self_training.round_name(index), round_cfg, prepare, supplies, summary))
  return stages


RUNNERS = {"train": plan_train, "finetune": plan_finetune, "distill": plan_distill,
           "noisy_student": plan_noisy_student}


def check(stages: list[Stage], native: data.Dataset, runner: str) -> None:
  """Every stage's run fields, image size, method options and frozen inputs, up front."""
  for stage in stages:
    train.check_config(stage.config)
    image_shape = _image_shape(stage.config, native)
    models.check_image_size(stage.config.model, image_shape[0])
    method = make_method(stage.config.method, num_classes=native.num_classes,
                         image_shape=image_shape, flip=stage.config.data.flip)
    if set(method.frozen_inputs) != set(stage.supplies):
      raise ConfigError(
          f"Method {stage.config.method.name!r} with these options reads the frozen inputs "
          f"{sorted(method.frozen_inputs)}, but the stages of config.runner="
          f"{runner!r} supply {sorted(stage.supplies)} to it. For a "
          "teacher set config.teacher.workdir (or config.runner='distill' with "
          "config.teacher.config).")


def plan(config: ml_collections.ConfigDict, native: data.Dataset | None, mesh) -> list[Stage]:
  """The stages of `config.runner`, checked."""
  runner = config.get("runner", "train")
  if runner not in RUNNERS:
    raise ConfigError(f"config.runner={runner!r}; use one of {tuple(RUNNERS)}.")
  if native is None:
    if runner != "train":
      raise ConfigError(f"config.runner={runner!r} runs stages on an in-memory data set; use "
                        "config.data.pipeline='device'.")
    return [Stage("", stage_config(config), lambda workdir: train.StageInputs())]
  stages = RUNNERS[runner](config, native, mesh)
  check(stages, native, runner)
  return stages


def load_native(config: ml_collections.ConfigDict) -> data.Dataset | None:
  """The source at its own resolution, loaded once for every stage (None when streaming)."""
  train.check_config(stage_config(config))
  if config.data.pipeline == "stream":
    return None
  return data.load_source(config.data.source, config.data.data_dir or None,
                          extra_unlabeled_split=config.data.extra_unlabeled_split)


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains `config`'s stages in `workdir`; returns the results (of the last stage)."""
  native = load_native(config)
  mesh = sharding.make_mesh(config.num_devices or None)
  stages = plan(config, native, mesh)
  if len(stages) == 1 and not stages[0].name:
    return train.train(stages[0].config, workdir, stages[0].prepare(workdir))

  checkpointing.claim_workdir(workdir, config)
  summaries = []
  for stage in stages:
    stage_dir = os.path.join(workdir, stage.name)
    results_path = os.path.join(stage_dir, metrics_log.RESULTS_FILE)
    if os.path.exists(results_path):
      with open(results_path) as f:
        results = json.load(f)
    else:
      results = train.train(stage.config, stage_dir, stage.prepare(workdir))
    summaries.append({
        "stage": stage.name, "image_size": _image_shape(stage.config, native)[0],
        "steps": results["steps"], **stage.summary(workdir),
        **{key: results[key] for key in train.ACCURACY_KEYS.values() if key in results}})
  final, final_confusion = summaries[-1], results.get("test_confusion")
  results = {
      "method": config.method.name, "source": config.data.source,
      "num_labeled": config.data.num_labeled, "seed": config.seed,
      "split_seed": config.data.split_seed, "steps": final["steps"], "runner": config.runner,
      "stages": summaries,
      **{key: final[key] for key in train.ACCURACY_KEYS.values() if key in final}}
  if final_confusion is not None:  # absent from a stage finished before confusions were recorded
    results["test_confusion"] = final_confusion
  if jax.process_index() == 0:
    metrics_log.write_results(workdir, results)
  return results
