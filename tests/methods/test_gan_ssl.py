"""GAN-based SSL: the schedules, the generator's feature matching, training, resume, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import gan_ssl as gan_config
from jaxssl import optim, train
from jaxssl.errors import ConfigError
from jaxssl.methods import gan_generator, gan_ssl
from tests.methods.conftest import PRESET_ARGS
from tests.methods.helpers import assert_same_state, build_method, train_and_resume


@pytest.fixture
def config(shrink):
  """The digits config with a tiny discriminator and batch on one device."""
  config = shrink(gan_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 1
  config.method.noise_dim = 8
  return config


def test_linear_tail_by_hand():
  # eta_0 min(3 (1 - k / K), 1) with K = 300: flat to k = 200, then down to 0 at 300.
  for schedule in (optim.linear_tail(0.3, 300), gan_ssl.linear_tail(0.3, 300)):
    np.testing.assert_allclose([schedule(k) for k in (0, 200, 250, 300, 400)],
                               [0.3, 0.3, 0.15, 0.0, 0.0], atol=1e-7)
  config = gan_config.get_config("cifar10")
  assert config.total_steps == config.method.schedule_steps == 1200 * 500
  config.total_steps = 90
  assert config.method.schedule_steps == 90  # follows total_steps unless set itself


def test_generators_shapes_and_output_range():
  z = jnp.zeros((4, 100))
  paper = gan_generator.Generator((32, 32, 3), gan_generator.GENERATORS["improved_gan"])
  params = jax.eval_shape(paper.init, jax.random.key(1), z)["params"]
  assert params["Dense_0"]["kernel"].shape == (100, 4 * 4 * 512)
  assert params["ConvTranspose_2"]["kernel"].shape == (5, 5, 128, 3)
  tiny = gan_generator.Generator((8, 8, 1), gan_generator.GENERATORS["tiny"])
  z = jax.random.uniform(jax.random.key(0), (4, 100))
  variables, images = jax.jit(lambda z: (tiny.init(jax.random.key(1), z),
                                         tiny.apply(tiny.init(jax.random.key(1), z), z)))(z)
  assert images.shape == (4, 8, 8, 1) and bool(((images > 0) & (images < 1)).all())
  assert set(variables) == {"params"}  # batch statistics only: no running averages


def test_generator_step_lowers_feature_matching_against_a_fixed_classifier(digits_inputs,
                                                                           config):
  params, batch, apply_fn = digits_inputs(config)
  method = build_method(config)
  extra = method.init_extra(params, num_unlabeled=1)

  @jax.jit
  def step(extra):
    _, aux = method.loss_fn(params, extra, batch, jax.random.key(2), jnp.int32(0), apply_fn)
    return method.update_extra(extra, params, 0, aux), aux["metrics"]

  # The same z and dropout every call: only the generator moves.
  distances = []
  for _ in range(12):
    new_extra, metrics = step(extra)
    assert not np.array_equal(new_extra["generator"]["params"]["Dense_0"]["kernel"],
                              extra["generator"]["params"]["Dense_0"]["kernel"])
    extra = new_extra
    distances.append(float(metrics["feature_matching_loss"]))
  assert distances[-1] < 0.7 * distances[0]


def test_training_lowers_the_classifier_loss_and_the_generator_resumes(config, tmp_path):
  history, state, resumed = train_and_resume(config, tmp_path, num_steps=8)
  assert history[-1]["supervised_loss"] < history[0]["supervised_loss"]
  assert all(np.isfinite(h["unsupervised_loss"]) and 0 < h["real_probability"] < 1
             for h in history)
  assert set(state.extra["generator"]) == {"params", "opt_state"}
  assert_same_state(state, resumed)


def test_a_model_without_features_and_a_bad_image_size_are_refused(config):
  config.model.kwargs.return_features = False
  exp = train.build(config)
  state = jax.eval_shape(lambda: train.init_state(exp, jax.random.key(0)))
  with pytest.raises(ConfigError, match="return_features=True"):
    train.make_step(exp, jax.random.key(0)).lower(state, *exp.source.next_inputs(1), {})
  config.method.generator = "improved_gan"
  with pytest.raises(ConfigError, match="multiple of 8; the images are 12x12"):
    gan_ssl.make(config.method, num_classes=10, image_shape=(12, 12, 1), flip=False)


@pytest.mark.parametrize("arg", PRESET_ARGS)
def test_every_preset_builds_the_method(arg):
  config = gan_config.get_config(arg)
  assert config.optimizer.b1 == config.method.generator_b1 == 0.5
  build_method(config)
