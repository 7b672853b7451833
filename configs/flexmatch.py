"""FlexMatch (Zhang et al., 2021): FixMatch with class-wise curriculum thresholds.

Run:  python launch.py --config=configs/flexmatch.py --workdir=runs/flexmatch_digits
      python launch.py --config=configs/flexmatch.py:cifar10,labels=40,seed=1 --workdir=runs/flex40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Paper hyperparameters (Zhang et al., 2021, Sec. 4.1; the same in USB's
classic-CV configs): pre-defined threshold tau = 0.95, lambda_u = 1, the
threshold warm-up and the convex mapping M(x) = x / (2 - x), on FixMatch's
protocol (`presets.fixmatch_protocol`: B = 64, mu = 7, SGD lr 0.03 with the
cosine decay over 2^20 steps, weight decay 5e-4, 1e-3 on CIFAR-100). The
networks are FixMatch's (WRN-28-2; WRN-28-8 on CIFAR-100, where USB's
configs use WRN-28-2; WRN-28-2 for the paper's WRN-37-2 on STL-10).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "flexmatch"
  config.method.threshold = 0.95
  config.method.unlabeled_weight = 1.0
  config.method.threshold_warmup = True
  config.method.mapping = "convex"
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting (configs/fixmatch.py), not tuned for FlexMatch.
    presets.fixmatch_digits(config)
  return config
