"""FixMatch: the loss, its invariants (weak-view mask, no gradient into pseudo-labels), presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import fixmatch as fixmatch_config
from jaxssl import augment, losses
from jaxssl.errors import ConfigError
from jaxssl.methods import common, fixmatch
from tests.methods.conftest import WITH_STL10
from tests.methods.helpers import assert_every_step_moves_the_parameters, build_method

@pytest.fixture
def tiny_config(shrink):
  config = shrink(fixmatch_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 2
  return config


def test_labeled_weak_and_strong_share_one_forward_pass(digits_inputs, tiny_config):
  config = tiny_config
  params, batch, apply_fn = digits_inputs(config)
  batch_sizes = []

  def counting_apply_fn(params, x, is_training, rng):
    batch_sizes.append((x.shape[0], is_training))
    return apply_fn(params, x, is_training, rng)

  method = build_method(config)
  extra = method.init_extra(params, num_unlabeled=1)
  jax.eval_shape(lambda p: method.loss_fn(p, extra, batch, jax.random.key(0), 0,
                                          counting_apply_fn), params)
  mu_b = config.unlabeled_ratio * config.batch_size
  assert batch_sizes == [(config.batch_size + 2 * mu_b, True)]


def test_mask_comes_from_the_weak_view():
  confident, unsure = 10.0 * jax.nn.one_hot(jnp.array([3, 7]), 10), jnp.zeros((2, 10))
  weak_logits = jnp.concatenate([confident, unsure])
  strong_logits = jax.random.normal(jax.random.key(0), (4, 10))
  pseudo_probs = jax.nn.softmax(weak_logits)
  per_example, mask = fixmatch.unlabeled_term(pseudo_probs, strong_logits, 0.95)
  np.testing.assert_array_equal(mask, [1.0, 1.0, 0.0, 0.0])
  expected = losses.softmax_cross_entropy_with_integer_labels(strong_logits[:2],
                                                              jnp.array([3, 7]))
  np.testing.assert_allclose(per_example, [*expected, 0.0, 0.0], rtol=1e-6)
  # A confident strong view does not pass the threshold for an unsure weak view.
  _, mask_swapped = fixmatch.unlabeled_term(jax.nn.softmax(strong_logits), weak_logits, 0.95)
  assert mask_swapped.sum() == 0


def test_no_gradient_flows_into_the_pseudo_label(digits_inputs, tiny_config):
  weak_logits = jnp.concatenate([10.0 * jax.nn.one_hot(jnp.array([1, 2]), 10),
                                 jax.random.normal(jax.random.key(0), (2, 10))])
  strong_logits = jax.random.normal(jax.random.key(1), (4, 10))

  def unlabeled_loss(weak, strong):
    return fixmatch.unlabeled_term(jax.nn.softmax(weak), strong, 0.95)[0].mean()

  weak_grad, strong_grad = jax.grad(unlabeled_loss, argnums=(0, 1))(weak_logits, strong_logits)
  np.testing.assert_array_equal(weak_grad, 0.0)
  assert jnp.abs(strong_grad[:2]).sum() > 0  # the confident examples train the strong view

  # Through the network too: perturbing only the weak view's pixels leaves l_u's gradient 0.
  # (Eval-mode forward passes, so batch statistics do not couple the two views.)
  params, batch, apply_fn = digits_inputs(tiny_config)
  images = jax.random.uniform(jax.random.key(3), (4, 8, 8, 1))

  def loss_of_weak_perturbation(delta):
    weak, _ = apply_fn(params, images + delta, False, None)
    strong, _ = apply_fn(params, images[::-1], False, None)
    return fixmatch.unlabeled_term(jax.nn.softmax(weak), strong, 0.0)[0].mean()

  np.testing.assert_array_equal(
      jax.jit(jax.grad(loss_of_weak_perturbation))(jnp.zeros_like(images)), 0.0)


def test_milder_strong_view_for_small_images(tiny_config):
  config = tiny_config
  images = jax.random.uniform(jax.random.key(0), (6, 8, 8, 1))
  # RandAugment at magnitude 0 and no Cutout leave only the weak flip-and-shift.
  view = jax.jit(lambda key, x: fixmatch.strong_view(key, x, False, 0.0, 0.0))(
      jax.random.key(1), images)
  weak_key = jax.random.split(jax.random.key(1), 3)[0]
  np.testing.assert_allclose(view, augment.weak(weak_key, images, flip=config.data.flip),
                             atol=1e-5)
  full = jax.jit(lambda key, x: fixmatch.strong_view(key, x, False))(jax.random.key(1), images)
  assert full.shape == images.shape and bool(jnp.all((full >= 0) & (full <= 1)))


# Jitted: run op by op, the strong view would compile each of its hundreds of operations.
strong_view = jax.jit(fixmatch.strong_view, static_argnames=(
    "flip", "magnitude", "cutout_fraction", "op_probability", "cutout_min_fraction", "geometry"))


def test_reference_code_strong_view_keeps_the_paper_views_stream(tiny_config):
  """Op probability 1 and Cutout from 0 are the paper's view, the same images for a key."""
  images = jax.random.uniform(jax.random.key(0), (6, 16, 16, 3))
  paper = jax.jit(augment.strong, static_argnames="flip")(jax.random.key(1), images, flip=True)
  np.testing.assert_array_equal(strong_view(jax.random.key(1), images, True), paper)
  reference = strong_view(jax.random.key(1), images, True, op_probability=0.5,
                          cutout_min_fraction=0.5)
  assert not np.array_equal(reference, paper)


def test_reference_geometry_changes_only_the_geometric_ops():
  """The same draws; only images whose ops include a warp differ, and those copy pixels."""
  images = jnp.round(jax.random.uniform(jax.random.key(0), (64, 16, 16, 3)) * 255) / 255
  key = jax.random.key(1)
  indices, parameters = augment.rand_augment.draw_ops(key, 64, magnitude=None)
  centred = jax.jit(augment.rand_augment.apply_ops)(images, indices, parameters)
  reference = jax.jit(lambda *args: augment.rand_augment.apply_ops(
      *args, augment.REFERENCE_GEOMETRY_POLICY, nearest=True))(images, indices, parameters)
  names = list(augment.FIXMATCH_POLICY)
  geometric = np.array([[isinstance(augment.FIXMATCH_POLICY[names[i]], augment.GeometricOp)
                         for i in row] for row in np.asarray(indices)])
  differs = np.any(np.asarray(centred) != np.asarray(reference), axis=(1, 2, 3))
  assert not np.any(differs & ~geometric.any(axis=1))
  assert np.mean(differs[geometric.any(axis=1)]) > 0.8
  view = strong_view(key, images, True, geometry="reference")
  assert view.shape == images.shape and bool(jnp.all((view >= 0) & (view <= 1)))


def test_cutout_bounds_out_of_order_are_refused(tiny_config):
  config = tiny_config
  config.method.cutout_min_fraction = config.method.cutout_fraction + 0.1
  with pytest.raises(ConfigError, match="cutout_min_fraction"):
    build_method(config)


def test_a_few_training_steps_on_digits_with_every_pseudo_label_kept(tiny_config,
                                                                     train_a_few_steps):
  tiny_config.method.threshold = 0.0  # every pseudo-label counts, so l_u is never masked
  logged = train_a_few_steps(tiny_config)
  for metrics in logged:
    np.testing.assert_allclose(metrics["loss"],
                               metrics["supervised_loss"] + metrics["unsupervised_loss"],
                               rtol=1e-6)
    assert metrics["mask_rate"] == 1.0 and metrics["unsupervised_loss"] > 0
    assert 0.0 <= metrics["pseudo_label_accuracy"] <= 1.0
  assert_every_step_moves_the_parameters(logged)


@pytest.mark.parametrize("preset_arg", WITH_STL10)
def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = fixmatch_config.get_config(preset_arg)
  assert config.method.threshold == 0.95 and config.unlabeled_ratio == 7
  state = lowered_step_on_preset(config, preset_arg)
  assert state.step.shape == ()


def test_pseudo_label_accuracy_counts_only_images_with_a_label():
  probs = jax.nn.one_hot(jnp.array([1, 2, 3, 0]), 4)
  true_labels = jnp.array([1, 0, -1, -1])  # -1: an extra unlabeled image, no label
  assert float(common.pseudo_label_accuracy(probs, true_labels)) == 0.5
  mask = jnp.array([1.0, 0.0, 1.0, 1.0])
  assert float(common.pseudo_label_accuracy(probs, true_labels, mask)) == 1.0


def test_distribution_alignment_boosts_the_classes_the_model_under_predicts(digits_inputs,
                                                                             tiny_config):
  config = tiny_config
  config.method.update(distribution_alignment=True, alignment_momentum=0.5)
  method = build_method(config)
  params, batch, apply_fn = digits_inputs(config)
  extra = method.init_extra(params, num_unlabeled=1)
  np.testing.assert_allclose(extra["marginal"], 0.1)
  # A model marginal that over-predicts class 0 halves its pseudo-label share.
  marginal = jnp.full(10, 0.1).at[0].set(0.2)
  marginal = marginal / marginal.sum()
  probs = jnp.full((1, 10), 0.1)
  aligned = losses.distribution_alignment(probs, marginal)
  np.testing.assert_allclose(aligned.sum(-1), 1.0, rtol=1e-6)
  np.testing.assert_allclose(aligned[0, 0] / aligned[0, 2], 0.5, rtol=1e-6)
  # The step's update: p~ <- m p~ + (1 - m) mean(q), q the weak view's predictions.
  _, aux = jax.jit(method.loss_fn, static_argnums=5)(params, extra, batch, jax.random.key(0),
                                                      0, apply_fn)
  updated = method.update_extra(extra, params, 0, aux)["marginal"]
  np.testing.assert_allclose(updated, 0.5 * 0.1 + 0.5 * aux["weak_probs"].mean(0), rtol=1e-6)
