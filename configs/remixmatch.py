"""ReMixMatch (Berthelot et al., 2020).

Run:  python launch.py --config=configs/remixmatch.py --workdir=runs/remixmatch_digits
      python launch.py --config=configs/remixmatch.py:cifar10,labels=250 --workdir=runs/rmm250
Presets: digits (default), cifar10 (labels 40 ... 4000), svhn, cifar100, stl10 (1000 per fold,
or 5000), folder=/path; then labels=N, seed=S.

Paper hyperparameters (Berthelot et al., 2020, Sec. 4 and App. B, and the
reference code's defaults and run scripts, runs/ssl/*.sh): K = 8 strong views
per anchor (4 on STL-10; on CIFAR-10 with 40 labels K = 1, lambda_R = 2 and a
ramp-up 8 times longer), T = 0.5, MixUp alpha = 0.75, lambda_U = 1.5,
lambda_U1 = 0.5 and lambda_R = 0.5, lambda_U and lambda_U1 ramped up linearly
over 16,384 steps (1,024 kimg at B = 64); B = 64 labeled and 64 unlabeled
images (mu = 1); Adam with learning rate 0.002 for 2^20 steps, weight decay
0.02 x lr after each step (optax.adamw, weight_decay = 0.02; 0.04 on
CIFAR-100 for WRN-28-8, MixMatch's setting for its larger network, since the
paper has no CIFAR-100 run); EMA 0.999 of the weights for evaluation. The
strong view is CTAugment (2 ops, 17 bins, threshold 0.8, decay 0.99), then
Cutout. The distribution-alignment average is exponential (momentum 0.99, a
horizon of ~100 batches) where the paper averages the last 128 batches.
USB's classic-CV configs keep these loss weights but train with FixMatch's
SGD protocol; this config follows the paper. The rotation head is 4 extra
logits of the network's final linear layer (`model.kwargs.extra_logits`).
"""

from ml_collections.config_dict import placeholder

from jaxssl import presets

# K per data set (the reference code's run scripts).
NUM_STRONG = {"stl10": 4}


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "remixmatch"
  config.method.num_strong = NUM_STRONG.get(config.preset, 8)
  config.method.temperature = 0.5
  config.method.mixup_alpha = 0.75
  config.method.unlabeled_weight = 1.5
  config.method.pre_mixup_weight = 0.5
  config.method.rotation_weight = 0.5
  config.method.rampup_steps = 16384
  config.method.alignment_momentum = 0.99
  config.method.strong_augment = "ctaugment"
  config.method.strong_magnitude = placeholder(float)  # RandAugment's, when strong_augment is it
  config.method.cutout_fraction = 0.5
  config.model.kwargs.extra_logits = 4  # the rotation head

  config.batch_size = 64
  config.unlabeled_ratio = 1
  config.total_steps = 2**20
  config.optimizer.update(name="adamw", learning_rate=0.002, schedule="constant",
                          weight_decay=0.04 if config.preset == "cifar100" else 0.02)
  config.eval_ema_decay = 0.999

  if config.preset == "cifar10" and config.data.num_labeled == 40:
    config.method.update(num_strong=1, rotation_weight=2.0, rampup_steps=8 * 16384)
  if presets.is_digits(config):
    _digits(config)
  return config


def _digits(config):
  """8x8 grey digits on 2 CPU cores: FixMatch's digits setting, untuned for ReMixMatch.

  `presets.fixmatch_digits` (B = 32, 2,000 steps, RandAugment at half of
  every op's range, since full ranges wreck 8x8 digits) in place of
  CTAugment, whose bins start uniform over the full ranges; mu = 2 and K = 2
  strong views, so a step sees 32 labeled and 192 unlabeled views; the
  paper's loss weights and optimizer, the ramp-up over the first quarter of
  the run (MixMatch's digits setting). Not tuned: no sweep has been run.
  """
  presets.fixmatch_digits(config)
  config.unlabeled_ratio = 2
  config.method.num_strong = 2
  config.method.strong_augment = "randaugment"
  config.method.rampup_steps = 500
