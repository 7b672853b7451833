"""DeiT: the distillation loss with a frozen teacher, the recipe, teachers, staged fine-tuning."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import deit, supervised
from jaxssl import models, sharding, stages, teacher, train
from jaxssl.errors import ConfigError
from jaxssl.methods import FrozenModel, options
from jaxssl.methods import deit as method
from tests.methods.conftest import PRESET_DATA, make_stand_in_dataset
from tests.methods.helpers import run_steps


def shrink_teacher(config):
  """The supervised teacher config: a small_cnn (width 4) for 4 steps on all digits labels."""
  config.model.kwargs.width = 4
  config.batch_size = 16
  config.total_steps = 4
  config.log_every = config.eval_every = config.checkpoint_every = 4
  config.num_devices = 2
  return config


def tiny_deit(teacher_workdir="", **method_overrides):
  config = deit.get_config("digits")
  config.batch_size = 16
  config.total_steps = 4
  config.log_every = 2
  config.eval_every = 4
  config.checkpoint_every = 2
  config.optimizer.warmup_steps = 1
  config.finetune.total_steps = 2
  config.num_devices = 2
  config.teacher.workdir = teacher_workdir
  shrink_teacher(config.teacher.config)
  config.method.update(method_overrides)
  return config


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
  """A finished supervised run: small_cnn (width 4), 4 steps on all digits labels."""
  workdir = tmp_path_factory.mktemp("teacher")
  config = shrink_teacher(supervised.get_config("digits"))
  config.data.num_labeled = -1
  train.train(config, str(workdir))
  return workdir


def stand_in_teacher(num_classes, image_shape):
  """A fixed function of the images standing in for a trained teacher."""
  def apply_fn(params, batch_stats, images, is_training, rng):
    return images.mean(axis=(1, 2, 3))[:, None] * params["weights"], batch_stats
  return FrozenModel(variables={"params": {"weights": jax.random.normal(
      jax.random.key(7), (num_classes,))}, "batch_stats": {}}, apply_fn=apply_fn,
      image_size=tuple(image_shape[:2]))


def test_recipe_repeats_mixes_and_smooths():
  config = tiny_deit(repeated_augmentation=3, mixup=0.8, cutmix=1.0, random_erasing=0.25)
  images = jnp.arange(16 * 8 * 8, dtype=jnp.uint8).reshape(16, 8, 8, 1)
  labels = jnp.arange(16) % 10
  repeated, repeated_labels = method.repeat_images(images, labels, 3)
  np.testing.assert_array_equal(repeated_labels, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5])
  np.testing.assert_array_equal(repeated[1], images[0])
  opts = options.read(config.method, method.OPTIONS)
  augmented, targets = jax.jit(
      lambda key: method.augment_batch(key, images, labels, opts, 10, False))(jax.random.key(0))
  assert augmented.shape == (16, 8, 8, 1) and augmented.dtype == jnp.float32
  np.testing.assert_allclose(targets.sum(-1), 1.0, rtol=1e-5)
  # Label smoothing 0.1 leaves at least 0.01 on every class, mixing or not.
  assert targets.min() >= 0.01 - 1e-6
  config.method.update(dict(mixup=0.0, cutmix=0.0, repeated_augmentation=1, randaugment=False,
                            random_erasing=0.0))
  opts = options.read(config.method, method.OPTIONS)
  _, plain = method.augment_batch(jax.random.key(0), images, labels, opts, 10, False)
  np.testing.assert_allclose(plain, 0.9 * jax.nn.one_hot(labels, 10) + 0.01, rtol=1e-6)


@pytest.mark.parametrize("overrides, message", [
    ({"distillation": "warm"}, "distillation"),
    ({"randaugment": True, "autoaugment": True}, "one or the other"),
    ({"repeated_augmentation": 0}, "repeated_augmentation"),
])
def test_bad_recipe_is_refused(tmp_path, overrides, message):
  with pytest.raises(ConfigError, match=message):
    stages.run(tiny_deit(**overrides), str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()


def test_teacher_gets_no_gradient_and_stays_unchanged(teacher_dir):
  # RandAugment and MixUp off as in the stages test below: each costs seconds of compiling in
  # both programs here (test_recipe_repeats_mixes_and_smooths runs them).
  config = tiny_deit(str(teacher_dir), distillation="soft", randaugment=False, mixup=0.0)
  files_before = {p: p.stat().st_mtime_ns for p in teacher_dir.rglob("*")}
  plan = stages.plan(config, stages.load_native(config), sharding.make_mesh(config.num_devices))
  inputs = plan[-1].prepare("unused")
  frozen = inputs.frozen["teacher"]
  exp = train.build(plan[-1].config, inputs)
  before = jax.tree.map(np.array, frozen.variables)
  state = train.init_state(exp, jax.random.key(0))
  batch = exp.source.batch(exp.source.arrays, None, jax.random.key(1))

  def loss_of_teacher(teacher_params):
    moved = FrozenModel({**frozen.variables, "params": teacher_params}, frozen.apply_fn,
                        frozen.image_size)

    def apply_fn(params, x, is_training, rng):
      return exp.apply_fn(params, state.batch_stats, x, is_training, rng)
    return exp.method.loss_fn(state.params, {}, {**batch, "teacher": moved},
                              jax.random.key(2), 0, apply_fn)[0]
  grads = jax.jit(jax.grad(loss_of_teacher))(frozen.variables["params"])
  assert all(not np.any(g) for g in jax.tree.leaves(grads))

  student_before = jax.tree.map(np.array, state.params)
  state, metrics = run_steps(exp, state, train.make_step(exp, jax.random.key(3)), 2)
  assert 0.0 <= float(metrics["teacher_agreement"]) <= 1.0
  changed = [not np.allclose(a, b) for a, b in
             zip(jax.tree.leaves(student_before), jax.tree.leaves(state.params))]
  assert any(changed)
  for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(frozen.variables)):
    np.testing.assert_array_equal(a, b)
  assert {p: p.stat().st_mtime_ns for p in teacher_dir.rglob("*")} == files_before


def test_missing_teacher_is_a_clear_error(tmp_path, teacher_dir):
  missing = tmp_path / "no_such_run"
  with pytest.raises(ConfigError, match=f"No teacher run at {missing}.*Train the teacher first"):
    stages.run(tiny_deit(str(missing)), str(tmp_path / "run"))
  without_teacher = tiny_deit("")
  without_teacher.teacher.config = None
  with pytest.raises(ConfigError, match="teacher.workdir"):
    stages.run(without_teacher, str(tmp_path / "run"))
  without_teacher.runner = "train"
  with pytest.raises(ConfigError, match="frozen inputs"):
    stages.run(without_teacher, str(tmp_path / "run"))
  no_checkpoint = tmp_path / "no_checkpoint"
  no_checkpoint.mkdir()
  shutil.copy(teacher_dir / "config.json", no_checkpoint / "config.json")
  with pytest.raises(ConfigError, match=f"{no_checkpoint} holds no checkpoint"):
    stages.run(tiny_deit(str(no_checkpoint)), str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["model"]["kwargs"].update(width=8), "does not match the model"),
    (lambda c: c["data"].update(source="tfds:mnist"), "same data source"),
    (lambda c: c.update(eval_ema_decay=0.0), "'raw' weights"),
])
def test_incompatible_teacher_is_a_clear_error(tmp_path, teacher_dir, edit, message):
  broken = tmp_path / "broken"
  shutil.copytree(teacher_dir, broken)
  config_json = json.loads((broken / "config.json").read_text())
  edit(config_json)
  (broken / "config.json").write_text(json.dumps(config_json))
  with pytest.raises(ConfigError, match=message):
    stages.run(tiny_deit(str(broken)), str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("overrides, message", [
    ({"model.kwargs.patch_size": 3}, "patch_size 3 does not divide image_size 8"),
    ({"finetune.image_size": 15}, "does not divide image_size 15"),
    ({"model.kwargs.image_size": 16}, "set it to 8"),
])
def test_patch_size_must_divide_each_stage_resolution(tmp_path, overrides, message):
  config = tiny_deit(distillation="none")
  config.runner = "finetune"
  config.finetune.image_size = 16
  for key, value in overrides.items():
    section, *rest = key.split(".")
    target = config[section]
    for part in rest[:-1]:
      target = target[part]
    target[rest[-1]] = value
  with pytest.raises(ConfigError, match=message):
    stages.run(config, str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()


# Hard distillation on digits is trained by the stages test below, soft by the teacher test.
@pytest.mark.parametrize("preset, distillation", [("digits", "none"), ("cifar10", "soft")])
def test_train_step_builds_on_preset(preset, distillation):
  config = deit.get_config(preset)
  config.method.distillation = distillation
  config.batch_size = 8
  config.num_devices = 1
  config.eval_batch_size = 8
  dataset = None
  if preset in PRESET_DATA:
    image_shape, num_classes = PRESET_DATA[preset]
    dataset = make_stand_in_dataset(image_shape, num_classes, num_train=16)
  inputs = train.StageInputs(dataset=dataset)
  if distillation != "none":
    shape, classes = PRESET_DATA.get(preset, ((8, 8, 1), 10))
    inputs = train.StageInputs(dataset=dataset,
                               frozen={"teacher": stand_in_teacher(classes, shape)})
  exp = train.build(config, inputs)
  key = jax.random.key(0)
  state = jax.eval_shape(lambda: train.init_state(exp, key))
  shared, per_step = exp.source.next_inputs(1)
  train.make_step(exp, key).lower(state, shared, per_step, inputs.frozen)


def test_teacher_first_then_student_then_finetune_at_higher_resolution_and_resume(tmp_path):
  # The stages are under test, not the recipe (test_recipe_repeats_mixes_and_smooths runs it,
  # test_train_step_builds_on_preset lowers a step with it): RandAugment and MixUp off take
  # ~4 s off compiling each of the student's and fine-tuning's steps.
  config = tiny_deit("", distillation="hard", randaugment=False, mixup=0.0)
  config.finetune.image_size = 16
  config.lock()  # as launch.py's config_flags hands it over
  workdir = tmp_path / "deit"
  results = stages.run(config, str(workdir))
  assert [s["stage"] for s in results["stages"]] == ["teacher", "student", "finetune"]
  assert [s["image_size"] for s in results["stages"]] == [8, 8, 16]
  assert json.loads((workdir / "results.json").read_text())["stages"] == results["stages"]
  teacher_config = json.loads((workdir / "teacher" / "config.json").read_text())
  assert teacher_config["method"]["name"] == "supervised"
  assert teacher_config["data"]["num_labeled"] == -1
  finetune_config = json.loads((workdir / "finetune" / "config.json").read_text())
  assert finetune_config["data"]["image_size"] == finetune_config["model"]["kwargs"][
      "image_size"] == 16
  assert not {"finetune", "teacher", "runner"} & set(finetune_config)
  # The fine-tuned ViT has a 8x8 grid of position embeddings (16 / patch 2).
  tuned = teacher.read_config(str(workdir / "finetune"))
  model, _ = models.build_model(tuned, 10, np.zeros(1), np.ones(1))
  variables = teacher.restore_variables(str(workdir / "finetune"), model, (16, 16, 1),
                                        sharding.make_mesh())
  assert variables["params"]["pos_embed_grid"].shape == (1, 64, 64)
  # Every stage is finished: running again retrains nothing.
  metrics = {name: (workdir / name / "metrics.jsonl").read_text()
             for name in ("teacher", "student", "finetune")}
  assert stages.run(config, str(workdir)) == json.loads(json.dumps(results))
  for name, text in metrics.items():
    assert (workdir / name / "metrics.jsonl").read_text() == text
