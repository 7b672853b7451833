"""DeFixMatch (Schmutz et al., 2023): FixMatch with its pseudo-label term debiased.

Run:  python launch.py --config=configs/defixmatch.py --workdir=runs/defixmatch_digits
      python launch.py --config=configs/defixmatch.py:cifar10,labels=40,seed=1 --workdir=runs/de40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of the authors' code and USB's classic-CV configs, the same
on every data set and label count: FixMatch's threshold tau = 0.95 and
lambda_u = 0.5 on the debiased term, on FixMatch's protocol
(`presets.fixmatch_protocol`). The networks are FixMatch's (see
configs/flexmatch.py).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "defixmatch"
  config.method.threshold = 0.95
  config.method.unlabeled_weight = 0.5
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for DeFixMatch.
    presets.fixmatch_digits(config)
  return config
