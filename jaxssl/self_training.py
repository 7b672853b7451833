"""Noisy Student's rounds: their configs, their checks, and the teacher's pseudo-labels.

Xie, Luong, Hovy & Le, "Self-training with Noisy Student improves ImageNet
classification", CVPR 2020, Algorithm 1 (the loss of a round is in
jaxssl.methods.noisy_student; jaxssl.stages runs the rounds):

  round 0   teacher theta_0 = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
  round r   y~_i = f(x~_i, theta_{r-1}) for every unlabeled x~_i (unnoised: eval mode,
            no augmentation), then
            theta_r = argmin (1/n) sum_i l(y_i, f^noised(x_i, theta))
                             + (1/m) sum_i l(y~_i, f^noised(x~_i, theta))

`config.noisy_student` holds the rounds: `rounds` students after the
teacher; round r's model is `config.model` with
`kwargs[model_size_field] = model_sizes[r]` (WRN-28-2 -> 28-4 -> 28-6: field
"width", sizes (2, 4, 6)); with `equal_or_larger` a student with fewer
parameters than its teacher is refused before anything is trained.

Pseudo-labels: "soft" (the teacher's softmax) or "hard" (its one-hot argmax)
targets, optionally only those with confidence max_c p_c >=
`confidence_threshold`, and optionally class-balanced (`class_balance`): per
predicted class, the `images_per_class` most confident examples, duplicated
in order of confidence where a class has fewer (the paper's data balancing,
Sec. 3); 0 there means the mean count over classes.
"""

import os

import jax
import ml_collections
import numpy as np

from jaxssl import data, evaluation, models
from jaxssl.errors import ConfigError
from jaxssl.methods import FrozenModel

PSEUDO_LABELS_FILE = "pseudo_labels.npz"
PSEUDO_LABEL_KINDS = ("soft", "hard")
TEACHER_WEIGHTS = ("raw", "ema")


def round_name(index: int) -> str:
  return "round0_teacher" if index == 0 else f"round{index}_student"


def round_config(config: ml_collections.ConfigDict, index: int) -> ml_collections.ConfigDict:
  """Round `index`'s train config: its model size, pseudo-labels for the students."""
  round_cfg = config.copy_and_resolve_references()
  settings = config.noisy_student
  if settings.model_sizes:
    round_cfg.model.kwargs[settings.model_size_field] = settings.model_sizes[index]
  with round_cfg.unlocked():  # launch.py's config_flags hands over a locked ConfigDict
    round_cfg.method.pseudo_labeled = index > 0
  return round_cfg


def num_params(config: ml_collections.ConfigDict, num_classes: int, image_shape) -> int:
  """Parameter count of the config's model, from shapes alone (nothing is computed)."""
  model, _ = models.build_model(config, num_classes, np.zeros(image_shape[-1]),
                                np.ones(image_shape[-1]))
  shapes = jax.eval_shape(lambda key: models.init_variables(model, key, image_shape),
                          jax.random.key(0))
  return models.count_params(shapes["params"])


def check(config: ml_collections.ConfigDict, num_classes: int, image_shape) -> None:
  """Refuses bad round settings (and shrinking students) before anything is written."""
  settings = config.noisy_student
  if not isinstance(settings.rounds, int) or settings.rounds < 1:
    raise ConfigError(f"config.noisy_student.rounds={settings.rounds!r}; Noisy Student needs "
                      "at least 1 student round.")
  if settings.pseudo_label not in PSEUDO_LABEL_KINDS:
    raise ConfigError(f"config.noisy_student.pseudo_label={settings.pseudo_label!r}; use one "
                      f"of {PSEUDO_LABEL_KINDS}.")
  if not 0.0 <= settings.confidence_threshold < 1.0:
    raise ConfigError(f"config.noisy_student.confidence_threshold="
                      f"{settings.confidence_threshold} must be in [0, 1).")
  if settings.images_per_class < 0:
    raise ConfigError(f"config.noisy_student.images_per_class={settings.images_per_class} "
                      "must be >= 0 (0: the mean count per class).")
  if settings.teacher_weights not in TEACHER_WEIGHTS:
    raise ConfigError(f"config.noisy_student.teacher_weights={settings.teacher_weights!r}; "
                      f"use one of {TEACHER_WEIGHTS}.")
  if settings.teacher_weights == "ema" and not config.eval_ema_decay:
    raise ConfigError("config.noisy_student.teacher_weights='ema' needs config.eval_ema_decay "
                      "> 0; set one or use teacher_weights='raw'.")
  if config.unlabeled_ratio < 1:
    raise ConfigError(f"config.unlabeled_ratio={config.unlabeled_ratio}; the students need "
                      "unlabeled images in every batch, so use 1 or more.")
  if settings.model_sizes and len(settings.model_sizes) != settings.rounds + 1:
    raise ConfigError(
        f"config.noisy_student.model_sizes={tuple(settings.model_sizes)} has "
        f"{len(settings.model_sizes)} entries for {settings.rounds + 1} models (the teacher "
        f"and {settings.rounds} students); give one size per model, or () to keep "
        "config.model for all of them.")
  if not settings.equal_or_larger:
    return
  sizes = [num_params(round_config(config, index), num_classes, image_shape)
           for index in range(settings.rounds + 1)]
  for index in range(1, len(sizes)):
    if sizes[index] < sizes[index - 1]:
      raise ConfigError(
          f"The round-{index} student has {sizes[index]:,} parameters, fewer than its "
          f"teacher's {sizes[index - 1]:,} (config.noisy_student.model_sizes="
          f"{tuple(settings.model_sizes)}). Noisy Student's student is equal-or-larger: use "
          "non-decreasing model_sizes, or set config.noisy_student.equal_or_larger=False.")


def select_pseudo_labels(probs: np.ndarray, settings) -> tuple[np.ndarray, np.ndarray]:
  """Which unlabeled examples to train on, and their targets.

  Args:
    probs: [U, K] the teacher's softmax on every unlabeled example.
    settings: `config.noisy_student` (pseudo_label, confidence_threshold,
      class_balance, images_per_class).

  Returns:
    positions [m] into the unlabeled set (repeats where balancing duplicates,
    sorted) and float32 targets [m, K]: p_i (soft) or onehot(argmax p_i) (hard).
  """
  confidence, predicted = probs.max(-1), probs.argmax(-1)
  positions = np.flatnonzero(confidence >= settings.confidence_threshold)
  if not positions.size:
    raise ConfigError(
        f"No pseudo-label reaches config.noisy_student.confidence_threshold="
        f"{settings.confidence_threshold} (the most confident is {confidence.max():.3f}); "
        "lower the threshold.")
  if settings.class_balance:
    by_class = [positions[predicted[positions] == c] for c in range(probs.shape[1])]
    by_class = [p[np.argsort(-confidence[p], kind="stable")] for p in by_class if p.size]
    count = settings.images_per_class or round(np.mean([len(p) for p in by_class]))
    # np.resize cuts a list to its `count` most confident, or repeats it in order.
    positions = np.sort(np.concatenate([np.resize(p, count) for p in by_class]))
  if settings.pseudo_label == "soft":
    targets = probs[positions]
  else:
    targets = np.eye(probs.shape[1], dtype=np.float32)[predicted[positions]]
  return positions, targets.astype(np.float32)


def make_pseudo_labels(teacher: FrozenModel, predictor: evaluation.Predictor,
                       dataset: data.Dataset, unlabeled: np.ndarray,
                       settings) -> dict[str, np.ndarray]:
  """The unnoised teacher's pseudo-labels for the unlabeled images `unlabeled`.

  The teacher runs in eval mode on the un-augmented images (at its own
  resolution), in the same batched inference as evaluation, so the result is
  deterministic.

  Returns:
    {"unlabeled_indices" [U] into the unlabeled pool, "teacher_probs" [U, K],
     "train_indices" [m] into the pool and "targets" [m, K]: what the
     student trains on}.
  """
  images = data.resize_dataset(dataset, teacher.image_size[0]).pool_images(unlabeled)
  logits = predictor.logits(teacher.variables["params"], teacher.variables["batch_stats"],
                            images)
  probs = np.asarray(jax.nn.softmax(logits.astype(np.float32), axis=-1))
  positions, targets = select_pseudo_labels(probs, settings)
  return {"unlabeled_indices": unlabeled, "teacher_probs": probs,
          "train_indices": unlabeled[positions], "targets": targets}


def load_or_make_pseudo_labels(round_dir: str, make) -> dict[str, np.ndarray]:
  """Reads round_dir/pseudo_labels.npz, or calls `make()` and writes it (atomically) first."""
  path = os.path.join(round_dir, PSEUDO_LABELS_FILE)
  if os.path.exists(path):
    with np.load(path) as stored:
      return dict(stored)
  pseudo_labels = make()
  if jax.process_index() == 0:
    os.makedirs(round_dir, exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **pseudo_labels)
    os.replace(tmp, path)
  return pseudo_labels


def pseudo_label_summary(round_dir: str, dataset: data.Dataset) -> dict:
  """How many pseudo-labeled examples a student trained on, and how often their argmax is right.

  The accuracy uses the held-back true labels (extra unlabeled images have
  none and are not counted); it is a diagnostic only.
  """
  with np.load(os.path.join(round_dir, PSEUDO_LABELS_FILE)) as stored:
    indices, targets = stored["train_indices"], stored["targets"]
  labels = dataset.pool_labels(indices)
  known = labels >= 0
  return {"num_pseudo_labeled": int(len(indices)),
          "pseudo_label_accuracy": float(np.mean(targets.argmax(-1)[known] == labels[known]))}
