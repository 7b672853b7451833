"""A finished jaxssl run, loaded read-only as a frozen teacher.

Noisy Student (Xie et al., 2020) labels the unlabeled images with the previous
round's model, and DeiT (Touvron et al., 2021) distills from a classifier
trained beforehand. Both read a workdir written by jaxssl.train: its
config.json rebuilds the model, and orbax restores the parameters (raw, or
their EMA) and the batch statistics from the latest checkpoint. Nothing in the
workdir is written, and the optimizer state is not read.
"""

import dataclasses
import json
import os
from typing import Any, Callable

import jax
import ml_collections
import orbax.checkpoint as ocp

from jaxssl import checkpointing, data, models, sharding, train
from jaxssl.errors import ConfigError

WEIGHTS = ("raw", "ema")


@dataclasses.dataclass(frozen=True)
class Teacher:
  """A trained classifier: its run's config, model function and variables.

  Attributes:
    workdir: the run it was loaded from.
    config: that run's config.
    apply_fn: `(params, batch_stats, x, train, rng) -> (logits, batch_stats)`,
      normalizing with the statistics of the run's training images.
    params: the restored parameters (raw or EMA), replicated over the mesh.
    batch_stats: the restored batch statistics (`{}` without batch norm).
    image_size: (H, W) of the images the teacher was trained on.
  """

  workdir: str
  config: ml_collections.ConfigDict
  apply_fn: Callable
  params: Any
  batch_stats: Any
  image_size: tuple[int, int]

  def logits_fn(self) -> Callable[[jax.Array], jax.Array]:
    """`images float [N, H, W, C] in [0, 1] -> eval-mode logits`, with no gradient.

    Images of another size are first resized to the teacher's (e.g. a student
    fine-tuned at a higher resolution keeps its base-resolution teacher).
    """
    def logits(images):
      if images.shape[1:3] != self.image_size:
        images = jax.image.resize(
            images, (images.shape[0], *self.image_size, images.shape[-1]), method="linear")
      teacher_logits, _ = self.apply_fn(self.params, self.batch_stats, images, False, None)
      return jax.lax.stop_gradient(teacher_logits)
    return logits


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
  "ema" takes the parameters' EMA (the train loop's `ema_state.ema`).
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
                 {"ema_state": {"ema": abstract["params"]}})}
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
  params = restored["params"] if weights == "raw" else restored["ema_state"]["ema"]
  return {"params": params, "batch_stats": restored["batch_stats"]}


def load_teacher(workdir: str, config: ml_collections.ConfigDict, dataset: data.Dataset,
                 mesh) -> Teacher:
  """Loads the run in `workdir` as a teacher for a run of `config` on `dataset`.

  `dataset` is the source at its native resolution. The teacher must have been
  trained on the same source (same classes, same input normalization);
  `config.method.teacher_weights` picks its raw or EMA parameters.
  """
  teacher_config = read_config(workdir)
  weights = config.method.teacher_weights
  if teacher_config.data.source != config.data.source or (
      teacher_config.data.num_classes != dataset.num_classes):
    raise ConfigError(
        f"The teacher in {workdir} was trained on {teacher_config.data.source} with "
        f"{teacher_config.data.num_classes} classes, but this run trains on "
        f"{config.data.source} with {dataset.num_classes}. Use a teacher trained on the same "
        f"data source.")
  if weights == "ema" and not teacher_config.ema_decay:
    raise ConfigError(
        f"config.method.teacher_weights='ema' but the run in {workdir} kept no EMA "
        f"(its ema_decay is 0). Set config.method.teacher_weights='raw'.")
  image_size = teacher_config.data.get("image_size", 0)
  if image_size and dataset.image_shape[:2] != (image_size, image_size):
    dataset = train.resize_dataset(dataset, image_size)
  model, apply_fn = train.build_model(teacher_config, dataset.num_classes, dataset.train_images)
  variables = restore_variables(workdir, model, dataset.image_shape, mesh, weights)
  return Teacher(workdir=workdir, config=teacher_config, apply_fn=apply_fn,
                 params=variables["params"], batch_stats=variables["batch_stats"],
                 image_size=tuple(dataset.image_shape[:2]))
