"""RandAugment: ranges of the policy table, identity at magnitude 0, per-example draws."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import augment
from jaxssl.augment import rand_augment

POLICY = augment.FIXMATCH_POLICY
OP_NAMES = list(POLICY)

# Shared compiled functions keep the file fast: RandAugment run eagerly
# dispatches hundreds of small ops.
randaugment = jax.jit(augment.randaugment, static_argnames=("num_ops", "op_probability"))
apply_ops = jax.jit(rand_augment.apply_ops)


def _one_example_per_op(images):
  """The images tiled to one example per op of the policy."""
  return jnp.resize(images, (len(OP_NAMES), *images.shape[1:]))


def test_fixmatch_table_has_the_14_ops():
  assert set(OP_NAMES) == {
      "AutoContrast", "Brightness", "Color", "Contrast", "Equalize", "Identity",
      "Posterize", "Rotate", "Sharpness", "ShearX", "ShearY", "Solarize",
      "TranslateX", "TranslateY"}


@pytest.mark.parametrize("magnitude", [None, 0.9])
def test_shape_dtype_range(magnitude, images, assert_valid_images):
  if magnitude is None:
    out = randaugment(jax.random.key(1), images)
  else:
    out = randaugment(jax.random.key(1), images, magnitude=jnp.float32(magnitude))
  assert_valid_images(out, images)


def test_magnitude_zero_is_identity(images):
  out = randaugment(jax.random.key(1), images, magnitude=jnp.float32(0.0))
  np.testing.assert_allclose(out, images, atol=1e-6)


def test_magnitude_zero_is_identity_for_each_op(images):
  images = _one_example_per_op(images)
  _, identity = rand_augment.draw_ops(jax.random.key(0), len(OP_NAMES), magnitude=0.0)
  second = jnp.full(len(OP_NAMES), OP_NAMES.index("Identity"))
  indices = jnp.stack([jnp.arange(len(OP_NAMES)), second], axis=1)
  out = apply_ops(images, indices, identity)
  for k, name in enumerate(OP_NAMES):
    np.testing.assert_allclose(out[k], images[k], atol=1e-6, err_msg=name)


def test_random_parameters_cover_fixmatch_ranges():
  _, parameters = rand_augment.draw_ops(jax.random.key(0), 4000, num_ops=1)
  parameters = parameters[:, 0]
  for k, (name, op) in enumerate(POLICY.items()):
    drawn = np.asarray(parameters[:, k])
    assert drawn.min() >= op.range.low and drawn.max() <= op.range.high, name
  posterize_bits = np.asarray(parameters[:, OP_NAMES.index("Posterize")])
  assert set(np.unique(posterize_bits)) == {4, 5, 6, 7, 8}
  rotations = np.asarray(parameters[:, OP_NAMES.index("Rotate")])
  assert rotations.min() < -25 and rotations.max() > 25


def test_fixed_magnitude_measures_from_identity():
  _, parameters = rand_augment.draw_ops(jax.random.key(0), 200, num_ops=1, magnitude=0.5)
  parameters = np.asarray(parameters[:, 0])
  column = {name: parameters[:, k] for k, name in enumerate(OP_NAMES)}
  np.testing.assert_allclose(column["Brightness"], 1 - 0.5 * 0.95)
  np.testing.assert_allclose(column["Solarize"], 0.5)
  np.testing.assert_allclose(column["Posterize"], 6)
  np.testing.assert_allclose(column["Equalize"], 0.5)
  np.testing.assert_allclose(np.abs(column["Rotate"]), 15)
  assert (column["Rotate"] < 0).any() and (column["Rotate"] > 0).any()


def test_op_probability_keeps_each_slot_that_often():
  """The reference code's RandAugment: each drawn op applied with probability 0.5."""
  _, always = rand_augment.draw_ops(jax.random.key(0), 4000)
  indices, half = rand_augment.draw_ops(jax.random.key(0), 4000, op_probability=0.5)
  identity = np.array([op.range.identity for op in POLICY.values()])
  skipped = np.all(np.asarray(half) == identity, axis=-1)
  assert abs(skipped.mean() - 0.5) < 0.03
  kept = ~skipped
  np.testing.assert_array_equal(np.asarray(half)[kept], np.asarray(always)[kept])
  _, never = rand_augment.draw_ops(jax.random.key(0), 10, op_probability=0.0)
  assert np.all(np.asarray(never) == identity)
  del indices


def test_op_probability_zero_leaves_images_unchanged(images):
  out = randaugment(jax.random.key(1), images, op_probability=0.0)
  np.testing.assert_allclose(out, images, atol=1e-6)


def test_same_key_same_output_and_new_key_new_output(images):
  first = randaugment(jax.random.key(3), images)
  np.testing.assert_array_equal(first, randaugment(jax.random.key(3), images))
  assert not np.allclose(first, randaugment(jax.random.key(4), images))


def test_examples_draw_different_ops(images):
  indices, _ = rand_augment.draw_ops(jax.random.key(0), 64)
  assert indices.shape == (64, 2)
  assert len(np.unique(np.asarray(indices[:, 0]))) > 5
  repeated = jnp.broadcast_to(images[:1], images.shape)
  out = randaugment(jax.random.key(2), repeated)
  assert len({np.asarray(image).tobytes() for image in out}) > 1


def test_ops_apply_as_drawn():
  images = _one_example_per_op(jax.random.uniform(jax.random.key(1), (1, 16, 16, 3)))
  column = {name: k for k, name in enumerate(OP_NAMES)}
  indices = jnp.zeros((len(OP_NAMES), 2), jnp.int32)
  indices = indices.at[0].set(jnp.array([column["Solarize"], column["Identity"]]))
  indices = indices.at[1].set(jnp.array([column["TranslateX"], column["Brightness"]]))
  parameters = jnp.zeros((len(OP_NAMES), 2, len(OP_NAMES)))
  parameters = parameters.at[0, 0, column["Solarize"]].set(0.5)
  parameters = parameters.at[1, 0, column["TranslateX"]].set(0.25)
  parameters = parameters.at[1, 1, column["Brightness"]].set(0.5)
  out = apply_ops(images, indices, parameters)
  np.testing.assert_allclose(out[0], augment.solarize(images[0], 0.5), atol=1e-6)
  expected = augment.brightness(augment.translate_x(images[1], 4), 0.5)
  np.testing.assert_allclose(out[1], expected, atol=1e-6)


def test_custom_policy_is_a_table():
  policy = {"Invert": augment.ColourOp(lambda image, strength: image + strength * (1 - 2 * image),
                                       augment.Range(0.0, 1.0, 1.0))}
  images = jax.random.uniform(jax.random.key(1), (3, 8, 8, 1))
  out = jax.jit(lambda key, x: augment.randaugment(key, x, num_ops=1, policy=policy))(
      jax.random.key(0), images)
  np.testing.assert_allclose(out, 1 - images, atol=1e-6)
