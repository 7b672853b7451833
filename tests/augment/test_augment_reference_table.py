"""FixMatch's augmentation against the paper: RandAugment ranges, Cutout size, weak shift.

The reference is FixMatch's Table 12 (Sohn et al., 2020, supplementary),
copied here by hand rather than from the code, so a change of a range in
`jaxssl.augment` fails these tests.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import augment
from jaxssl.augment import rand_augment

# Op -> (low, high) of its parameter, or None for an op without one.
FIXMATCH_TABLE_12 = {
    "AutoContrast": None,
    "Brightness": (0.05, 0.95),
    "Color": (0.05, 0.95),
    "Contrast": (0.05, 0.95),
    "Equalize": None,
    "Identity": None,
    "Posterize": (4, 8),  # bits, whole numbers
    "Rotate": (-30.0, 30.0),  # degrees
    "Sharpness": (0.05, 0.95),
    "ShearX": (-0.3, 0.3),
    "ShearY": (-0.3, 0.3),
    "Solarize": (0.0, 1.0),
    "TranslateX": (-0.3, 0.3),  # fraction of the image width
    "TranslateY": (-0.3, 0.3),  # fraction of the image height
}
INTEGER_OPS = {"Posterize"}
CUTOUT_MAX_SIDE_FRACTION = 0.5
WEAK_MAX_SHIFT_FRACTION = 0.125

# Draws near a range end: within this fraction of the range width.
END_TOLERANCE = 0.03


def test_policy_has_the_ops_and_ranges_of_table_12():
  policy = augment.FIXMATCH_POLICY
  assert sorted(policy) == sorted(FIXMATCH_TABLE_12)
  for name, reference in FIXMATCH_TABLE_12.items():
    op_range = policy[name].range
    if reference is None:
      # No parameter: the op is applied in full (strength 1) whenever drawn.
      assert (op_range.low, op_range.high) == (1.0, 1.0), name
    else:
      assert (op_range.low, op_range.high) == reference, name
    assert op_range.integer == (name in INTEGER_OPS), name


def test_drawn_parameters_cover_each_range():
  # 2,000 images x 2 ops: 4,000 draws per op. A range end is missed by 3% of
  # the width with probability 0.97^4000, about 1e-53.
  _, parameters = rand_augment.draw_ops(jax.random.key(0), 2000, magnitude=None)
  parameters = np.asarray(parameters)
  for k, (name, reference) in enumerate(FIXMATCH_TABLE_12.items()):
    drawn = parameters[..., k].ravel()
    if reference is None:
      np.testing.assert_array_equal(drawn, 1.0, err_msg=name)
      continue
    low, high = reference
    tolerance = END_TOLERANCE * (high - low)
    assert low <= drawn.min() <= low + tolerance, (name, drawn.min())
    assert high - tolerance <= drawn.max() <= high, (name, drawn.max())
    # Uniform: the mean is the midpoint, to 3% of the width (about 6 standard errors).
    assert abs(drawn.mean() - (low + high) / 2) <= tolerance, (name, drawn.mean())


def test_posterize_draws_every_bit_depth_4_to_8_about_equally():
  _, parameters = rand_augment.draw_ops(jax.random.key(1), 2000, magnitude=None)
  bits = np.asarray(parameters[..., list(FIXMATCH_TABLE_12).index("Posterize")]).ravel()
  np.testing.assert_array_equal(bits, np.round(bits))
  values, counts = np.unique(bits, return_counts=True)
  np.testing.assert_array_equal(values, [4, 5, 6, 7, 8])
  # 800 expected of each; the standard deviation of a count is about 25.
  assert counts.min() > 700 and counts.max() < 900, counts


def _expected_cutout_area_fraction(max_side_fraction):
  """E[area of the square inside the image] / image area, for a centre uniform over the image.

  In units of the image side, a square of side s centred at c ~ U[0, 1] keeps
  the length of [c - s/2, c + s/2] inside [0, 1]: s when c is at least s/2
  from both borders, c + s/2 (mean 3s/4) within s/2 of a border, so s - s^2/4
  on average. Rows and columns of the centre are independent, so given s the
  area is (s - s^2/4)^2 = s^2 - s^3/2 + s^4/16, and with s ~ U[0, a]:
    E[area] = a^2/3 - a^3/8 + a^4/80   (0.06849 for a = 0.5; 0.0833 unclipped).
  Whole-pixel sides and centres move this by 0.2% at 32x32 (summed exactly
  over the discrete sides and centres).
  """
  a = max_side_fraction
  return a**2 / 3 - a**3 / 8 + a**4 / 80


def test_cutout_side_is_up_to_half_the_image():
  num_images, size = 10000, 32
  ones = jnp.ones((num_images, size, size, 1))
  out = np.asarray(jax.jit(augment.cutout)(jax.random.key(0), ones, fill=0.5))[..., 0]
  filled = out == 0.5
  assert np.all(filled | (out == 1.0))
  rows_filled = filled.any(axis=2).sum(axis=1)
  cols_filled = filled.any(axis=1).sum(axis=1)
  np.testing.assert_array_equal(filled.sum(axis=(1, 2)), rows_filled * cols_filled,
                                err_msg="the filled region is not one rectangle")
  sides = np.maximum(rows_filled, cols_filled)
  max_side = CUTOUT_MAX_SIDE_FRACTION * size
  assert sides.max() <= max_side + 1
  assert sides.max() >= max_side - 1
  assert sides.min() <= 1
  # The area fraction has a standard deviation of about 0.062, so its mean
  # over 10,000 images one of 0.00062: 5% of 0.0685 is 5.5 of those. Sides up
  # to 0.45 of the image move the mean by -18%, boxes kept whole inside the
  # image by +22%.
  area = filled.mean(axis=(1, 2))
  expected = _expected_cutout_area_fraction(CUTOUT_MAX_SIDE_FRACTION)
  np.testing.assert_allclose(area.mean(), expected, rtol=0.05)


def test_weak_shift_moves_a_pixel_by_every_offset_up_to_an_eighth_of_the_side():
  num_images, size, centre = 1000, 32, 16
  max_shift = round(WEAK_MAX_SHIFT_FRACTION * size)  # 4 pixels
  images = jnp.zeros((num_images, size, size, 1)).at[:, centre, centre].set(1.0)
  # One key, but each image of the batch draws its own shift.
  out = np.asarray(jax.jit(augment.weak, static_argnames="flip")(
      jax.random.key(0), images, flip=False))[..., 0]
  # Reflect padding cannot bring the pixel back in: it is 12 pixels from any border.
  assert np.all(out.reshape(num_images, -1).sum(axis=1) == 1.0)
  rows, cols = np.unravel_index(out.reshape(num_images, -1).argmax(axis=1), (size, size))
  offsets = set(range(-max_shift, max_shift + 1))
  assert set(rows - centre) == offsets
  assert set(cols - centre) == offsets
