"""CoMatch (Li et al., 2021): memory-smoothed pseudo-labels and graph-contrastive learning.

Run:  python launch.py --config=configs/comatch.py --workdir=runs/comatch_digits
      python launch.py --config=configs/comatch.py:cifar10,labels=40,seed=1 --workdir=runs/co40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of the paper (Sec. 4.1) and USB's classic-CV configs
(config/classic_cv/comatch): tau = 0.95, lambda_u = lambda_c = 1,
temperature t = 0.2, alpha = 0.9, tau_c = 0.8, a 64-dimensional projection,
a memory bank of the last 5 steps' weak views, K = 5 (mu + 1) B = 2,560
(USB's queue_batch = 5), distribution alignment over ~32 batches (USB's
da_len = 32; here an exponential average, momentum 0.97), on FixMatch's
protocol (`presets.fixmatch_protocol`). The networks are FixMatch's (see
configs/flexmatch.py). The projection head is linear, `embedding_size` extra
outputs of the final layer (`model.kwargs.extra_logits`), where the paper's
is a 2-layer MLP; jaxssl/methods/comatch.py lists the other departures.
"""

from jaxssl import presets

BANK_STEPS = 5  # the bank holds this many steps' (mu + 1) B weak views


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "comatch"
  config.method.threshold = 0.95
  config.method.unlabeled_weight = 1.0
  config.method.contrastive_weight = 1.0
  config.method.temperature = 0.2
  config.method.smoothing_alpha = 0.9
  config.method.graph_threshold = 0.8
  config.method.embedding_size = 64
  config.method.alignment_momentum = 0.97
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for CoMatch (no sweep has been run);
    # a 32-dimensional projection for the small CNN.
    presets.fixmatch_digits(config)
    config.method.embedding_size = 32
  config.model.kwargs.extra_logits = config.method.embedding_size  # the projection head
  # K from the batch sizes: set method.bank_size again when changing them.
  config.method.bank_size = BANK_STEPS * (config.unlabeled_ratio + 1) * config.batch_size
  return config
