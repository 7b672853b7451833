"""Temporal Ensembling (Laine & Aila, 2017): consistency with a per-example EMA of predictions.

Run: python launch.py --config=configs/temporal_ensembling.py:cifar10,labels=4000 --workdir=runs/te
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

alpha = 0.6 and w_max = 30 are Laine & Aila's (Sec. 3 and App. A). They also
scale w_max by M/N (labeled / all training images) because their supervised
term is summed over the labeled examples and divided by the whole minibatch;
ours is the mean over a labeled batch of fixed size, which under Adam makes
the unscaled w_max the equivalent. The rest of the WRN-28 protocol is the
Pi-model's (Oliver et al., 2018; see `presets.oliver_protocol`): Adam at
3e-4. Digits: `presets.digits_consistency`, w_max = 10.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "temporal_ensembling"
  config.method.ensemble_momentum = 0.6  # alpha
  config.method.max_weight = 30.0
  config.method.input_noise = 0.0 if config.preset == "svhn" else 0.15
  presets.oliver_protocol(config, learning_rate=3e-4)
  if presets.is_digits(config):
    presets.digits_consistency(config)
    config.method.max_weight = 10.0
  return config
