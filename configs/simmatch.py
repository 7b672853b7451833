"""SimMatch (Zheng et al., 2022): FixMatch with similarity matching to a labeled memory bank.

Run:  python launch.py --config=configs/simmatch.py --workdir=runs/simmatch_digits
      python launch.py --config=configs/simmatch.py:cifar10,labels=40,seed=1 --workdir=runs/sim40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of the paper (Sec. 4.1) and USB's classic-CV configs
(config/classic_cv/simmatch): tau = 0.95, lambda_u = lambda_in = 1,
temperature t = 0.1, alpha = 0.9, a 128-dimensional projection, a labeled
bank of K = the labeled set's size (the preset's labels=N sets it; set
method.bank_size with data.num_labeled when overriding that, and when training
on every label, num_labeled = -1),
distribution alignment over ~32 batches (USB's da_len = 32; here an
exponential average, momentum 0.97), on FixMatch's protocol
(`presets.fixmatch_protocol`). The networks are FixMatch's (see
configs/flexmatch.py). The projection head is linear, `embedding_size` extra
outputs of the final layer (`model.kwargs.extra_logits`), where the paper's
is a 2-layer MLP; jaxssl/methods/simmatch.py lists the other departures.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "simmatch"
  config.method.threshold = 0.95
  config.method.unlabeled_weight = 1.0
  config.method.in_weight = 1.0
  config.method.temperature = 0.1
  config.method.smoothing_alpha = 0.9
  config.method.bank_size = config.data.num_labeled  # labels=N sets both
  config.method.embedding_size = 128
  config.method.alignment_momentum = 0.97
  config.model.kwargs.extra_logits = config.method.embedding_size  # the projection head
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for SimMatch (no sweep has been run);
    # a 32-dimensional projection for the small CNN.
    presets.fixmatch_digits(config)
    config.method.embedding_size = config.model.kwargs.extra_logits = 32
  return config
