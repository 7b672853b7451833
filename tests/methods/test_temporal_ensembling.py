"""Temporal Ensembling: bias-corrected targets, unseen examples, duplicate indices, checkpoints."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import temporal_ensembling as te_config
from jaxssl import train
from jaxssl.checkpointing import Checkpointer
from jaxssl.methods import common, make_method
from jaxssl.methods import temporal_ensembling as te
from tests.methods.helpers import build_method

ALPHA = 0.6


@pytest.fixture
def config(shrink):
  """The digits config with a tiny model and batch."""
  config = shrink(te_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 2
  config.method.rampup_steps = 0  # full weight from step 0
  return config


def three_class_method(config):
  return make_method(config.method, num_classes=3, image_shape=(8, 8, 1), flip=False)


def fresh_extra(config, num_unlabeled=6):
  return three_class_method(config).init_extra(None, num_unlabeled=num_unlabeled)


def update(extra, index, probs, config):
  aux = {"unlabeled_index": jnp.asarray(index), "unlabeled_probs": jnp.asarray(probs)}
  # Jitted: run op by op, each call would compile every operation inside it separately.
  return jax.jit(three_class_method(config).update_extra)(extra, None, 0, aux)


ensemble_targets = jax.jit(te.ensemble_targets)


def test_targets_are_bias_corrected(config):
  z = jnp.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
  extra = update(fresh_extra(config), [1, 4], z, config)
  targets, seen = ensemble_targets(extra, jnp.array([1, 4, 0]), ALPHA)
  # One update with z: Z = (1 - alpha) z, and Z / (1 - alpha^1) = z.
  np.testing.assert_allclose(extra["ensemble"][1], (1 - ALPHA) * z[0], rtol=1e-6)
  np.testing.assert_allclose(targets[:2], z, rtol=1e-6)
  np.testing.assert_array_equal(seen, [True, True, False])
  # Three updates with the same z still give z; with a new z' the target is the
  # bias-corrected average ((1 - alpha) z' + alpha (1 - alpha) z) / (1 - alpha^2).
  twice = update(update(extra, [1, 4], z, config), [1, 4], z, config)
  np.testing.assert_allclose(ensemble_targets(twice, jnp.array([1, 4]), ALPHA)[0], z,
                             rtol=1e-6)
  z_new = z[::-1]
  mixed = update(extra, [1, 4], z_new, config)
  expected = ((1 - ALPHA) * z_new + ALPHA * (1 - ALPHA) * z) / (1 - ALPHA**2)
  np.testing.assert_allclose(ensemble_targets(mixed, jnp.array([1, 4]), ALPHA)[0],
                             expected, rtol=1e-6)
  np.testing.assert_array_equal(mixed["updates"], [0, 2, 0, 0, 2, 0])


def test_duplicate_indices_update_once_from_the_first_occurrence(config):
  probs = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
  index = [3, 5, 3, 3]
  extra = update(fresh_extra(config), index, probs, config)
  np.testing.assert_array_equal(extra["updates"], [0, 0, 0, 1, 0, 1])
  np.testing.assert_allclose(ensemble_targets(extra, jnp.array([3, 5]), ALPHA)[0],
                             probs[:2], rtol=1e-6)
  np.testing.assert_array_equal(common.first_occurrences(jnp.array([2, 0, 2, 1, 0])),
                                [True, True, False, True, False])


def test_unseen_examples_get_no_consistency(digits_inputs, config):
  params, batch, apply_fn = digits_inputs(config)
  method = build_method(config)
  extra = method.init_extra(params, num_unlabeled=int(batch["unlabeled_index"].max()) + 1)

  @jax.jit
  def loss_and_grad(params, extra):
    return jax.value_and_grad(method.loss_fn, has_aux=True)(
        params, extra, batch, jax.random.key(2), jnp.int32(0), apply_fn)

  (loss, aux), _ = loss_and_grad(params, extra)
  assert aux["metrics"]["unsupervised_loss"] == 0.0 and aux["metrics"]["ensemble_coverage"] == 0
  np.testing.assert_allclose(loss, aux["metrics"]["supervised_loss"], rtol=1e-6)

  # Once the batch's examples have a (uniform) target, the consistency is on.
  seen = method.update_extra(extra, params, 0, {
      "unlabeled_index": batch["unlabeled_index"],
      "unlabeled_probs": jnp.full((len(batch["unlabeled_index"]), 10), 0.1)})
  (loss, aux), grads = loss_and_grad(params, seen)
  metrics = aux["metrics"]
  assert np.isfinite(loss) and metrics["unsupervised_loss"] > 0
  assert metrics["ensemble_coverage"] == 1.0
  np.testing.assert_allclose(
      loss, metrics["supervised_loss"] + config.method.max_weight * metrics["unsupervised_loss"],
      rtol=1e-6)
  assert sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads)) > 0
  np.testing.assert_array_equal(aux["unlabeled_index"], batch["unlabeled_index"])


def test_ensemble_trains_and_is_checkpointed(tmp_path, config, train_a_few_steps):
  train_a_few_steps(config)

  exp = train.build(config)
  template = train.init_state(exp, jax.random.key(1))
  extra = Checkpointer(str(tmp_path), 3).restore(template).extra
  updates = np.asarray(extra["updates"])
  drawn = 4 * config.batch_size * config.unlabeled_ratio
  assert 0 < updates.sum() <= drawn and updates.max() <= 4
  targets, seen = ensemble_targets(extra, jnp.arange(len(updates)), ALPHA)
  np.testing.assert_array_equal(seen, updates > 0)
  np.testing.assert_allclose(targets[updates > 0].sum(-1), 1.0, rtol=1e-5)


def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = te_config.get_config(preset_arg)
  assert config.method.ensemble_momentum == ALPHA
  state = lowered_step_on_preset(config, preset_arg)
  assert state.extra["ensemble"].shape[1] == config.data.num_classes
  assert state.extra["updates"].shape == state.extra["ensemble"].shape[:1]
