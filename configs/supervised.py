"""Supervised-only baseline: the labeled subset alone, with weak augmentation.

Run: python launch.py --config=configs/supervised.py:cifar10,labels=4000 --workdir=runs/sup
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.
The config is `jaxssl.presets.supervised`, which other configs embed as a teacher.
"""

from jaxssl import presets


def get_config(arg=None):
  return presets.supervised(arg)
