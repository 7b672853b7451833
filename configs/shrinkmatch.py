"""ShrinkMatch (Yang et al., 2023): uncertain pseudo-labels trained in a shrunk class space.

Run:  python launch.py --config=configs/shrinkmatch.py --workdir=runs/shrinkmatch_digits
      python launch.py --config=configs/shrinkmatch.py:cifar10,labels=250 --workdir=runs/sm250
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of the authors' CIFAR code (LiheYoung/ShrinkMatch, built on
SimMatch's): tau = 0.95, lambda_u = lambda_s = 1, distribution alignment
always on over the last 32 batches (here an exponential average, momentum
0.97), the running share of certain images at momentum 0.999, soft
(aligned) pseudo-label targets, on FixMatch's protocol
(`presets.fixmatch_protocol`: B = 64, mu = 7, SGD lr 0.03 with Nesterov
momentum and the 2^20-step cosine, weight decay 5e-4, 1e-3 on CIFAR-100,
EMA 0.999). Its 250-label CIFAR-10 logs are the reference curve of
benchmarks/cifar10_curve.py. The auxiliary head is linear, num_classes extra
outputs of the final layer (`model.kwargs.extra_logits`), where the code's
is a 3-layer MLP; jaxssl/methods/shrinkmatch.py lists the other departures.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "shrinkmatch"
  config.method.threshold = 0.95
  config.method.unlabeled_weight = 1.0
  config.method.shrink_weight = 1.0
  config.method.alignment_momentum = 0.97
  config.method.certain_ratio_momentum = 0.999
  config.method.hard_pseudo_labels = False
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for ShrinkMatch (no sweep has been run).
    presets.fixmatch_digits(config)
  config.model.kwargs.extra_logits = config.data.num_classes  # the auxiliary classifier
  return config
