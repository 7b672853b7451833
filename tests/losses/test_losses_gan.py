"""GAN-based SSL losses (Salimans et al., 2016) against values worked out by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import losses


def test_implicit_fake_class_terms_by_hand():
  # Z = e^0 + e^0 = 2: D = 2/3. Z = 1 + 3 = 4: D = 4/5.
  logits = jnp.array([[0.0, 0.0], [0.0, np.log(3.0)]])
  np.testing.assert_allclose(losses.real_probability(logits), [2 / 3, 4 / 5], rtol=1e-6)
  # -log D = log((Z + 1) / Z); -log(1 - D) = log(Z + 1).
  np.testing.assert_allclose(losses.gan_real_loss(logits), [np.log(1.5), np.log(1.25)],
                             rtol=1e-6)
  np.testing.assert_allclose(losses.gan_fake_loss(logits), [np.log(3.0), np.log(5.0)],
                             rtol=1e-6)


def test_implicit_fake_class_terms_are_stable_at_extreme_logits():
  logits = jnp.array([[100.0, 100.0], [-100.0, -100.0]], jnp.bfloat16)
  real, fake = losses.gan_real_loss(logits), losses.gan_fake_loss(logits)
  assert real.dtype == jnp.float32
  # s = logsumexp = +-(100 + log 2): softplus(-s) ~ 0 or ~ 100 - log 2, and the converse.
  np.testing.assert_allclose(real, [0.0, 100.0 - np.log(2.0)], atol=1e-5, rtol=1e-5)
  np.testing.assert_allclose(fake, [100.0 + np.log(2.0), 0.0], atol=1e-5, rtol=1e-5)
  grads = jax.grad(lambda l: (losses.gan_real_loss(l) + losses.gan_fake_loss(l)).sum())(
      logits.astype(jnp.float32))
  assert np.isfinite(grads).all()
  # d/dl_k [softplus(-s) + softplus(s)] = softmax_k (sigmoid(s) - sigmoid(-s)) = +-1/2 each.
  np.testing.assert_allclose(grads, [[0.5, 0.5], [-0.5, -0.5]], atol=1e-6)


def test_feature_matching_by_hand():
  real = jnp.array([[1.0, 2.0], [3.0, 4.0]])       # mean (2, 3)
  fake = jnp.array([[0.0, 0.0], [2.0, 2.0], [1.0, 1.0]])  # mean (1, 1)
  np.testing.assert_allclose(losses.feature_matching_loss(real, fake), 5.0, rtol=1e-6)
  np.testing.assert_allclose(losses.feature_matching_loss(real, fake, "l1"), 1.5, rtol=1e-6)
  # d/df_g,i ||m_x - m_g||^2 = -2 (m_x - m_g) / M for every generated row i.
  grad = jax.grad(lambda f: losses.feature_matching_loss(real, f))(fake)
  np.testing.assert_allclose(grad, np.tile([-2 / 3, -4 / 3], (3, 1)), rtol=1e-6)
  assert losses.feature_matching_loss(real, real) == 0.0
  with pytest.raises(ValueError, match="squared_l2"):
    losses.feature_matching_loss(real, fake, "l2")
