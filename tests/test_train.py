"""The training loop on digits: learning, sharding invariance, resume, bad input."""

import json
import os
import shutil

import jax
import numpy as np
import pytest

from jaxssl import metrics_log, stages, train
from jaxssl.checkpointing import Checkpointer
from jaxssl.errors import ConfigError, TrainingDivergedError, WorkdirMismatchError
from configs import supervised
from tests.methods.helpers import ema_closed_form, parameter_history, run_steps


def tiny_config(**overrides):
  config = supervised.get_config("digits")
  config.total_steps = 8
  config.batch_size = 16
  config.log_every = 4
  config.eval_every = 8
  config.checkpoint_every = 4
  config.eval_batch_size = 64
  config.model.kwargs.width = 8
  config.num_devices = 2
  return stages.stage_config(config, **overrides)


def state_after_steps(config, steps):
  exp = train.build(config)
  init_key, step_key = jax.random.split(jax.random.key(config.seed))
  state = train.init_state(exp, init_key)
  state, metrics = run_steps(exp, state, train.make_step(exp, step_key), steps)
  return state, jax.device_get(metrics)


def test_one_step_same_loss_on_8_devices_as_on_1(tmp_path):
  assert jax.device_count() == 8
  _, metrics_1 = state_after_steps(tiny_config(num_devices=1), 1)
  state_8, metrics_8 = state_after_steps(tiny_config(num_devices=8), 1)
  np.testing.assert_allclose(metrics_1["loss"], metrics_8["loss"], rtol=1e-5)
  leaf = jax.tree.leaves(state_8.params)[0]
  assert leaf.sharding.is_fully_replicated


def test_another_seed_compiles_the_same_program():
  """The key is an argument, not a constant: runs of other seeds reuse the executable."""
  exp = train.build(tiny_config(num_devices=1))
  shared, per_step = exp.source.next_inputs(1)
  steps = [train.make_step(exp, jax.random.key(seed)) for seed in (0, 1)]
  initial = [train.init_state(exp, jax.random.key(0)) for _ in steps]  # each step donates one
  programs = [step.lower(state, shared, per_step, {}).as_text()
              for step, state in zip(steps, initial)]
  assert programs[0] == programs[1]
  # ... and the key still reaches the step: another seed draws another batch.
  losses = [float(step(state, shared, per_step, {})[1]["loss"])
            for step, state in zip(steps, initial)]
  assert losses[0] != losses[1]


def test_scan_of_several_steps_matches_single_steps(tmp_path):
  one, _ = state_after_steps(tiny_config(), 4)
  four, _ = state_after_steps(tiny_config(steps_per_dispatch=4), 1)
  for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_interrupted_run_resumes_to_the_same_parameters(tmp_path):
  straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
  train.train(tiny_config(), str(straight))
  train.train(tiny_config(), str(interrupted))
  # Simulate a crash between the step-4 and step-8 checkpoints.
  shutil.rmtree(interrupted / "checkpoints" / "8")
  (interrupted / "results.json").unlink()
  resumed = train.train(tiny_config(), str(interrupted))
  assert resumed["steps"] == 8
  exp = train.build(tiny_config())
  template = train.init_state(exp, jax.random.key(1))
  a = Checkpointer(str(straight), 3).restore(template)
  b = Checkpointer(str(interrupted), 3).restore(template)
  assert int(a.step) == int(b.step) == 8
  for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_workdir_with_another_runs_config_is_refused_and_kept(tmp_path):
  train.train(tiny_config(), str(tmp_path))
  before = {p: p.read_bytes() for p in tmp_path.glob("*.json")}
  with pytest.raises(WorkdirMismatchError, match="new --workdir"):
    train.train(tiny_config(**{"data.split_seed": 5}), str(tmp_path))
  with pytest.raises(WorkdirMismatchError, match="model.kwargs.width"):
    train.train(tiny_config(**{"model.kwargs.width": 4}), str(tmp_path))
  assert {p: p.read_bytes() for p in tmp_path.glob("*.json")} == before
  assert sorted(os.listdir(tmp_path / "checkpoints"))


@pytest.mark.parametrize("overrides, message", [
    ({"total_steps": 0}, "total_steps"),
    ({"batch_size": -4}, "batch_size"),
    ({"batch_size": 12, "num_devices": 8}, "multiple of 8"),
    ({"method.name": "nope"}, "Unknown method"),
    ({"model.name": "nope"}, "nope"),
    ({"data.source": "nope"}, "nope"),
    ({"data.num_labeled": 25}, "25"),
    ({"eval_ema_decay": 1.0}, "eval_ema_decay"),
    ({"data.pipeline": "disk"}, "pipeline"),
])
def test_bad_config_fails_before_training(tmp_path, overrides, message):
  with pytest.raises(ConfigError, match=message):
    train.train(tiny_config(**overrides), str(tmp_path / "run"))
  assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("warmup", [False, True])
def test_evaluation_ema_is_its_closed_form_from_the_initial_parameters(warmup):
  decay = 0.9  # 4 updates stay within the warm-up's 1 / (1 - decay) = 10
  config = tiny_config(num_devices=1, eval_ema_decay=decay, eval_ema_warmup=warmup)
  state, history = parameter_history(train.build(config), jax.random.key(0), 4)
  # Update t blends in theta_{t+1} with weight 1 - a_t: a_t = decay, or min(decay, 1 - 1/(t+1)).
  alphas = [min(decay, 1 - 1 / (t + 1)) if warmup else decay for t in range(4)]
  expected, coefficients = ema_closed_form(history, alphas)
  if warmup:  # a plain mean of theta_1 .. theta_4 while young
    np.testing.assert_allclose(coefficients, [0, 0.25, 0.25, 0.25, 0.25], atol=1e-12)
  for got, want in zip(jax.tree.leaves(state.eval_ema.ema), jax.tree.leaves(expected)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_supervised_all_labels_reaches_95_percent_and_the_ema_is_not_chance_at_150_steps(
    tmp_path, optimized_programs):
  """Learning, the evaluation EMA early in training, and batch norm's running averages.

  decay 0.999 has a horizon of 1,000 steps; after 150 the EMA must not be chance.
  300 steps (a whole schedule) end at 98.3-98.9% over seeds 0-2. Batch norm: the
  running averages the evaluation uses must match the statistics of a batch, so
  train-mode and eval-mode predictions of the final weights on the test images agree.
  """
  config = supervised.get_config("digits")
  config.data.num_labeled = -1
  config.num_devices = 1  # learning, not sharding, is under test here
  config.eval_ema_decay = 0.999
  config.total_steps = config.checkpoint_every = 300
  config.eval_every = 150
  config.log_every = 50
  results = train.train(config, str(tmp_path))
  assert results["accuracy"]["final"] >= 0.95
  at_150 = [r for r in metrics_log.read_records(tmp_path, "eval") if r["step"] == 150]
  assert len(at_150) == 1
  raw, ema = at_150[0]["accuracy"], at_150[0]["ema_accuracy"]
  assert raw >= 0.9 and ema >= raw - 0.05
  on_disk = json.loads((tmp_path / "results.json").read_text())
  assert on_disk["accuracy"]["final"] == results["accuracy"]["final"]
  # The last evaluation's confusion matrix: one row per digit, the test set's 360 images.
  confusion = np.array(on_disk["test_confusion"]["raw"])
  assert confusion.shape == (10, 10) and confusion.sum() == 360
  assert np.trace(confusion) / 360 == results["accuracy"]["final"]
  assert "weakest class" in train.format_results(on_disk)

  exp = train.build(config)
  state = Checkpointer(str(tmp_path), 3).restore(train.init_state(exp, jax.random.key(0)))
  images = exp.source.dataset.test_images.astype(np.float32) / 255.0
  train_mode, _ = exp.apply_fn(state.params, state.batch_stats, images, True, jax.random.key(1))
  eval_mode, _ = exp.apply_fn(state.params, state.batch_stats, images, False, None)
  agreement = np.mean(np.argmax(train_mode, -1) == np.argmax(eval_mode, -1))
  assert agreement >= 0.95
  np.testing.assert_allclose(np.mean(np.argmax(eval_mode, -1) == exp.source.dataset.test_labels),
                             results["accuracy"]["final"], atol=1e-6)


def test_a_diverging_run_stops_before_writing_nan_weights(tmp_path):
  with pytest.raises(TrainingDivergedError, match="diverged.*learning_rate"):
    train.train(tiny_config(**{"optimizer.learning_rate": 1e8, "log_every": 2,
                               "checkpoint_every": 2}), str(tmp_path))
  assert not (tmp_path / "results.json").exists()
  steps = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())
  if steps:  # whatever was saved before the loss went non-finite holds finite weights
    exp = train.build(tiny_config())
    state = Checkpointer(str(tmp_path), 3).restore(train.init_state(exp, jax.random.key(0)))
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(state.params))


def test_a_workdir_that_cannot_be_written_is_a_clear_error(tmp_path):
  # A file where a folder should be (permissions would not stop root, who runs CI).
  blocker = tmp_path / "notes.txt"
  blocker.write_text("not a folder")
  with pytest.raises(WorkdirMismatchError, match="Cannot write the run to"):
    train.train(tiny_config(), str(blocker / "run"))
  assert blocker.read_text() == "not a folder"
