"""The architecture refactor changed no numbers: FixMatch and Mean Teacher after 100 steps.

tests/reference/params_before_refactor.json holds, for each method, the
training fields of its digits preset at the time and the parameters the code
before the refactor reached after 100 steps on one CPU device: a sha256 of
their bytes and, per leaf, the sum and L2 norm. On the machine that recorded
them the refactored code reproduces the bytes exactly. Other CPUs (another
instruction set, another XLA build) may round differently, and 100 steps of
SGD amplify that, so the assertion compares the per-leaf statistics to a
relative tolerance of 1e-4 rather than the hash.
"""

import json
import pathlib

import jax
import numpy as np
import pytest

from configs import fixmatch, mean_teacher
from jaxssl import train
from tests.methods.helpers import run_steps

REFERENCE = json.loads((pathlib.Path(__file__).parent / "reference" /
                        "params_before_refactor.json").read_text())
CONFIGS = {"fixmatch": fixmatch, "mean_teacher": mean_teacher}


def pinned_config(name):
  """Today's digits preset with the training fields the reference was recorded with."""
  config = CONFIGS[name].get_config("digits")
  pinned = REFERENCE[name]["pinned"]
  for field in ("batch_size", "unlabeled_ratio", "total_steps", "seed"):
    config[field] = pinned[field]
  config.data.update(pinned["data"])
  config.optimizer.update(pinned["optimizer"])
  config.method.update(pinned["method"])
  config.model.update(pinned["model"])
  config.num_devices = 1
  return config


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameters_after_100_steps_match_the_code_before_the_refactor(name):
  config = pinned_config(name)
  exp = train.build(config)
  init_key, step_key = jax.random.split(jax.random.key(config.seed))
  state, _ = run_steps(exp, train.init_state(exp, init_key), train.make_step(exp, step_key),
                       config.total_steps)
  leaves = jax.tree_util.tree_leaves_with_path(jax.device_get(state.params))
  stats = {jax.tree_util.keystr(path): [float(np.sum(leaf, dtype=np.float64)),
                                        float(np.linalg.norm(leaf.astype(np.float64)))]
           for path, leaf in leaves}
  expected = REFERENCE[name]["stats"]
  assert sorted(stats) == sorted(expected)
  for path, (total, norm) in expected.items():
    np.testing.assert_allclose(stats[path][1], norm, rtol=1e-4, err_msg=path)
    np.testing.assert_allclose(stats[path][0], total, rtol=1e-4, atol=1e-4 * norm, err_msg=path)
