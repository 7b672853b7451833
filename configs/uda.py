"""UDA (Xie et al., 2020): consistency to sharpened, confidence-masked weak-view predictions.

Run:  python launch.py --config=configs/uda.py --workdir=runs/uda_digits
      python launch.py --config=configs/uda.py:cifar10,labels=40,seed=1 --workdir=runs/uda40
Presets: digits (default), cifar10, svhn, cifar100, stl10, folder=/path; then labels=N, seed=S.

Hyperparameters of USB's classic-CV configs, the same on every data set and
label count: sharpening temperature T = 0.4, confidence threshold beta =
0.8, lambda_u = 1, no training-signal annealing (tsa = "none"; "linear",
"log" or "exp" anneal over tsa_steps, the preset's total_steps), on
FixMatch's protocol (`presets.fixmatch_protocol`). The networks are
FixMatch's (see configs/flexmatch.py).
"""

from jaxssl import presets


def get_config(arg=None):
  config = presets.base_config(arg)
  config.method.name = "uda"
  config.method.temperature = 0.4
  config.method.threshold = 0.8
  config.method.unlabeled_weight = 1.0
  config.method.tsa = "none"
  presets.fixmatch_protocol(config)
  if presets.is_digits(config):
    # FixMatch's digits setting, not tuned for UDA.
    presets.fixmatch_digits(config)
  config.method.tsa_steps = config.total_steps  # set it too when changing total_steps
  return config
