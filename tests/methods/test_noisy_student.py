"""Noisy Student: pseudo-label selection, the rounds' stages, resume, and bad input."""

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import noisy_student
from jaxssl import (checkpointing, data, evaluation, metrics_log, self_training, sharding,
                    stages, train)
from jaxssl import teacher as teacher_lib
from jaxssl.errors import ConfigError
from tests.methods.helpers import build_method


def tiny_config(**round_overrides):
  """Two student rounds of 4 steps on digits, small_cnn widths 4 -> 4 -> 6."""
  config = noisy_student.get_config("digits")
  config.total_steps = 4
  config.batch_size = 16
  config.unlabeled_ratio = 1
  config.log_every = 2
  config.eval_every = 4
  config.checkpoint_every = 2
  config.eval_batch_size = 360
  config.num_devices = 2
  config.method.randaugment_num_ops = 0  # RandAugment's compile time is not under test here
  config.noisy_student.rounds = 2
  config.noisy_student.model_sizes = (4, 4, 6)
  # A 4-step teacher is not confident: keep every pseudo-label, as they are.
  config.noisy_student.update(dict(pseudo_label="soft", confidence_threshold=0.0,
                                   class_balance=False))
  config.noisy_student.update(round_overrides)
  return config


def selection_config(**overrides):
  fields = dict(pseudo_label="soft", confidence_threshold=0.0, class_balance=False,
                images_per_class=0)
  return ml_collections.ConfigDict({**fields, **overrides})


PROBS = np.array([[0.9, 0.1, 0.0],
                  [0.6, 0.3, 0.1],
                  [0.2, 0.7, 0.1],
                  [0.5, 0.4, 0.1],
                  [0.1, 0.1, 0.8]], np.float32)


def test_select_soft_and_hard_pseudo_labels():
  positions, targets = self_training.select_pseudo_labels(PROBS, selection_config())
  np.testing.assert_array_equal(positions, np.arange(5))
  np.testing.assert_allclose(targets, PROBS)
  _, hard = self_training.select_pseudo_labels(PROBS, selection_config(pseudo_label="hard"))
  np.testing.assert_array_equal(hard, np.eye(3)[[0, 0, 1, 0, 2]])


def test_confidence_threshold_filters_pseudo_labels():
  positions, targets = self_training.select_pseudo_labels(
      PROBS, selection_config(confidence_threshold=0.65))
  np.testing.assert_array_equal(positions, [0, 2, 4])
  np.testing.assert_allclose(targets, PROBS[[0, 2, 4]])
  with pytest.raises(ConfigError, match="lower the threshold"):
    self_training.select_pseudo_labels(PROBS, selection_config(confidence_threshold=0.95))


def test_class_balance_trims_to_most_confident_and_duplicates():
  # Predicted classes: 0 -> [0 (0.9), 1 (0.6), 3 (0.5)], 1 -> [2], 2 -> [4].
  positions, _ = self_training.select_pseudo_labels(
      PROBS, selection_config(class_balance=True, images_per_class=2))
  np.testing.assert_array_equal(positions, [0, 1, 2, 2, 4, 4])
  # 0: the mean count per class, round(5 / 3) = 2.
  default, _ = self_training.select_pseudo_labels(PROBS, selection_config(class_balance=True))
  np.testing.assert_array_equal(default, positions)


def test_loss_of_teacher_and_student_batches(digits_inputs):
  config = tiny_config()
  params, batch, apply_fn = digits_inputs(config)
  teacher = build_method(config)
  assert teacher.frozen_inputs == ()
  teacher_loss, aux = jax.jit(lambda batch: teacher.loss_fn(
      params, {}, batch, jax.random.key(0), 0, apply_fn))(batch)
  assert "unsupervised_loss" not in aux["metrics"]
  config.method.pseudo_labeled = True
  student = build_method(config)
  assert student.frozen_inputs == ("unlabeled_targets",)
  # Perfect pseudo-labels, one per unlabeled image, looked up by the batch's indices.
  targets = jnp.zeros((int(batch["unlabeled_index"].max()) + 1, 10)).at[
      batch["unlabeled_index"]].set(jax.nn.one_hot(batch["unlabeled_label"], 10))
  loss, aux = jax.jit(lambda batch: student.loss_fn(
      params, {}, batch, jax.random.key(0), 0, apply_fn))({**batch, "unlabeled_targets": targets})
  metrics = aux["metrics"]
  np.testing.assert_allclose(loss, metrics["supervised_loss"] + metrics["unsupervised_loss"],
                             rtol=1e-6)
  assert metrics["pseudo_label_accuracy"] == 1.0
  assert np.isfinite(teacher_loss)


def test_student_smaller_than_teacher_is_refused_before_training(tmp_path):
  config = tiny_config(model_sizes=(8, 4, 8))
  with pytest.raises(ConfigError, match="fewer than its teacher"):
    stages.run(config, str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()
  config.noisy_student.equal_or_larger = False
  self_training.check(config, 10, (8, 8, 1))


@pytest.mark.parametrize("overrides, message", [
    ({"model_sizes": (4, 6)}, "one size per model"),
    ({"pseudo_label": "fuzzy"}, "pseudo_label"),
    ({"rounds": 0}, "at least 1"),
])
def test_bad_noisy_student_config(tmp_path, overrides, message):
  with pytest.raises(ConfigError, match=message):
    stages.run(tiny_config(**overrides), str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()


class Interrupted(Exception):
  pass


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
  """A 2-round run killed after round 2's step-2 checkpoint, then run again to the end.

  The configs are locked, as launch.py's config_flags hands them over.
  """
  workdir = tmp_path_factory.mktemp("noisy_student")

  def locked_config():
    config = tiny_config()
    config.lock()
    return config
  original_save = checkpointing.Checkpointer.save

  def save_then_crash_in_round_2(self, step, state):
    original_save(self, step, state)
    if "round2_student" in self._manager.directory.as_posix() and step == 2:
      self.close()
      raise Interrupted
  patch = pytest.MonkeyPatch()
  patch.setattr(checkpointing.Checkpointer, "save", save_then_crash_in_round_2)
  with pytest.raises(Interrupted):
    stages.run(locked_config(), str(workdir))
  patch.undo()
  before = {name: (workdir / name / "metrics.jsonl").read_text()
            for name in ("round0_teacher", "round1_student")}
  results = stages.run(locked_config(), str(workdir))
  return workdir, before, results


def test_interrupted_run_resumes_mid_round_2_and_reports_every_round(resumed_run):
  workdir, before, results = resumed_run
  # Finished rounds were skipped, not retrained.
  for name, metrics in before.items():
    assert (workdir / name / "metrics.jsonl").read_text() == metrics
  # Round 2 resumed from its step-2 checkpoint: one record per step, none repeated.
  records = metrics_log.read_records(workdir / "round2_student", "train")
  assert [r["step"] for r in records] == [2, 4]
  on_disk = json.loads((workdir / "results.json").read_text())
  assert on_disk == json.loads(json.dumps(results))
  assert [r["stage"] for r in results["stages"]] == [
      "round0_teacher", "round1_student", "round2_student"]
  assert [r["model_kwargs"]["width"] for r in results["stages"]] == [4, 4, 6]
  assert all("accuracy" in r for r in results["stages"])
  assert results["accuracy"] == results["stages"][-1]["accuracy"]


def test_pseudo_labels_are_deterministic_and_the_teachers_eval_predictions(resumed_run):
  workdir, _, _ = resumed_run
  config = tiny_config()
  stored = dict(np.load(workdir / "round1_student" / self_training.PSEUDO_LABELS_FILE))
  dataset = data.load_source("digits")
  mesh = sharding.make_mesh()
  teacher = teacher_lib.load_model(str(workdir / "round0_teacher"), dataset, mesh, "ema")
  predictor = evaluation.Predictor(teacher.apply_fn, mesh, config.eval_batch_size)
  unlabeled = np.arange(len(dataset.train_labels))
  again = self_training.make_pseudo_labels(teacher, predictor, dataset, unlabeled,
                                           config.noisy_student)
  for name in stored:
    np.testing.assert_array_equal(again[name], stored[name])
  # The teacher's own evaluation path, on the EMA weights of its final checkpoint.
  teacher_exp = train.build(self_training.round_config(config, 0))
  state = checkpointing.Checkpointer(str(workdir / "round0_teacher"), 3).restore(
      train.init_state(teacher_exp, jax.random.key(0)))
  logits = teacher_exp.predictor.logits(state.eval_ema.ema, state.batch_stats,
                                        dataset.train_images)
  np.testing.assert_allclose(stored["teacher_probs"], jax.nn.softmax(logits), rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_array_equal(stored["train_indices"], np.arange(len(dataset.train_labels)))
  assert os.path.exists(workdir / "round2_student" / self_training.PSEUDO_LABELS_FILE)
