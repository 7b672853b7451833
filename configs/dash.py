"""Dash (Xu et al., 2021): unlabeled examples selected by a decaying threshold on their loss.

Run:  python launch.py --config=configs/dash.py --workdir=runs/dash_digits
      python launch.py --config=configs/dash.py:cifar10,labels=40,seed=1 --workdir=runs/dash40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of the paper (C = 1.0001, gamma = 1.27) and of USB's
classic-CV configs for what the paper leaves to its code: a supervised
warm-up of 2,048 steps, the threshold lowered every 10 epochs of 1,024
steps (10,240 steps) down to rho_min = 0.05, lambda_u = 1, on FixMatch's
protocol (`presets.fixmatch_protocol`). The networks are FixMatch's (see
configs/flexmatch.py).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "dash"
  config.method.unlabeled_weight = 1.0
  config.method.threshold_scale = 1.0001
  config.method.threshold_decay = 1.27
  config.method.min_threshold = 0.05
  config.method.decay_every = 10_240
  config.method.warmup_steps = 2_048
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for Dash: 100 supervised steps
    # (20 labels are fitted by then), and the threshold lowered every 20 steps,
    # USB's 1% of the run, so that it reaches rho_min within the first fifth.
    presets.fixmatch_digits(config)
    config.method.warmup_steps = 100
    config.method.decay_every = 20
  return config
