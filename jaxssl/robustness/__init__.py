"""Robustness evaluation: corruptions (mCE) and perturbation sequences (mFR).

After Hendrycks & Dietterich, 2019 (ImageNet-C and ImageNet-P), as Noisy
Student (Xie et al., 2020) reports it. `corrupt` and `frames` compute the
corrupted images and the perturbation sequences on the device, `metrics`
holds the formulas, `evaluate_run` scores a finished run, and
`python -m jaxssl.robustness` tabulates runs against a baseline run.
"""

from jaxssl.robustness import metrics
from jaxssl.robustness.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from jaxssl.robustness.evaluate import Robustness, evaluate_run, finished_run
from jaxssl.robustness.perturbations import NUM_FRAMES, PERTURBATIONS, frames

__all__ = [
    "CORRUPTIONS",
    "NUM_FRAMES",
    "PERTURBATIONS",
    "Robustness",
    "SEVERITIES",
    "corrupt",
    "evaluate_run",
    "finished_run",
    "frames",
    "metrics",
]
