"""DeiT: distillation token and head averaging, patch-size errors, position-embedding resizing."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import models
from jaxssl.errors import ConfigError

NUM_CLASSES = 4


def key(seed):
  # "rbg" keys compile far faster than threefry on CPU; the models don't care.
  return jax.random.key(seed, impl="rbg")


@functools.cache
def micro_vit(image_size=8, distillation_token=False):
  """A micro ViT (patch 2), its params and a jitted `apply(params, images, train)`."""
  model = models.create_model("vit", NUM_CLASSES, size="micro", patch_size=2,
                              image_size=image_size, distillation_token=distillation_token)
  params = jax.jit(lambda k: models.init_variables(
      model, k, (image_size, image_size, 1)))(key(0))["params"]
  apply = jax.jit(lambda p, x, train: model.apply({"params": p}, x, train=train),
                  static_argnums=2)
  return model, params, apply


def test_distillation_token_outputs_two_heads_in_training():
  _, params, apply = micro_vit(distillation_token=True)
  class_logits, distill_logits = apply(params, jax.random.uniform(key(1), (3, 8, 8, 1)), True)
  assert class_logits.shape == distill_logits.shape == (3, NUM_CLASSES)
  assert class_logits.dtype == distill_logits.dtype == jnp.float32
  assert not np.allclose(class_logits, distill_logits)
  assert params["pos_embed_tokens"].shape == (1, 2, 64)


def test_inference_averages_the_two_heads_softmax():
  _, params, apply = micro_vit(distillation_token=True)
  images = jax.random.uniform(key(1), (3, 8, 8, 1))
  # No dropout or drop-path is configured, so train=True gives the same two heads.
  class_logits, distill_logits = apply(params, images, True)
  averaged = (jax.nn.softmax(class_logits) + jax.nn.softmax(distill_logits)) / 2
  log_probs = apply(params, images, False)
  assert log_probs.shape == (3, NUM_CLASSES) and log_probs.dtype == jnp.float32
  np.testing.assert_allclose(jnp.exp(log_probs), averaged, rtol=1e-5, atol=1e-6)


def test_without_distillation_token_returns_class_logits():
  model = models.create_model("vit", NUM_CLASSES, size="micro", patch_size=2)
  variables = jax.eval_shape(lambda k: models.init_variables(model, k, (8, 8, 1)), key(0))
  assert "dist_token" not in variables["params"] and "head_dist" not in variables["params"]
  for train in (True, False):
    logits = jax.eval_shape(lambda v: model.apply(v, jnp.zeros((2, 8, 8, 1)), train=train),
                            variables)
    assert logits.shape == (2, NUM_CLASSES) and logits.dtype == jnp.float32


def test_patch_size_must_divide_image_size():
  with pytest.raises(ConfigError, match="patch_size 3 does not divide image_size 8"):
    models.create_model("vit", 10, size="micro", patch_size=3, image_size=8)
  model = models.create_model("vit", 10, size="micro", patch_size=3)
  with pytest.raises(ConfigError, match="patch_size 3 does not divide image_size 16"):
    jax.eval_shape(lambda k: models.init_variables(model, k, (16, 16, 3)), key(0))


def test_image_size_mismatch_points_to_adapt_vit_params():
  model = models.create_model("vit", 10, size="micro", patch_size=2, image_size=8)
  with pytest.raises(ConfigError, match="adapt_vit_params"):
    jax.eval_shape(lambda k: models.init_variables(model, k, (16, 16, 1)), key(0))


def test_unknown_size_lists_sizes():
  with pytest.raises(ConfigError, match="'base'.*'micro'"):
    models.create_model("vit", 10, size="huge")


def test_resize_to_same_grid_is_identity():
  posemb = jax.random.normal(key(0), (1, 16, 8))
  np.testing.assert_allclose(models.resize_position_embeddings(posemb, 4), posemb, atol=1e-6)


def test_upscaling_reproduces_a_linear_ramp():
  # Channel 0 is 2 * row + 1, channel 1 is 3 - col on the 4x4 grid (patches row-major).
  old, new = 4, 8
  rows, cols = np.meshgrid(np.arange(old), np.arange(old), indexing="ij")
  field = np.stack([2 * rows + 1.0, 3.0 - cols], -1).reshape(1, old * old, 2)
  resized = models.resize_position_embeddings(jnp.asarray(field, jnp.float32), new)
  assert resized.shape == (1, new * new, 2)
  resized = np.asarray(resized).reshape(new, new, 2)
  # Half-pixel centres: new index i samples the old grid at (i + 0.5) * old / new - 0.5.
  coords = (np.arange(new) + 0.5) * old / new - 0.5
  new_rows, new_cols = np.meshgrid(coords, coords, indexing="ij")
  expected = np.stack([2 * new_rows + 1.0, 3.0 - new_cols], -1)
  # Where the 4-tap cubic kernel lies inside the old grid (coordinates 1.25 and
  # 1.75) it reproduces linear functions exactly; at the borders it renormalises
  # over the taps that exist, which pulls values towards the grid's range.
  inner = slice(3, 5)
  np.testing.assert_allclose(resized[inner, inner], expected[inner, inner], atol=1e-5)
  np.testing.assert_allclose(resized[..., 0], expected[..., 0], atol=0.4)  # slope 2
  np.testing.assert_allclose(resized[..., 1], expected[..., 1], atol=0.2)  # slope 1
  assert np.all(np.diff(resized[..., 0], axis=0) > 0)
  assert np.all(np.diff(resized[..., 1], axis=1) < 0)


def test_adapt_vit_params_resizes_grid_only():
  _, params, _ = micro_vit(image_size=8, distillation_token=True)
  adapted = models.adapt_vit_params(params, new_image_size=16, patch_size=2)
  assert adapted["pos_embed_grid"].shape == (1, 64, 64)
  for name in ("pos_embed_tokens", "cls_token", "dist_token", "patch_embed", "head", "head_dist"):
    jax.tree.map(np.testing.assert_array_equal, adapted[name], params[name])
  # The adapted parameters fit a model built for the new resolution.
  big_model = models.create_model("vit", NUM_CLASSES, size="micro", patch_size=2, image_size=16,
                                  distillation_token=True)
  reference = jax.eval_shape(lambda k: models.init_variables(big_model, k, (16, 16, 1)), key(0))
  assert jax.tree.map(jnp.shape, adapted) == jax.tree.map(jnp.shape, reference["params"])
  logits = jax.eval_shape(lambda p: big_model.apply({"params": p}, jnp.zeros((2, 16, 16, 1)),
                                                    train=False), adapted)
  assert logits.shape == (2, NUM_CLASSES)


def test_adapt_vit_params_checks_patch_size():
  _, params, _ = micro_vit(distillation_token=True)
  with pytest.raises(ConfigError, match="patch_size 2 does not divide image_size 15"):
    models.adapt_vit_params(params, new_image_size=15, patch_size=2)
