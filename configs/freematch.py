"""FreeMatch (Wang et al., 2023): self-adaptive thresholds and the class fairness term.

Run:  python launch.py --config=configs/freematch.py --workdir=runs/freematch_digits
      python launch.py --config=configs/freematch.py:cifar10,labels=40,seed=1 --workdir=runs/free40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of USB's classic-CV configs, the authors' released ones:
unlabeled weight w_u = 1, fairness weight w_f = 0.001 on every data set and
label count, EMA momentum lambda = 0.999, on FixMatch's protocol
(`presets.fixmatch_protocol`). The networks are FixMatch's (see
configs/flexmatch.py).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "freematch"
  config.method.unlabeled_weight = 1.0
  config.method.fairness_weight = 0.001
  config.method.ema_momentum = 0.999
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for FreeMatch; the averages' horizon
    # shrinks to ~100 of the 2,000 steps, as FixMatch's digits alignment does.
    presets.fixmatch_digits(config)
    config.method.ema_momentum = 0.99
  return config
