"""SoftMatch (Chen et al., 2023): pseudo-labels weighted by a truncated Gaussian of confidence.

Run:  python launch.py --config=configs/softmatch.py --workdir=runs/softmatch_digits
      python launch.py --config=configs/softmatch.py:cifar10,labels=40,seed=1 --workdir=runs/soft40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of the paper and USB's classic-CV configs: lambda_max = 1,
EMA momentum 0.999, uniform alignment on, n_sigma = 2 (USB's width of the
Gaussian, see jaxssl/methods/softmatch.py), on FixMatch's protocol
(`presets.fixmatch_protocol`). The networks are FixMatch's (see
configs/flexmatch.py).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "softmatch"
  config.method.unlabeled_weight = 1.0
  config.method.ema_momentum = 0.999
  config.method.num_sigma = 2.0
  config.method.uniform_alignment = True
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for SoftMatch; the averages' horizon
    # shrinks to ~100 of the 2,000 steps, as FixMatch's digits alignment does.
    presets.fixmatch_digits(config)
    config.method.ema_momentum = 0.99
  return config
