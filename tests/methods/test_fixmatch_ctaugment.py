"""FixMatch with CTAugment's strong view: the probe pass and the weights in the method state."""

import jax
import jax.numpy as jnp
import numpy as np

from configs import fixmatch as fixmatch_config
from jaxssl.augment import ctaugment
from tests.methods.helpers import abstract_digits_inputs, build_method


def test_probes_go_through_a_separate_eval_mode_pass_and_update_the_weights(shrink):
  config = shrink(fixmatch_config.get_config("digits"), num_devices=1)
  config.unlabeled_ratio = 2
  config.method.strong_augment = "ctaugment"
  method = build_method(config)
  params, batch, apply_fn = abstract_digits_inputs(config)
  extra = method.init_extra(params, num_unlabeled=1)
  np.testing.assert_array_equal(extra["ctaugment"], ctaugment.init_weights())
  assert "marginal" in extra  # the digits preset aligns distributions too

  calls = []

  def counting_apply_fn(params, x, is_training, rng):
    calls.append((x.shape[0], is_training))
    return apply_fn(params, x, is_training, rng)

  _, aux = jax.eval_shape(lambda p: method.loss_fn(p, extra, batch, jax.random.key(0), 0,
                                                   counting_apply_fn), params)
  b, mu_b = config.batch_size, config.unlabeled_ratio * config.batch_size
  assert calls == [(b + 2 * mu_b, True), (b, False)]
  assert aux["probes"]["ops"].shape == (b, ctaugment.NUM_OPS)
  assert aux["probes"]["match"].shape == (b,)

  # update_extra: the probed bins move toward their match, nothing else changes.
  ops = jnp.zeros((b, 2), jnp.int32).at[0].set(jnp.array([3, 7]))
  bins = jnp.zeros((b, 2), jnp.int32).at[0].set(jnp.array([5, 2]))
  probes = {"ops": ops, "bins": bins, "match": jnp.zeros(b).at[0].set(0.5)}
  updated = method.update_extra(extra, params, 0, {"probes": probes,
                                                   "weak_probs": jnp.full((mu_b, 10), 0.1)})
  weights = np.asarray(updated["ctaugment"])
  np.testing.assert_allclose(weights[3, 5], 0.99 + 0.01 * 0.5, rtol=1e-6)
  np.testing.assert_allclose(weights[7, 2], 0.99 + 0.01 * 0.5, rtol=1e-6)
  np.testing.assert_allclose(weights[0, 0], 0.99 ** (2 * b - 2), rtol=1e-5)
  assert (weights != 1.0).sum() == 3
