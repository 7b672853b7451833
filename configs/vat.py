"""Virtual Adversarial Training (Miyato et al., 2018), optionally + EntMin or adversarial training.

Run: python launch.py --config=configs/vat.py:cifar10,labels=4000 --workdir=runs/vat
     add --config.method.entmin=True for VAT + EntMin,
     --config.method.adversarial=linf (or l2) for adversarial training on the labeled batch.
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

The WRN-28 presets follow Oliver et al. (2018, "Realistic Evaluation of Deep
Semi-Supervised Learning Algorithms"; the values of their released
lib/hparams.py), tuned for WRN-28-2: Adam at 3e-3, no weight decay,
alpha = 0.3 ramped up over 200k of 500k iterations, xi = 1e-6, one power
iteration, entropy weight 0.06 for VAT + EntMin, 48 labeled + 48 unlabeled
images per batch (their 50 + 50, divisible by 8 devices). Their learning rate
also drops x0.2 at 400k; ours stays constant.

epsilon is the L2 norm of r_vadv in the [0, 1] image space (before the
model's per-channel normalization). Oliver et al. use 1.0 on SVHN scaled to
[-1, 1], which is 0.5 here, and 6.0 on ZCA-whitened CIFAR-10; whitened
dimensions have unit variance, about 4x the [0, 1] pixel standard deviation
of 0.25, so we take 6.0 * 0.25 = 1.5 (whitening is not a uniform scaling, so
this is an approximation). Miyato et al.'s own alpha is 1 without ramp-up
(rampup_steps = 0) and their EntMin weight is 1.
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "vat"
  config.method.max_weight = 0.3  # alpha
  config.method.rampup_steps = 200_000
  config.method.epsilon = 0.5 if config.preset == "svhn" else 1.5
  config.method.xi = 1e-6
  config.method.num_power_iterations = 1  # K
  config.method.entmin = False
  config.method.entmin_weight = 0.06
  config.method.adversarial = "none"  # or "l2", "linf": adversarial training on labeled data
  config.method.adversarial_epsilon = 8 / 255  # the usual L-inf budget; for "l2" use ~epsilon
  config.method.adversarial_weight = 1.0  # Goodfellow et al.'s 0.5 J + 0.5 J_adv, up to a factor 2
  config.optimizer.update(name="adam", learning_rate=3e-3, weight_decay=0.0, schedule="constant")
  config.batch_size = 48
  config.unlabeled_ratio = 1
  config.total_steps = 500_000
  if presets.is_digits(config):
    config.method.max_weight = 1.0
    config.method.rampup_steps = 600
    config.method.epsilon = 1.0
    config.method.adversarial_epsilon = 0.1
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
