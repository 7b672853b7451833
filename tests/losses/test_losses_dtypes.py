"""bf16 inputs are computed in float32."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import losses

RNG = np.random.default_rng(0)
LOGITS, OTHER_LOGITS = RNG.normal(scale=3.0, size=(2, 16, 10)).astype(np.float32)
LABELS = RNG.integers(0, 10, size=16)


def probs(logits):
  unnormalized = np.exp(logits - logits.max(-1, keepdims=True))
  return unnormalized / unnormalized.sum(-1, keepdims=True)


# name -> (function of two float arrays, whether those are probabilities).
CASES = {
    "softmax_cross_entropy": (losses.softmax_cross_entropy, False),
    "softmax_cross_entropy_with_integer_labels":
        (lambda a, b: losses.softmax_cross_entropy_with_integer_labels(a, LABELS), False),
    "kl_divergence": (losses.kl_divergence, True),
    "kl_divergence_with_logits": (losses.kl_divergence_with_logits, False),
    "squared_error": (losses.squared_error, True),
    "entropy": (lambda a, b: losses.entropy(a), True),
    "entropy_with_logits": (lambda a, b: losses.entropy_with_logits(a), False),
    "sharpen": (lambda a, b: losses.sharpen(a, 0.5), True),
    "fixmatch_unlabeled_loss": (lambda a, b: losses.fixmatch_unlabeled_loss(a, b, 0.5), False),
    "pseudo_label_loss": (lambda a, b: losses.pseudo_label_loss(a, 0.5), False),
    "soft_distillation_loss":
        (lambda a, b: losses.soft_distillation_loss(a, b, LABELS, 3.0, 0.5), False),
    "hard_distillation_loss": (lambda a, b: losses.hard_distillation_loss(a, b, LABELS), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bf16_inputs_give_float32_outputs(name):
  fn, takes_probs = CASES[name]
  fn = jax.jit(fn)
  a, b = (probs(LOGITS), probs(OTHER_LOGITS)) if takes_probs else (LOGITS, OTHER_LOGITS)
  low = fn(a.astype(jnp.bfloat16), b.astype(jnp.bfloat16))
  assert low.dtype == jnp.float32
  # Same values as float32 arithmetic on the bf16-rounded inputs...
  rounded = fn(a.astype(jnp.bfloat16).astype(jnp.float32),
               b.astype(jnp.bfloat16).astype(jnp.float32))
  np.testing.assert_allclose(low, rounded, rtol=1e-6, atol=1e-7)
  # ...and close to the float32 result.
  np.testing.assert_allclose(low, fn(a, b), rtol=5e-2, atol=5e-2)


def test_bf16_inputs_to_perturbations_and_teachers():
  x = jnp.asarray(RNG.uniform(size=(4, 6)), jnp.bfloat16)
  weights = jnp.asarray(RNG.normal(size=(6, 3)), jnp.bfloat16)
  logits_fn = lambda inputs: (inputs.astype(jnp.bfloat16) @ weights).astype(jnp.float32)
  r = jax.jit(lambda x: losses.virtual_adversarial_perturbation(
      logits_fn, x, jax.random.PRNGKey(0), 2.0, xi=1e-1))(x)
  assert r.dtype == jnp.float32
  np.testing.assert_allclose(np.linalg.norm(r, axis=-1), np.full(4, 2.0), rtol=1e-5)
  targets = jnp.asarray(np.eye(3)[np.arange(4) % 3], jnp.bfloat16)
  r = jax.jit(lambda x: losses.adversarial_perturbation(logits_fn, x, targets, 2.0))(x)
  assert r.dtype == jnp.float32
  ensemble = jax.jit(losses.temporal_ensemble_update)(
      jnp.zeros((4, 3), jnp.bfloat16), jnp.asarray(probs(LOGITS[:4, :3]), jnp.bfloat16), 0.6)
  assert ensemble.dtype == jnp.float32
