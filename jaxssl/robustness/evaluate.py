"""A finished run's robustness: its errors under every corruption and its flip probabilities.

The run is loaded as evaluation loads a teacher (`jaxssl.teacher.load_model`:
config.json rebuilds the model, orbax restores the final checkpoint's raw or
EMA parameters and batch statistics, read-only) and predicted with
`jaxssl.evaluation.Predictor`, in eval mode. The corrupted images and the
perturbation frames are computed on the device, chunk by chunk of the test
set (each image's draws depend on its index, not on the chunking), and come
back as uint8 like the test set. Nothing in the workdir is written.
"""

import dataclasses
import json
import os

import numpy as np

from jaxssl import data, evaluation, metrics_log, teacher
from jaxssl.errors import ConfigError
from jaxssl.robustness import corruptions, metrics, perturbations

CHUNK = 1000  # test images corrupted at once


@dataclasses.dataclass(frozen=True)
class Robustness:
  """One model's figures on one test set.

  Attributes:
    clean_error: top-1 error on the clean test set.
    corruption_errors: {corruption: [E_1, ..., E_5]}, the error at each severity.
    flip_probabilities: {perturbation: FP}.
  """
  clean_error: float
  corruption_errors: dict[str, list[float]]
  flip_probabilities: dict[str, float]


def finished_run(workdir: str) -> str:
  """The workdir of the trained model `workdir` names: itself, or a staged run's final stage.

  A missing folder, or one without results.json (a run not finished), is a
  ConfigError naming the fix.
  """
  if not os.path.isdir(workdir):
    raise ConfigError(f"No run at {workdir}: the folder does not exist. Pass the workdir of a "
                      "finished jaxssl run.")
  path = os.path.join(workdir, metrics_log.RESULTS_FILE)
  if not os.path.exists(path):
    raise ConfigError(f"{workdir} holds no finished run ({path} does not exist). Finish it "
                      "(rerun its launch.py command) or pass a finished run's workdir.")
  try:
    with open(path) as f:
      stages = json.load(f).get("stages")
  except (OSError, ValueError) as error:
    raise ConfigError(f"{path} can't be read ({error}); pass the workdir of an intact "
                      "finished run.") from error
  if stages:
    return finished_run(os.path.join(workdir, stages[-1]["stage"]))
  return workdir


def _predictions(predictor, model, images: np.ndarray) -> np.ndarray:
  variables = model.variables
  return predictor.logits(variables["params"], variables["batch_stats"], images).argmax(-1)


def evaluate(model, predictor: evaluation.Predictor, images: np.ndarray, labels: np.ndarray,
             seed: int = 0, num_frames: int = perturbations.NUM_FRAMES) -> Robustness:
  """`model` (a `methods.FrozenModel`) on uint8 test `images` at its size, corrupted and perturbed."""
  chunks = [np.arange(start, min(start + CHUNK, len(images)))
            for start in range(0, len(images), CHUNK)]

  def error(corrupted):
    return float(np.mean(_predictions(predictor, model, corrupted) != labels))

  def corrupted(name, severity):
    return np.concatenate([np.asarray(corruptions.corrupt(images[chunk], name, severity, seed,
                                                          chunk)) for chunk in chunks])

  def flip_probability(name):
    predicted = []
    for chunk in chunks:
      frames = np.asarray(perturbations.frames(images[chunk], name, seed, chunk, num_frames))
      predicted.append(_predictions(predictor, model, frames.reshape(-1, *images.shape[1:]))
                       .reshape(num_frames, len(chunk)))
    return metrics.flip_probability(np.concatenate(predicted, axis=1),
                                    perturbations.PERTURBATIONS[name].noise)

  return Robustness(
      clean_error=error(images),
      corruption_errors={name: [error(corrupted(name, severity))
                                for severity in corruptions.SEVERITIES]
                         for name in corruptions.CORRUPTIONS},
      flip_probabilities={name: flip_probability(name) for name in perturbations.PERTURBATIONS})


def evaluate_run(workdir: str, dataset: data.Dataset, mesh, weights: str = "ema",
                 seed: int = 0) -> Robustness:
  """The finished run in `workdir` (`finished_run`), on `dataset`'s test set (native size).

  `weights` picks the raw parameters or their evaluation EMA, as results.json
  reports both; the model sees the test set at the size it was trained on.
  """
  workdir = finished_run(workdir)
  config = teacher.read_config(workdir)
  if config.data.source != dataset.name:
    raise ConfigError(f"The run in {workdir} was trained on {config.data.source}, not "
                      f"{dataset.name}; compare runs trained on the same data source.")
  model = teacher.load_model(workdir, dataset, mesh, weights)
  predictor = evaluation.Predictor(model.apply_fn, mesh, config.eval_batch_size)
  test_set = data.resize_dataset(dataset, model.image_size[0])
  return evaluate(model, predictor, test_set.test_images, test_set.test_labels, seed)
