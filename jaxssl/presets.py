"""Shared config building: the base ConfigDict and the data-set presets.

Every `configs/<method>.py` starts from `base_config(arg)` and sets its
method's fields. `arg` is the string after the config path on the command
line, e.g. `--config=configs/fixmatch.py:cifar10,labels=250,seed=1`:
a data-set preset (digits, cifar10, svhn, cifar100, stl10, folder=/path)
followed by optional `labels=N` and `seed=S`.
"""

import ml_collections
from ml_collections.config_dict import placeholder

from jaxssl.errors import ConfigError

# source, model, model kwargs, horizontal flip, default labels, classes.
DATASETS = {
    "digits": dict(source="digits", model="small_cnn", model_kwargs={"width": 32},
                   flip=False, labels=20, num_classes=10),
    "cifar10": dict(source="tfds:cifar10", model="wrn", model_kwargs={"depth": 28, "width": 2},
                    flip=True, labels=4000, num_classes=10),
    "svhn": dict(source="tfds:svhn_cropped", model="wrn", model_kwargs={"depth": 28, "width": 2},
                 flip=False, labels=1000, num_classes=10),
    "cifar100": dict(source="tfds:cifar100", model="wrn", model_kwargs={"depth": 28, "width": 8},
                     flip=True, labels=10000, num_classes=100),
    # STL-10: the 5,000 labeled training images, plus the 100,000-image "unlabelled" split.
    "stl10": dict(source="tfds:stl10", model="wrn", model_kwargs={"depth": 28, "width": 2},
                  flip=True, labels=5000, num_classes=10, extra_unlabeled_split="unlabelled"),
    "folder": dict(source="folder:{path}", model="wrn", model_kwargs={"depth": 28, "width": 2},
                   flip=True, labels=4000, num_classes=10),
}


def parse_arg(arg: str | None) -> dict:
  """'cifar10,labels=250,seed=1' -> {'dataset': 'cifar10', 'labels': 250, 'seed': 1}."""
  parsed = {"dataset": "digits"}
  for i, part in enumerate(p.strip() for p in (arg or "").split(",") if p.strip()):
    key, sep, value = part.partition("=")
    if i == 0 and (not sep or key == "folder"):
      parsed["dataset"] = key
      if key == "folder":
        parsed["path"] = value
      continue
    if key not in ("labels", "seed"):
      raise ConfigError(
          f"Unknown config argument {part!r}; expected a data set "
          f"({', '.join(DATASETS)}) then labels=N and/or seed=S.")
    try:
      parsed[key] = int(value)
    except ValueError:
      raise ConfigError(f"Config argument {part!r} needs an integer value.") from None
  if parsed["dataset"] not in DATASETS:
    raise ConfigError(
        f"Unknown data-set preset {parsed['dataset']!r}; use one of {', '.join(DATASETS)}.")
  return parsed


def base_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The fields every method shares, filled in for the chosen data set."""
  parsed = parse_arg(arg)
  preset = DATASETS[parsed["dataset"]]
  config = ml_collections.ConfigDict()
  config.preset = parsed["dataset"]
  config.seed = parsed.get("seed", 0)

  config.data = ml_collections.ConfigDict()
  config.data.source = preset["source"].format(path=parsed.get("path", ""))
  config.data.data_dir = ""
  config.data.num_labeled = parsed.get("labels", preset["labels"])  # -1: every training label
  config.data.split_seed = config.seed
  config.data.unlabeled_includes_labeled = True  # FixMatch protocol: all training images
  config.data.extra_unlabeled_split = preset.get("extra_unlabeled_split", "")
  config.data.flip = preset["flip"]
  config.data.num_classes = preset["num_classes"]
  config.data.image_size = 0         # 0: the source's; otherwise images are resized to it
  config.data.pipeline = "device"    # "device": the train set on the device; "stream": tf.data

  config.model = ml_collections.ConfigDict()
  config.model.name = preset["model"]
  config.model.kwargs = ml_collections.ConfigDict(preset["model_kwargs"])
  config.model.dropout_rate = 0.0
  config.model.stochastic_depth_rate = 0.0
  config.dtype = "float32"  # compute dtype; parameters stay float32

  config.optimizer = ml_collections.ConfigDict(dict(
      name="sgd", learning_rate=0.03, momentum=0.9, nesterov=True, weight_decay=5e-4,
      schedule="fixmatch_cosine", warmup_steps=0, b1=0.9, b2=0.999, grad_clip_norm=0.0,
      schedule_steps=0))  # the schedule's horizon; 0: total_steps

  # How the run goes: jaxssl.stages.RUNNERS ("train", "finetune", "distill", "noisy_student").
  config.runner = "train"
  # runner "finetune" (and "distill"): continue at another resolution from the trained weights.
  config.finetune = ml_collections.ConfigDict(dict(image_size=0, total_steps=0,
                                                   init_weights="raw"))
  # Optimizer fields the fine-tuning stage sets; None keeps the run's own.
  config.finetune.optimizer = ml_collections.ConfigDict(dict(
      name=placeholder(str), learning_rate=placeholder(float), weight_decay=placeholder(float),
      schedule=placeholder(str), warmup_steps=placeholder(int)))

  config.method = ml_collections.ConfigDict({"name": "supervised"})
  config.batch_size = 64        # labeled batch B
  config.unlabeled_ratio = 7    # mu: unlabeled batch is mu * B
  config.total_steps = 2**20
  config.steps_per_dispatch = 1  # > 1 runs several steps per dispatch with lax.scan
  config.eval_ema_decay = 0.999  # EMA of the weights for evaluation, from the initial ones; 0: off
  config.eval_ema_warmup = True  # the plain mean until 1 / (1 - decay) steps (losses.averaging_decay)
  config.log_every = 100
  config.eval_every = 1000
  config.checkpoint_every = 5000
  config.keep_checkpoints = 3
  config.eval_batch_size = 1024
  config.num_devices = 0         # 0: every visible device
  return config


def is_digits(config: ml_collections.ConfigDict) -> bool:
  return config.preset == "digits"


def digits_run(config: ml_collections.ConfigDict, total_steps: int) -> None:
  """The run length and cadence every digits preset shares (2 CPU cores, minutes).

  All 360 test images in one evaluation batch every 250 steps, a log line
  every 100, a checkpoint every 500, and an EMA of the weights short enough
  (decay 0.99, a horizon of ~100 steps) for runs of a few thousand steps.
  """
  config.total_steps = total_steps
  config.log_every = 100
  config.eval_every = 250
  config.checkpoint_every = 500
  config.eval_batch_size = 360
  config.eval_ema_decay = 0.99


def oliver_protocol(config: ml_collections.ConfigDict, learning_rate: float) -> None:
  """The tuned WRN-28-2 protocol of Oliver et al. (2018) for the consistency methods.

  "Realistic Evaluation of Deep Semi-Supervised Learning Algorithms" (the
  values of their released lib/hparams.py): Adam at `learning_rate`, no
  weight decay, a constant learning rate (theirs also drops x0.2 at 400k),
  the unsupervised weight ramped up over 200k of 500k iterations, and
  batches of 50 labeled + 50 unlabeled images (48 + 48 here, so they split
  over 8 devices). The method configs add their Gaussian input noise (0.15,
  none on SVHN).
  """
  config.optimizer.update(name="adam", learning_rate=learning_rate, weight_decay=0.0,
                          schedule="constant")
  config.batch_size = 48
  config.unlabeled_ratio = 1
  config.total_steps = 500_000
  config.method.rampup_steps = 200_000


def fixmatch_protocol(config: ml_collections.ConfigDict) -> None:
  """FixMatch's training protocol, which FlexMatch, FreeMatch, SoftMatch and Dash keep.

  Sohn et al. (2020) and the classic-CV configs of USB (Wang et al., 2022),
  on which those papers report: B = 64 labeled and mu = 7 x 64 unlabeled
  images, SGD with Nesterov momentum 0.9 at learning rate 0.03 decayed as
  cos(7 pi k / (16 K)) over K = 2^20 steps, weight decay 5e-4 (1e-3 on
  CIFAR-100), an EMA 0.999 of the weights for evaluation, and FixMatch's
  strong view (RandAugment with random magnitudes, then Cutout of at most
  half the side).
  """
  config.method.strong_magnitude = placeholder(float)
  config.method.cutout_fraction = 0.5
  config.batch_size = 64
  config.unlabeled_ratio = 7
  config.total_steps = 2**20
  config.optimizer.update(name="sgd", learning_rate=0.03, momentum=0.9, nesterov=True,
                          schedule="fixmatch_cosine",
                          weight_decay=1e-3 if config.preset == "cifar100" else 5e-4)
  config.eval_ema_decay = 0.999


def fixmatch_digits(config: ml_collections.ConfigDict) -> None:
  """FixMatch's digits setting for the methods built on it (configs/fixmatch.py's `_digits`).

  B = 32, RandAugment at half of every op's range (full ranges wreck 8x8
  digits), 2,000 steps with `digits_run`'s cadence.
  """
  config.batch_size = 32
  config.method.strong_magnitude = 0.5
  digits_run(config, total_steps=2000)


def digits_consistency(config: ml_collections.ConfigDict, unlabeled_ratio: int = 4) -> None:
  """The digits setting of the Pi-model, Temporal Ensembling, Mean Teacher and VAT.

  The supervised digits baseline's optimizer (SGD, Nesterov momentum 0.9, lr
  0.03 with FixMatch's cosine decay, weight decay 5e-4) and labeled batch
  (B = 64), `unlabeled_ratio` x 64 unlabeled images per step, 1,500 steps,
  the weight ramped up over the first 600 (40%, as Oliver et al.'s 200k of
  500k).
  """
  config.optimizer.update(name="sgd", learning_rate=0.03, weight_decay=5e-4,
                          schedule="fixmatch_cosine")
  config.batch_size = 64
  config.unlabeled_ratio = unlabeled_ratio
  config.method.rampup_steps = 600
  digits_run(config, total_steps=1500)


def supervised(arg: str | None = None) -> ml_collections.ConfigDict:
  """The supervised-only baseline (configs/supervised.py): the labeled subset alone.

  Here rather than in configs/ so that other configs can embed it, e.g. as
  the teacher a distillation run trains first (configs/deit.py).
  """
  config = base_config(arg)
  config.method.name = "supervised"
  config.unlabeled_ratio = 0
  if is_digits(config):
    config.batch_size = 64
    digits_run(config, total_steps=2000)
  return config
