"""AdaMatch (Berthelot et al., 2022) in its semi-supervised form.

Run:  python launch.py --config=configs/adamatch.py --workdir=runs/adamatch_digits
      python launch.py --config=configs/adamatch.py:cifar10,labels=40,seed=1 --workdir=runs/ada40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

The paper's hyperparameters (Berthelot et al., 2022, Sec. 4 and its code):
relative threshold tau = 0.9 (USB's classic-CV configs use 0.95), lambda_u = 1
reached by the cosine warm-up halfway through training (warmup_steps, half
the preset's total_steps), random logit interpolation on; the marginals'
momentum 0.999 is USB's. On FixMatch's protocol (`presets.fixmatch_protocol`,
as USB runs it; the paper's own SSL runs differ in mu and weight decay). The
networks are FixMatch's (see configs/flexmatch.py).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "adamatch"
  config.method.threshold = 0.9
  config.method.unlabeled_weight = 1.0
  config.method.logit_interpolation = True
  config.method.alignment_momentum = 0.999
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for AdaMatch; the marginals' horizon
    # shrinks to ~100 of the 2,000 steps, as FixMatch's digits alignment does.
    presets.fixmatch_digits(config)
    config.method.alignment_momentum = 0.99
  config.method.warmup_steps = config.total_steps // 2  # set it too when changing total_steps
  return config
