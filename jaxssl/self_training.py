"""Noisy Student's rounds in one run: teacher, pseudo-labels, student, repeat.

Xie, Luong, Hovy & Le, "Self-training with Noisy Student improves ImageNet
classification", CVPR 2020, Algorithm 1 (the loss of a round is in
jaxssl.methods.noisy_student):

  round 0   teacher theta_0 = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
  round r   y~_i = f(x~_i, theta_{r-1}) for every unlabeled x~_i (unnoised: eval mode,
            no augmentation), then
            theta_r = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
                             + (1/m) sum_i l(y~_i, f^noised(x~_i, theta))

Layout of the workdir:

  config.json          the run's config
  round0_teacher/      an ordinary train workdir (checkpoints, metrics, results.json)
  round1_student/      pseudo_labels.npz (from round 0) and a train workdir
  round2_student/      pseudo-labels from round 1, ...
  results.json         every round's model size and accuracy

Each round resumes from its own checkpoints and is skipped once it has its
results.json, so rerunning the same command continues where it stopped.
Round r's model is `config.model` with `kwargs[config.method.model_size_field]
= config.method.model_sizes[r]` (WRN-28-2 -> 28-4 -> 28-6: field "width",
sizes (2, 4, 6)); with `config.method.equal_or_larger` a student with fewer
parameters than its teacher is refused before anything is trained.

Pseudo-labels (`config.method`): "soft" (the teacher's softmax) or "hard"
(its one-hot argmax) targets, optionally only those with confidence
max_c p_c >= `confidence_threshold`, and optionally class-balanced
(`class_balance`): per predicted class, the `images_per_class` most confident
examples, duplicated in order of confidence where a class has fewer (the
paper's data balancing, Sec. 3); 0 there means the mean count over classes.
"""

import dataclasses
import json
import os

import jax
import ml_collections
import numpy as np
from absl import logging

from jaxssl import checkpointing, data, metrics_log, models, sharding, teacher, train
from jaxssl.errors import ConfigError

PSEUDO_LABELS_FILE = "pseudo_labels.npz"
PSEUDO_LABEL_KINDS = ("soft", "hard")


def round_name(index: int) -> str:
  return "round0_teacher" if index == 0 else f"round{index}_student"


def round_config(config: ml_collections.ConfigDict, index: int) -> ml_collections.ConfigDict:
  """The config of round `index`: the run's config with that round's model size."""
  round_cfg = config.copy_and_resolve_references()
  if config.method.model_sizes:
    round_cfg.model.kwargs[config.method.model_size_field] = config.method.model_sizes[index]
  return round_cfg


def num_params(config: ml_collections.ConfigDict, dataset: data.Dataset) -> int:
  """Parameter count of the config's model, from shapes alone (nothing is computed)."""
  model, _ = train.build_model(config, dataset.num_classes, dataset.train_images[:1])
  shapes = jax.eval_shape(lambda key: models.init_variables(model, key, dataset.image_shape),
                          jax.random.key(0))
  return models.count_params(shapes["params"])


def validate(config: ml_collections.ConfigDict, dataset: data.Dataset) -> list:
  """Checks the whole run before anything is written; returns the round configs."""
  method = config.method
  if method.rounds < 1:
    raise ConfigError(f"config.method.rounds={method.rounds}; Noisy Student needs at least 1 "
                      "student round.")
  if method.pseudo_label not in PSEUDO_LABEL_KINDS:
    raise ConfigError(f"config.method.pseudo_label={method.pseudo_label!r}; use one of "
                      f"{PSEUDO_LABEL_KINDS}.")
  if not 0.0 <= method.confidence_threshold < 1.0:
    raise ConfigError(f"config.method.confidence_threshold={method.confidence_threshold} must "
                      "be in [0, 1).")
  if method.images_per_class < 0:
    raise ConfigError(f"config.method.images_per_class={method.images_per_class} must be >= 0 "
                      "(0: the mean count per class).")
  if method.model_sizes and len(method.model_sizes) != method.rounds + 1:
    raise ConfigError(
        f"config.method.model_sizes={tuple(method.model_sizes)} has {len(method.model_sizes)} "
        f"entries for {method.rounds + 1} models (the teacher and {method.rounds} students); "
        "give one size per model, or () to keep config.model for all of them.")
  if method.teacher_weights not in teacher.WEIGHTS:
    raise ConfigError(f"config.method.teacher_weights={method.teacher_weights!r}; use one of "
                      f"{teacher.WEIGHTS}.")
  if method.teacher_weights == "ema" and not config.ema_decay:
    raise ConfigError("config.method.teacher_weights='ema' needs config.ema_decay > 0; set one "
                      "or use teacher_weights='raw'.")
  if config.unlabeled_ratio < 1:
    raise ConfigError(f"config.unlabeled_ratio={config.unlabeled_ratio}; the students need "
                      "unlabeled images in every batch, so use 1 or more.")
  configs = [round_config(config, index) for index in range(method.rounds + 1)]
  for round_cfg in configs:
    train.validate_config(round_cfg)
  sizes = [num_params(round_cfg, dataset) for round_cfg in configs]
  if method.equal_or_larger:
    for index in range(1, len(sizes)):
      if sizes[index] < sizes[index - 1]:
        raise ConfigError(
            f"The round-{index} student has {sizes[index]:,} parameters, fewer than its "
            f"teacher's {sizes[index - 1]:,} (config.method.model_sizes="
            f"{tuple(method.model_sizes)}). Noisy Student's student is equal-or-larger: use "
            "non-decreasing model_sizes, or set config.method.equal_or_larger=False.")
  return configs


def select_pseudo_labels(probs: np.ndarray, method_cfg) -> tuple[np.ndarray, np.ndarray]:
  """Which unlabeled examples to train on, and their targets.

  Args:
    probs: [U, K] the teacher's softmax on every unlabeled example.
    method_cfg: `config.method` (pseudo_label, confidence_threshold,
      class_balance, images_per_class).

  Returns:
    positions [m] into the unlabeled set (repeats where balancing duplicates,
    sorted) and float32 targets [m, K]: p_i (soft) or onehot(argmax p_i) (hard).
  """
  confidence, predicted = probs.max(-1), probs.argmax(-1)
  positions = np.flatnonzero(confidence >= method_cfg.confidence_threshold)
  if not positions.size:
    raise ConfigError(
        f"No pseudo-label reaches config.method.confidence_threshold="
        f"{method_cfg.confidence_threshold} (the most confident is {confidence.max():.3f}); "
        "lower the threshold.")
  if method_cfg.class_balance:
    by_class = [positions[predicted[positions] == c] for c in range(probs.shape[1])]
    by_class = [p[np.argsort(-confidence[p], kind="stable")] for p in by_class if p.size]
    count = method_cfg.images_per_class or round(np.mean([len(p) for p in by_class]))
    # np.resize cuts a list to its `count` most confident, or repeats it in order.
    positions = np.sort(np.concatenate([np.resize(p, count) for p in by_class]))
  if method_cfg.pseudo_label == "soft":
    targets = probs[positions]
  else:
    targets = np.eye(probs.shape[1], dtype=np.float32)[predicted[positions]]
  return positions, targets.astype(np.float32)


def make_pseudo_labels(exp: train.Experiment, teacher_workdir: str,
                       native: data.Dataset) -> dict[str, np.ndarray]:
  """The unnoised teacher's pseudo-labels for the unlabeled set of `exp`.

  The teacher (the previous round, raw or EMA weights) runs in eval mode on
  the un-augmented images, in the same batched jit inference as evaluation,
  so the result is deterministic.

  Returns:
    {"unlabeled_indices" [U] into the train split, "teacher_probs" [U, K],
     "train_indices" [m] into the train split and "targets" [m, K]: what the
     student trains on}.
  """
  config = exp.config
  unlabeled = data.unlabeled_indices(len(exp.dataset.train_labels), exp.labeled_indices,
                                     include_labeled=config.data.unlabeled_includes_labeled)
  previous = teacher.load_teacher(teacher_workdir, config, native, exp.mesh)
  teacher_exp = dataclasses.replace(exp, apply_fn=previous.apply_fn)
  logits = train.predict_all(teacher_exp, train.make_predict_fn(teacher_exp), previous.params,
                             previous.batch_stats, exp.dataset.train_images[unlabeled])
  probs = np.asarray(jax.nn.softmax(logits.astype(np.float32), axis=-1))
  positions, targets = select_pseudo_labels(probs, config.method)
  return {"unlabeled_indices": unlabeled, "teacher_probs": probs,
          "train_indices": unlabeled[positions], "targets": targets}


def load_or_make_pseudo_labels(exp, round_dir, teacher_workdir, native) -> dict[str, np.ndarray]:
  """Reads round_dir/pseudo_labels.npz, or makes and writes it (atomically) first."""
  path = os.path.join(round_dir, PSEUDO_LABELS_FILE)
  if os.path.exists(path):
    with np.load(path) as stored:
      return dict(stored)
  pseudo_labels = make_pseudo_labels(exp, teacher_workdir, native)
  if jax.process_index() == 0:
    tmp = path + ".tmp.npz"
    np.savez(tmp, **pseudo_labels)
    os.replace(tmp, path)
  return pseudo_labels


def pseudo_label_summary(round_dir: str, dataset: data.Dataset) -> dict:
  """How many pseudo-labeled examples a student trained on, and how often their argmax is right.

  The accuracy uses the held-back true labels; it is a diagnostic only.
  """
  with np.load(os.path.join(round_dir, PSEUDO_LABELS_FILE)) as stored:
    indices, targets = stored["train_indices"], stored["targets"]
  return {"num_pseudo_labeled": int(len(indices)),
          "pseudo_label_accuracy": float(np.mean(
              targets.argmax(-1) == dataset.train_labels[indices]))}


def with_pseudo_labels(exp: train.Experiment, pseudo_labels: dict) -> train.Experiment:
  """The experiment with the pseudo-labeled images as its unlabeled set, targets attached."""
  replicated = sharding.replicated(exp.mesh)
  return dataclasses.replace(
      exp,
      device_data=data.make_device_data(exp.dataset, exp.labeled_indices,
                                        pseudo_labels["train_indices"], replicated),
      unlabeled_targets=jax.device_put(pseudo_labels["targets"], replicated))


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains the teacher and `config.method.rounds` students in `workdir`; returns results."""
  native = data.load_source(config.data.source, config.data.data_dir or None)
  round_configs = validate(config, native)
  checkpointing.claim_workdir(workdir, config)
  summaries = []
  for index, round_cfg in enumerate(round_configs):
    round_dir = os.path.join(workdir, round_name(index))
    results_path = os.path.join(round_dir, metrics_log.RESULTS_FILE)
    if os.path.exists(results_path):
      logging.info("%s is finished; skipping it.", round_dir)
      with open(results_path) as f:
        results = json.load(f)
    else:
      exp = train.build_experiment(round_cfg, native)
      checkpointing.claim_workdir(round_dir, round_cfg)
      if index:
        teacher_dir = os.path.join(workdir, round_name(index - 1))
        exp = with_pseudo_labels(
            exp, load_or_make_pseudo_labels(exp, round_dir, teacher_dir, native))
      results = train.train_and_evaluate(round_cfg, round_dir, exp)
    summaries.append({
        "round": index, "role": "teacher" if index == 0 else "student",
        "workdir": round_name(index), "model_kwargs": round_cfg.model.kwargs.to_dict(),
        "num_params": num_params(round_cfg, native),
        **(pseudo_label_summary(round_dir, native) if index else {}),
        **{key: results[key] for key in ("accuracy", "ema_accuracy") if key in results}})
  final = summaries[-1]
  results = {
      "method": config.method.name, "source": config.data.source,
      "num_labeled": config.data.num_labeled, "seed": config.seed,
      "steps": config.total_steps, "rounds": summaries,
      **{key: final[key] for key in ("accuracy", "ema_accuracy") if key in final}}
  if jax.process_index() == 0:
    metrics_log.write_results(workdir, results)
  return results
