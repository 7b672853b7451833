"""mCE and mFR: hand-computed values, the baseline against itself, constant and alternating predictors."""

import numpy as np
import pytest

from jaxssl.errors import ConfigError
from jaxssl.robustness import metrics


def test_mce_of_the_baseline_against_itself_is_exactly_100():
  rng = np.random.default_rng(0)
  errors = {name: list(rng.uniform(0.01, 1, 5)) for name in ("a", "b", "c")}
  assert metrics.mean_corruption_error(errors, errors) == 100.0
  probabilities = {"translate": 0.3, "noise": 0.07}
  assert metrics.mean_flip_rate(probabilities, probabilities) == 100.0


def test_a_hand_computed_mce():
  model = {"blur": [0.1, 0.2, 0.3, 0.4, 0.5], "noise": [0.1, 0.1, 0.2, 0.2, 0.4]}
  baseline = {"blur": [0.2, 0.4, 0.6, 0.8, 1.0], "noise": [0.1, 0.1, 0.1, 0.1, 0.1]}
  # CE_blur = 1.5 / 3.0 = 0.5, CE_noise = 1.0 / 0.5 = 2.0: mCE = 100 (0.5 + 2) / 2.
  assert metrics.corruption_errors(model, baseline) == pytest.approx({"blur": 0.5, "noise": 2.0})
  assert metrics.mean_corruption_error(model, baseline) == pytest.approx(125.0)
  assert metrics.unnormalized_corruption_error(model) == pytest.approx(25.0)


def test_flip_probability_of_constant_alternating_and_hand_made_predictors():
  constant = np.full((16, 5), 3)
  alternating = np.tile(np.arange(16)[:, None] % 2, (1, 5))
  assert metrics.flip_probability(constant, noise=False) == 0.0
  assert metrics.flip_probability(constant, noise=True) == 0.0
  assert metrics.flip_probability(alternating, noise=False) == 1.0
  assert metrics.flip_probability(alternating, noise=True) == pytest.approx(8 / 15)
  # Two sequences of 4 frames: 1 consecutive flip of 6 pairs; 3 frames of 6 differ from the first.
  predictions = np.array([[0, 1], [0, 2], [1, 2], [1, 2]])
  assert metrics.flip_probability(predictions, noise=False) == pytest.approx(2 / 6)
  assert metrics.flip_probability(predictions, noise=True) == pytest.approx(5 / 6)
  # FR = FP / FP_baseline per perturbation, mFR = 100 x their mean.
  assert metrics.mean_flip_rate({"a": 0.1, "b": 0.3}, {"a": 0.2, "b": 0.2}) == pytest.approx(100.0)
  assert metrics.flip_rates({"a": 0.1}, {"a": 0.4}) == pytest.approx({"a": 0.25})


def test_a_baseline_without_errors_or_flips_is_refused():
  with pytest.raises(ConfigError, match="baseline's corruption errors are 0 on fog"):
    metrics.mean_corruption_error({"fog": [0.1] * 5}, {"fog": [0.0] * 5})
  with pytest.raises(ConfigError, match="flip probabilities are 0 on rotate"):
    metrics.mean_flip_rate({"rotate": 0.1}, {"rotate": 0.0})
