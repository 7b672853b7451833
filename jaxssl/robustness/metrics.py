"""mCE and mFR (Hendrycks & Dietterich, 2019), from error rates and predictions.

Corruption error of model f on corruption c, normalized by a baseline model
(AlexNet in the paper; here a named baseline run, e.g. the supervised run on
the same labels):

  CE_c = sum_{s=1}^{5} E_{s,c} / sum_{s=1}^{5} E_{s,c}^{baseline},   mCE = 100 mean_c CE_c

and the un-normalized mean corruption error 100 mean_{c,s} E_{s,c}. Flip
probability of a perturbation p over m sequences of n frames:

  FP_p = 1 / (m (n - 1)) sum_i sum_{j=2}^{n} 1[f(x_j^i) != f(x_{j-1}^i)]

with x_{j-1} replaced by the clean first frame x_1 for the noise sequences,
whose frames are unrelated in time; FR_p = FP_p / FP_p^{baseline} and
mFR = 100 mean_p FR_p.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from jaxssl.errors import ConfigError


def _ratios(values: Mapping[str, float], baseline: Mapping[str, float], what: str) -> dict:
  if set(values) != set(baseline):
    raise ConfigError(f"The {what} cover {sorted(values)} but the baseline's "
                      f"{sorted(baseline)}; evaluate both on the same set.")
  zero = sorted(name for name in values if baseline[name] == 0)
  if zero:
    raise ConfigError(f"The baseline's {what} are 0 on {', '.join(zero)}, so nothing can be "
                      "normalized by them; use a weaker baseline run.")
  return {name: values[name] / baseline[name] for name in values}


def corruption_errors(errors: Mapping[str, Sequence[float]],
                      baseline: Mapping[str, Sequence[float]]) -> dict[str, float]:
  """{c: CE_c}: each corruption's errors (one per severity) summed, over the baseline's."""
  return _ratios({name: float(np.sum(e)) for name, e in errors.items()},
                 {name: float(np.sum(e)) for name, e in baseline.items()}, "corruption errors")


def mean_corruption_error(errors: Mapping[str, Sequence[float]],
                          baseline: Mapping[str, Sequence[float]]) -> float:
  """mCE = 100 mean_c CE_c."""
  return 100.0 * float(np.mean(list(corruption_errors(errors, baseline).values())))


def unnormalized_corruption_error(errors: Mapping[str, Sequence[float]]) -> float:
  """100 mean_{c,s} E_{s,c}: the mean error (%) over every corruption and severity."""
  return 100.0 * float(np.mean([np.mean(e) for e in errors.values()]))


def flip_probability(predictions, noise: bool) -> float:
  """FP of predictions [T, N] (frame, sequence): consecutive frames, or against frame 0 if `noise`."""
  predictions = np.asarray(predictions)
  previous = predictions[:1] if noise else predictions[:-1]
  return float(np.mean(predictions[1:] != previous))


def flip_rates(probabilities: Mapping[str, float], baseline: Mapping[str, float]
               ) -> dict[str, float]:
  """{p: FR_p = FP_p / FP_p^baseline}."""
  return _ratios(probabilities, baseline, "flip probabilities")


def mean_flip_rate(probabilities: Mapping[str, float], baseline: Mapping[str, float]) -> float:
  """mFR = 100 mean_p FR_p."""
  return 100.0 * float(np.mean(list(flip_rates(probabilities, baseline).values())))
