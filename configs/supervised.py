"""Supervised-only baseline: the labeled subset alone, with weak augmentation.

Run: python launch.py --config=configs/supervised.py:cifar10,labels=4000 --workdir=runs/sup
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "supervised"
  config.unlabeled_ratio = 0
  if presets.is_digits(config):
    config.batch_size = 64
    presets.digits_run(config, total_steps=2000)
  return config
