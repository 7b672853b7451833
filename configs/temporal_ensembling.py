"""Temporal Ensembling (Laine & Aila, 2017): consistency with a per-example EMA of predictions.

Run: python launch.py --config=configs/temporal_ensembling.py:cifar10,labels=4000 --workdir=runs/te
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

alpha = 0.6 and w_max = 30 are Laine & Aila's (Sec. 3 and App. A). They also
scale w_max by M/N (labeled / all training images) because their supervised
term is summed over the labeled examples and divided by the whole minibatch;
ours is the mean over a labeled batch of fixed size, which under Adam makes
the unscaled w_max the equivalent. The rest of the WRN-28 protocol is the
Pi-model's (Oliver et al., 2018, tuned for WRN-28-2; see configs/pi_model.py):
Adam at 3e-4, no weight decay, ramp-up over 200k of 500k iterations, 48
labeled + 48 unlabeled images per batch, input noise 0.15 except on SVHN.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "temporal_ensembling"
  config.method.ensemble_momentum = 0.6  # alpha
  config.method.max_weight = 30.0
  config.method.rampup_steps = 200_000
  config.method.input_noise = 0.0 if config.preset == "svhn" else 0.15
  config.optimizer.update(name="adam", learning_rate=3e-4, weight_decay=0.0, schedule="constant")
  config.batch_size = 48
  config.unlabeled_ratio = 1
  config.total_steps = 500_000
  if presets.is_digits(config):
    config.method.max_weight = 10.0
    config.method.rampup_steps = 600
    config.method.input_noise = 0.15
    config.optimizer.update(name="sgd", learning_rate=0.03, weight_decay=5e-4,
                            schedule="fixmatch_cosine")
    config.batch_size = 64
    config.unlabeled_ratio = 4
    config.total_steps = 1500
    config.log_every = 250
    config.eval_every = 500
    config.checkpoint_every = 1500
    config.eval_batch_size = 360
    config.ema_decay = 0.99
  return config
