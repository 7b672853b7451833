"""Mean Teacher (Tarvainen & Valpola, 2017): consistency with an EMA-of-weights teacher.

Run: python launch.py --config=configs/mean_teacher.py:cifar10,labels=4000 --workdir=runs/mt
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

The WRN-28 presets follow Oliver et al. (2018, "Realistic Evaluation of Deep
Semi-Supervised Learning Algorithms"; the values of their released
lib/hparams.py), tuned for WRN-28-2: Adam at 4e-4, no weight decay,
w_max = 8 ramped up over 200k of 500k iterations, teacher decay 0.95
throughout, 48 labeled + 48 unlabeled images per batch (their 50 + 50,
divisible by 8 devices), input noise 0.15 except on SVHN. Their learning rate
also drops x0.2 at 400k; ours stays constant. The original paper's teacher
decay is 0.99 during ramp-up and 0.999 after (set ema_decay_rampup and
ema_decay). CIFAR-100 and STL-10 reuse the CIFAR-10 values.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "mean_teacher"
  config.method.max_weight = 8.0
  config.method.rampup_steps = 200_000
  config.method.ema_decay_rampup = 0.95
  config.method.ema_decay = 0.95
  config.method.input_noise = 0.0 if config.preset == "svhn" else 0.15
  config.optimizer.update(name="adam", learning_rate=4e-4, weight_decay=0.0, schedule="constant")
  config.batch_size = 48
  config.unlabeled_ratio = 1
  config.total_steps = 500_000
  if presets.is_digits(config):
    config.method.max_weight = 10.0
    config.method.rampup_steps = 600
    config.method.ema_decay_rampup = 0.99
    config.method.ema_decay = 0.99
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
