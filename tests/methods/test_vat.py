"""VAT: the loss and its options, no gradient into the target, perturbation sizes, BN, presets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import vat as vat_config
from jaxssl.errors import ConfigError
from tests.methods.helpers import assert_every_step_moves_the_parameters, build_method


@pytest.fixture
def config(shrink):
  """The digits config with a tiny model and batch."""
  config = shrink(vat_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 1
  config.method.rampup_steps = 0  # full weight from step 0
  return config


def linear_model(calls):
  """logits = flatten(x) W; records the inputs of the passes that run eagerly.

  Inputs inside `jax.grad` or the power iteration's loop are tracers and are
  not recorded, so in an eager `loss_fn` call the record holds the clean pass
  and each loss's final perturbed pass, in order.
  """
  def apply_fn(params, x, is_training, rng):
    if not isinstance(x, jax.core.Tracer):
      calls.append(np.asarray(x))
    return x.reshape(x.shape[0], -1) @ params["w"], {}
  return apply_fn


def softmax_kl(p_logits, q_logits):
  log_p, log_q = jax.nn.log_softmax(p_logits), jax.nn.log_softmax(q_logits)
  return jnp.sum(jnp.exp(log_p) * (log_p - log_q), -1)


def test_lds_gradient_flows_only_through_the_perturbed_pass(digits_inputs, config):
  # xi above float32 resolution, so the linear model's power iteration is not rounding noise.
  config.method.update(xi=1e-2, epsilon=2.0)
  _, batch, _ = digits_inputs(config)
  params = {"w": 0.5 * jax.random.normal(jax.random.key(0), (64, 10))}
  calls = []
  apply_fn = linear_model(calls)

  def loss(params, weight):
    config.method.max_weight = weight
    return build_method(config).loss_fn(params, {}, batch, jax.random.key(3), 0, apply_fn)[0]

  loss(params, 1.0)
  clean, perturbed = calls
  np.testing.assert_allclose(
      np.linalg.norm((perturbed - clean).reshape(len(clean), -1), axis=-1), 2.0, rtol=1e-5)

  grad = jax.jit(jax.grad(loss), static_argnums=1)
  lds_grad = jax.tree.map(lambda a, b: a - b, grad(params, 1.0), grad(params, 0.0))["w"]
  flat_clean, flat_perturbed = clean.reshape(len(clean), -1), perturbed.reshape(len(clean), -1)

  def lds(w, target_w):
    return softmax_kl(flat_clean @ target_w, flat_perturbed @ w).mean()

  expected = jax.grad(lds)(params["w"], params["w"])
  leaky = jax.grad(lambda w: lds(w, w))(params["w"])
  np.testing.assert_allclose(lds_grad, expected, rtol=1e-4, atol=1e-6)
  assert not np.allclose(lds_grad, leaky, rtol=1e-2, atol=1e-4)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_adversarial_option_perturbs_labeled_images_by_epsilon(norm, digits_inputs, config):
  config.method.update(adversarial=norm, adversarial_epsilon=0.1)
  _, batch, _ = digits_inputs(config)
  params = {"w": jax.random.normal(jax.random.key(0), (64, 10))}
  calls = []
  build_method(config).loss_fn(params, {}, batch, jax.random.key(3), 0, linear_model(calls))
  clean, _, adversarial = calls
  r_adv = (adversarial - clean[:config.batch_size]).reshape(config.batch_size, -1)
  if norm == "l2":
    np.testing.assert_allclose(np.linalg.norm(r_adv, axis=-1), 0.1, rtol=1e-5)
  else:
    np.testing.assert_allclose(np.abs(r_adv), 0.1, rtol=1e-5)


def test_only_the_clean_pass_updates_batch_norm(digits_inputs, config):
  config.method.adversarial = "l2"
  _, batch, _ = digits_inputs(config)
  params = {"w": jax.random.normal(jax.random.key(0), (64, 10))}
  calls = []
  linear = linear_model([])

  def recording_apply_fn(params, x, is_training, rng):
    """The linear model, with its inputs' per-pixel means standing in for batch statistics."""
    assert is_training  # every pass in training mode, as the VAT reference code
    batch_stats = {"mean": x.mean(0)}
    if not isinstance(x, jax.core.Tracer):
      calls.append(batch_stats)
    return linear(params, x, is_training, rng)[0], batch_stats

  _, aux = build_method(config).loss_fn(params, {}, batch, jax.random.key(0), 0,
                                        recording_apply_fn)
  clean, perturbed, adversarial = calls
  for kept, from_clean, other in zip(jax.tree.leaves(aux["batch_stats"]),
                                     jax.tree.leaves(clean), jax.tree.leaves(perturbed)):
    np.testing.assert_array_equal(kept, from_clean)
    assert not np.array_equal(kept, other)
  assert jax.tree.structure(adversarial) == jax.tree.structure(clean)


def test_unknown_adversarial_norm_is_refused(config):
  config.method.adversarial = "l1"
  with pytest.raises(ConfigError, match="adversarial"):
    build_method(config)


def test_a_few_training_steps_on_digits_with_every_option(config, train_a_few_steps):
  config.method.update(entmin=True, adversarial="linf")
  logged = train_a_few_steps(config)
  for metrics in logged:
    assert metrics["unsupervised_loss"] > 0 and metrics["adversarial_loss"] > 0
    np.testing.assert_allclose(
        metrics["loss"],
        metrics["supervised_loss"] + config.method.max_weight * metrics["unsupervised_loss"]
        + config.method.entmin_weight * metrics["entropy_loss"]
        + config.method.adversarial_weight * metrics["adversarial_loss"], rtol=1e-5)
  assert_every_step_moves_the_parameters(logged)


def test_config_builds_its_train_step(preset_arg, lowered_step_on_preset):
  config = vat_config.get_config(preset_arg)
  config.method.entmin = True
  config.method.adversarial = "linf"
  state = lowered_step_on_preset(config, preset_arg)
  assert state.step.shape == ()
