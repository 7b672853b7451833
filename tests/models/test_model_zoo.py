"""Every registered network: output shapes and dtypes, registry errors, parameter counts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import models
from jaxssl.errors import ConfigError

# name -> (tiny kwargs, image shape): small enough to run on a shared CPU.
TINY = {
    "small_cnn": (dict(width=4), (8, 8, 1)),
    "wrn": (dict(depth=10, width=1), (16, 16, 3)),
    "cnn13": (dict(width=4), (16, 16, 3)),
    "resnet18": (dict(width=4), (16, 16, 3)),
    "resnet34": (dict(width=2), (16, 16, 3)),
    "resnet50": (dict(width=2), (16, 16, 3)),
    "vit": (dict(size="micro", patch_size=2, image_size=8), (8, 8, 1)),
    "gan_discriminator": (dict(width=4), (8, 8, 1)),
}
NUM_CLASSES = 5


def key(seed):
  # "rbg" keys compile far faster than threefry on CPU; the models don't care.
  return jax.random.key(seed, impl="rbg")


def abstract_variables(model, image_shape):
  return jax.eval_shape(lambda k: models.init_variables(model, k, image_shape), key(0))


def test_every_registered_name_has_a_tiny_case():
  assert set(TINY) == set(models.MODEL_NAMES)


# ResNet-34 differs from ResNet-18 only in stage sizes, ResNet-50 in its bottleneck blocks
# (and a run of it costs ~15 s of compiling on 2 cores); the eval_shape tests and the
# parameter counts below cover them. The networks the method tests train and evaluate
# (small_cnn: every method on digits; vit: DeiT; gan_discriminator: GAN-SSL) run there.
RUN_BY_METHOD_TESTS = {"small_cnn", "vit", "gan_discriminator"}


@pytest.mark.parametrize("name", sorted(set(TINY) - {"resnet34", "resnet50"} - RUN_BY_METHOD_TESTS))
def test_forward_shapes_and_dtypes(name):
  kwargs, image_shape = TINY[name]
  model = models.create_model(name, NUM_CLASSES, dropout_rate=0.1, **kwargs)
  apply_fn = models.make_apply_fn(model, mean=[0.5] * image_shape[-1], std=[0.25] * image_shape[-1])

  @jax.jit
  def init_and_apply(init_key, images, dropout_key):
    variables = models.init_variables(model, init_key, image_shape)
    params, batch_stats = variables["params"], variables["batch_stats"]
    train_logits, new_batch_stats = apply_fn(params, batch_stats, images, True, dropout_key)
    eval_logits, _ = apply_fn(params, batch_stats, images, False, None)
    return train_logits, eval_logits, batch_stats, new_batch_stats

  images = jax.random.uniform(key(1), (3, *image_shape))
  train_logits, eval_logits, batch_stats, new_batch_stats = init_and_apply(key(0), images, key(2))
  for logits in (train_logits, eval_logits):
    assert logits.shape == (3, NUM_CLASSES)
    assert logits.dtype == jnp.float32
    assert np.all(np.isfinite(logits))
  assert jax.tree.structure(new_batch_stats) == jax.tree.structure(batch_stats)
  assert batch_stats  # every network run here has batch norm


@pytest.mark.parametrize("name", sorted(TINY))
def test_bf16_compute_keeps_float32_params_and_logits(name):
  kwargs, image_shape = TINY[name]
  model = models.create_model(name, NUM_CLASSES, dtype=jnp.bfloat16, **kwargs)
  variables = abstract_variables(model, image_shape)
  assert set(variables) == {"params", "batch_stats"}
  assert (variables["batch_stats"] == {}) == (name in ("vit", "gan_discriminator"))
  assert {leaf.dtype for leaf in jax.tree.leaves(variables)} == {jnp.dtype(jnp.float32)}
  logits = jax.eval_shape(lambda v, x: model.apply(v, x, train=False), variables,
                          jax.ShapeDtypeStruct((2, *image_shape), jnp.float32))
  assert logits.shape == (2, NUM_CLASSES) and logits.dtype == jnp.float32


def test_bf16_forward_runs_and_is_close_to_fp32():
  kwargs, image_shape = TINY["small_cnn"]
  fp32 = models.create_model("small_cnn", NUM_CLASSES, **kwargs)
  bf16 = models.create_model("small_cnn", NUM_CLASSES, dtype=jnp.bfloat16, **kwargs)

  @jax.jit
  def both(images):
    variables = models.init_variables(fp32, key(0), image_shape)
    return (fp32.apply(variables, images, train=False), bf16.apply(variables, images, train=False))

  reference, logits = both(jax.random.uniform(key(1), (4, *image_shape)))
  assert logits.dtype == jnp.float32
  np.testing.assert_allclose(logits, reference, atol=0.1 * float(jnp.abs(reference).max()))


def test_gan_discriminator_returns_its_pooled_features_in_training_mode():
  model = models.create_model("gan_discriminator", NUM_CLASSES, width=3, return_features=True)
  images = jax.random.uniform(key(1), (2, 32, 32, 3))

  @jax.jit  # one program, not a compile per operation
  def init_and_apply(images):
    variables = models.init_variables(model, key(0), (32, 32, 3))
    return (model.apply(variables, images, train=True, rngs={"dropout": key(2)}),
            model.apply(variables, images, train=False))

  (logits, features), eval_logits = init_and_apply(images)
  assert logits.shape == (2, NUM_CLASSES) and features.shape == (2, 6)
  assert eval_logits.shape == (2, NUM_CLASSES)
  # CIFAR-10's network (w = 96) by hand: 3x3 convolutions 3->96, 2x 96->96, 96->192,
  # 5x 192->192 (one of them valid), 2x 1x1 192->192, dense 192->10, and a weight-norm
  # scale per output channel.
  convs = (27 * 96 + 96) + 2 * (864 * 96 + 96) + (864 * 192 + 192) + 3 * (1728 * 192 + 192)
  expected = convs + 2 * (192 * 192 + 192) + (192 * 10 + 10) + (3 * 96 + 6 * 192 + 10)
  assert param_count("gan_discriminator", 10, (32, 32, 3)) == expected == 1_408_244


def test_resnet_stem_follows_image_size():
  def stem_kernel(stem, image_shape):
    model = models.create_model("resnet18", NUM_CLASSES, width=2, stem=stem)
    return abstract_variables(model, image_shape)["params"]["Conv_0"]["kernel"].shape[:2]

  assert stem_kernel("auto", (32, 32, 3)) == (3, 3)
  assert stem_kernel("auto", (64, 64, 3)) == (7, 7)
  assert stem_kernel("cifar", (96, 96, 3)) == (3, 3)
  assert stem_kernel("imagenet", (32, 32, 3)) == (7, 7)


def test_unknown_model_name_lists_valid_names():
  with pytest.raises(ConfigError, match="valid names: small_cnn, wrn, cnn13, resnet18"):
    models.create_model("wrn28", 10)


def test_unknown_kwarg_lists_accepted_kwargs():
  with pytest.raises(ConfigError, match=r"does not take \['size'\].*'depth'.*'width'"):
    models.create_model("wrn", 10, size="tiny")
  with pytest.raises(ConfigError, match="does not take"):
    models.create_model("resnet18", 10, depth=50)


@pytest.mark.parametrize("name, kwargs, image_shape, message", [
    ("wrn", dict(depth=27), (32, 32, 3), r"6n \+ 4"),
    ("resnet18", dict(stem="tiny"), (32, 32, 3), "stem"),
    ("cnn13", {}, (8, 8, 1), "at least 12x12"),
])
def test_bad_architecture_values_raise_config_error(name, kwargs, image_shape, message):
  with pytest.raises(ConfigError, match=message):
    abstract_variables(models.create_model(name, 10, **kwargs), image_shape)


def test_non_residual_models_ignore_stochastic_depth(caplog):
  model = models.create_model("cnn13", 10, stochastic_depth_rate=0.1)
  assert isinstance(model, models.CNN13)
  assert "ignoring stochastic_depth_rate" in caplog.text


def param_count(name, num_classes, image_shape, **kwargs):
  model = models.create_model(name, num_classes, **kwargs)
  return models.count_params(abstract_variables(model, image_shape)["params"])


def test_param_counts_match_the_papers():
  # WRN-28-2: 1.47M in FixMatch/Oliver et al.; CNN-13: 3.1M; ResNet-18 (CIFAR stem): 11.2M.
  assert param_count("wrn", 10, (32, 32, 3)) == pytest.approx(1.47e6, rel=0.01)
  assert param_count("cnn13", 10, (32, 32, 3)) == pytest.approx(3.1e6, rel=0.01)
  assert param_count("resnet18", 10, (32, 32, 3)) == pytest.approx(11.2e6, rel=0.01)
  # The ImageNet stem reproduces torchvision's exact counts.
  assert param_count("resnet18", 1000, (224, 224, 3)) == 11_689_512
  assert param_count("resnet50", 1000, (224, 224, 3)) == 25_557_032
  # DeiT-S and DeiT-B (Touvron et al. Table 1: 22M, 86M).
  assert param_count("vit", 1000, (224, 224, 3), size="small") == pytest.approx(22.05e6, rel=1e-3)
  assert param_count("vit", 1000, (224, 224, 3), size="base") == pytest.approx(86.57e6, rel=1e-3)
  assert param_count("small_cnn", 10, (8, 8, 1)) < 100_000


def test_deit_tiny_param_count_matches_hand_count():
  dim, hidden, tokens, patches = 192, 768, 1, (224 // 16) ** 2
  patch_embed = 16 * 16 * 3 * dim + dim
  embeddings = dim * tokens + (patches + tokens) * dim   # class token, position embeddings
  block = (2 * 2 * dim                                   # two LayerNorms
           + dim * 3 * dim + 3 * dim + dim * dim + dim   # qkv and output projection
           + dim * hidden + hidden + hidden * dim + dim)  # MLP
  head = 2 * dim + dim * 1000 + 1000                     # final LayerNorm and classifier
  expected = patch_embed + embeddings + 12 * block + head
  assert expected == 5_717_416
  assert param_count("vit", 1000, (224, 224, 3), size="tiny", patch_size=16) == expected
  # The distillation token adds a token, its position embedding and a second head.
  assert param_count("vit", 1000, (224, 224, 3), size="tiny", distillation_token=True) == (
      expected + 2 * dim + dim * 1000 + 1000)
