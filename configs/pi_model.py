"""Pi-model (Laine & Aila, 2017): consistency between two noisy passes.

Run: python launch.py --config=configs/pi_model.py:cifar10,labels=4000 --workdir=runs/pi
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

The WRN-28 presets follow the tuned protocol of Oliver et al. (2018; see
`presets.oliver_protocol`): Adam at 3e-4 and w_max = 20. CIFAR-100 and
STL-10 reuse the CIFAR-10 values. Digits: `presets.digits_consistency`, w_max = 10.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "pi_model"
  config.method.max_weight = 20.0
  config.method.input_noise = 0.0 if config.preset == "svhn" else 0.15
  presets.oliver_protocol(config, learning_rate=3e-4)
  if presets.is_digits(config):
    presets.digits_consistency(config)
    config.method.max_weight = 10.0
  return config
