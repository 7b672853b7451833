"""Fixtures shared by the method tests: stand-in data sets, tiny configs, one batch.

TFDS data is not available offline, so the "every preset builds" tests run on
a stand-in `jaxssl.data.Dataset` of random uint8 images with the preset's
image shape, and only trace/lower the train step instead of running it.
"""

import jax
import numpy as np
import pytest

from jaxssl import data, metrics_log, train

# The data-set presets every method's Method is built for (PRESET_ARGS) and whose train
# step is lowered (LOWERED_PRESET_ARGS, with tiny sizes). A lowering costs 1-11 s of
# tracing on 2 cores, so it runs where it builds a program no other test builds: digits'
# step is compiled by each method's training test; svhn builds what cifar10 builds
# (32x32x3, 10 classes, the same WRN) without the flip, which digits covers; cifar100
# builds it with 100 classes and a wider WRN, which the tests shrink to cifar10's; stl10
# builds it at 96x96, which changes the methods' programs only in their augmentations, so
# the methods with a strong view or mixing of their own (FixMatch, MixMatch) lower it too
# (WITH_STL10). tests/test_presets.py checks that every config resolves on every preset.
PRESET_ARGS = ["digits", "cifar10,labels=40", "cifar100,labels=2500", "stl10,labels=1000"]
LOWERED_PRESET_ARGS = ["cifar10,labels=40"]
WITH_STL10 = LOWERED_PRESET_ARGS + ["stl10,labels=1000"]

# Image shape and classes of each preset's real data set.
PRESET_DATA = {
    "cifar10": ((32, 32, 3), 10),
    "stl10": ((96, 96, 3), 10),
}


def make_stand_in_dataset(image_shape, num_classes, num_train, num_test=8, seed=0):
  """Random uint8 images of `image_shape`, labels cycling through the classes."""
  rng = np.random.default_rng(seed)
  labels = (np.arange(num_train + num_test) % num_classes).astype(np.int32)
  images = rng.integers(0, 256, (num_train + num_test, *image_shape), dtype=np.uint8)
  return data.Dataset("stand_in", images[:num_train], labels[:num_train],
                      images[num_train:], labels[num_train:], num_classes=num_classes,
                      class_names=tuple(str(c) for c in range(num_classes)))


def shrink_config(config, batch_size=8, num_devices=0):
  """Tiny model and batches, so that a step is cheap to build or run."""
  config.batch_size = batch_size
  config.eval_batch_size = 8 if num_devices == 1 else 64
  config.num_devices = num_devices
  if config.model.name == "wrn":
    config.model.kwargs.depth = 10
    config.model.kwargs.width = 1
  else:
    config.model.kwargs.width = 8
  return config


@pytest.fixture
def shrink():
  """`shrink_config`: (config, batch_size=8, num_devices=0) -> the config, made tiny."""
  return shrink_config


@pytest.fixture(params=LOWERED_PRESET_ARGS)
def preset_arg(request):
  """Each of LOWERED_PRESET_ARGS in turn: the argument after the config path on the command line."""
  return request.param


@pytest.fixture
def train_a_few_steps(tmp_path):
  """config -> the metrics logged at each step of a 4-step run on 2 of the fake devices.

  The sharded path; the run ends with one evaluation, and this asserts it
  finished with a finite test accuracy. Logged every step, so each record is
  one step's metrics (not an average of several): the one logged as step k
  was computed at t = k - 1, and a loss is its terms' weighted sum.
  """
  def run(config):
    config.num_devices = 2  # sharded; 8 devices on 2 cores would only add collective waits
    config.eval_batch_size = 360
    config.total_steps, config.log_every, config.eval_every, config.checkpoint_every = 4, 1, 4, 4
    results = train.train(config, str(tmp_path))
    assert results["steps"] == 4 and np.isfinite(results["accuracy"]["final"])
    return metrics_log.read_records(tmp_path, "train")
  return run


@pytest.fixture
def lowered_step_on_preset():
  """(config, arg) -> lowers the config's train step on the preset's (stand-in) data.

  Returns the abstract train state. digits uses the real (bundled) data set.
  """
  def lower(config, arg):
    config = shrink_config(config, batch_size=2, num_devices=1)
    preset = arg.split(",")[0]
    dataset = None
    if preset in PRESET_DATA:
      image_shape, num_classes = PRESET_DATA[preset]
      dataset = make_stand_in_dataset(image_shape, num_classes, config.data.num_labeled)
    exp = train.build(config, train.StageInputs(dataset=dataset))
    key = jax.random.key(0)
    state = jax.eval_shape(lambda: train.init_state(exp, key))
    shared, per_step = exp.source.next_inputs(1)
    train.make_step(exp, key).lower(state, shared, per_step, {})
    return state
  return lower



@pytest.fixture
def digits_inputs():
  """config -> (params, batch, apply_fn) for one call of a method's loss_fn on digits.

  `apply_fn(params, x, train, rng)` has the initial batch statistics closed
  over, as the train loop's does.
  """
  def build(config):
    exp = train.build(config)
    state = train.init_state(exp, jax.random.key(0))
    batch = exp.source.batch(exp.source.arrays, None, jax.random.key(1))

    def apply_fn(params, x, is_training, rng):
      return exp.apply_fn(params, state.batch_stats, x, is_training, rng)
    return state.params, batch, apply_fn
  return build
