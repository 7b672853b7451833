"""A finished jaxssl run, loaded read-only as a frozen model.

Noisy Student (Xie et al., 2020) labels the unlabeled images with the previous
round's model, DeiT (Touvron et al., 2021) distills from a classifier trained
beforehand, and a fine-tuning stage starts from the pre-training stage's
weights. All read a workdir written by jaxssl.train: its config.json rebuilds
the model, and orbax restores the parameters (raw, or their evaluation EMA)
and the batch statistics from the latest checkpoint. Nothing in the workdir
is written, and the optimizer state is not read.
"""

import json
import os

import jax
import ml_collections
import orbax.checkpoint as ocp

from jaxssl import checkpointing, data, models, sharding
from jaxssl.errors import ConfigError
from jaxssl.methods import FrozenModel

WEIGHTS = ("raw", "ema")


def read_config(workdir: str) -> ml_collections.ConfigDict:
  """The config.json of a run, or a ConfigError naming the path and the fix."""
  path = os.path.join(workdir, checkpointing.CONFIG_FILE)
  if not os.path.exists(path):
    raise ConfigError(
        f"No teacher run at {workdir}: {path} does not exist. Train the teacher first "
        f"(e.g. python launch.py --config=configs/supervised.py --workdir={workdir}) or set "
        f"config.method.teacher_workdir to the workdir of a finished jaxssl run.")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def _no_checkpoint(workdir: str, directory: str) -> ConfigError:
  return ConfigError(
      f"{workdir} holds no checkpoint (looked in {directory}). Finish training that run "
      f"(rerun its launch.py command to resume it) or point at another workdir.")


def restore_variables(workdir: str, model, image_shape, mesh, weights: str = "raw") -> dict:
  """{"params", "batch_stats"} of the latest checkpoint in `workdir`, read-only.

  `model` and `image_shape` give the expected structure and shapes; `weights`
  "ema" takes the parameters' evaluation EMA (the train state's `eval_ema.ema`).
  """
  if weights not in WEIGHTS:
    raise ConfigError(f"Teacher weights {weights!r}; use one of {WEIGHTS}.")
  directory = os.path.abspath(os.path.join(workdir, checkpointing.CHECKPOINT_DIR))
  if not os.path.isdir(directory):
    raise _no_checkpoint(workdir, directory)
  manager = ocp.CheckpointManager(directory,
                                  options=ocp.CheckpointManagerOptions(read_only=True))
  try:
    step = manager.latest_step()
    if step is None:
      raise _no_checkpoint(workdir, directory)
    replicated = sharding.replicated(mesh)
    abstract = jax.tree.map(
        lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=replicated),
        jax.eval_shape(lambda key: models.init_variables(model, key, tuple(image_shape)),
                       jax.random.key(0)))
    target = {"batch_stats": abstract["batch_stats"],
              **({"params": abstract["params"]} if weights == "raw" else
                 {"eval_ema": {"ema": abstract["params"]}})}
    try:
      restored = manager.restore(step, args=ocp.args.PyTreeRestore(
          item=target, partial_restore=True,
          restore_args=ocp.checkpoint_utils.construct_restore_args(target)))
    except (ValueError, KeyError, FileNotFoundError) as error:
      raise ConfigError(
          f"The checkpoint at step {step} in {workdir} does not match the model its "
          f"config.json describes ({error}). Point at an intact workdir of a finished "
          "run.") from error
  finally:
    manager.close()
  # Orbax hands back the abstract leaf of a key the checkpoint lacks.
  if any(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(restored)):
    raise ConfigError(
        f"The checkpoint at step {step} in {workdir} lacks {'/'.join(target)} for the model its "
        f"config.json describes. Point at an intact workdir of a finished run"
        + (", or use teacher_weights='raw'." if weights == "ema" else "."))
  params = restored["params"] if weights == "raw" else restored["eval_ema"]["ema"]
  return {"params": params, "batch_stats": restored["batch_stats"]}


def load_model(workdir: str, dataset: data.Dataset, mesh, weights: str = "raw",
               source: str | None = None) -> FrozenModel:
  """Loads the finished run in `workdir` as a frozen model for data from `dataset`.

  `dataset` is the source at its native resolution; the run must have been
  trained on the same source (`source`, when given, is checked against the
  run's config.data.source), hence the same classes and input normalization.
  `weights` picks its raw or evaluation-EMA parameters.
  """
  config = read_config(workdir)
  if source is not None and (config.data.source != source
                             or config.data.num_classes != dataset.num_classes):
    raise ConfigError(
        f"The run in {workdir} was trained on {config.data.source} with "
        f"{config.data.num_classes} classes, but this run trains on {source} with "
        f"{dataset.num_classes}. Use a run trained on the same data source.")
  if weights == "ema" and not config.get("eval_ema_decay"):
    raise ConfigError(
        f"Weights 'ema' were asked of the run in {workdir}, but it kept no evaluation EMA "
        f"(its eval_ema_decay is 0 or unset). Ask for its 'raw' weights.")
  image_size = config.data.get("image_size", 0) or dataset.image_shape[0]
  dataset = data.resize_dataset(dataset, image_size)
  mean, std = data.channel_stats(dataset.train_images)
  model, apply_fn = models.build_model(config, dataset.num_classes, mean, std)
  variables = restore_variables(workdir, model, dataset.image_shape, mesh, weights)
  return FrozenModel(variables=variables, apply_fn=apply_fn,
                     image_size=tuple(dataset.image_shape[:2]))
