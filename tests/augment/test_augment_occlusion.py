"""Cutout and random erasing change exactly one rectangle."""
import jax
import numpy as np

from jaxssl import augment

random_erasing = jax.jit(augment.random_erasing)


def _changed_box(before, after):
  """Changed pixels of one numpy [H, W, C] image: (mask, rows, cols); asserts a rectangle."""
  changed = np.any(before != after, axis=-1)
  rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
  box = np.zeros_like(changed)
  if rows.size:
    box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
  np.testing.assert_array_equal(changed, box)
  return changed, rows, cols


def test_cutout_is_a_grey_square_up_to_half_the_side(images, assert_valid_images):
  images = jax.numpy.resize(images, (64, *images.shape[1:]))
  out = jax.jit(augment.cutout)(jax.random.key(0), images)
  assert_valid_images(out, images)
  height, width = images.shape[1:3]
  max_side = round(0.5 * min(height, width))
  sides = []
  for before, after in zip(np.asarray(images), np.asarray(out)):
    changed, rows, cols = _changed_box(before, after)
    assert rows.size <= max_side and cols.size <= max_side
    np.testing.assert_array_equal(after[changed], 0.5)
    touches_border = (not rows.size or rows[0] == 0 or cols[0] == 0
                      or rows[-1] == height - 1 or cols[-1] == width - 1)
    if not touches_border:
      assert rows.size == cols.size, "an unclipped cutout is square"
      sides.append(rows.size)
  assert len(set(sides)) > 1


def test_cutout_with_equal_bounds_always_cuts_that_side(images):
  """The reference code's Cutout: always a square of half the side, clipped at the border."""
  images = jax.numpy.resize(images, (64, *images.shape[1:]))
  out = jax.jit(augment.cutout)(jax.random.key(0), images, min_size_fraction=0.5)
  height, width = images.shape[1:3]
  side = round(0.5 * min(height, width))
  unclipped = 0
  for before, after in zip(np.asarray(images), np.asarray(out)):
    _, rows, cols = _changed_box(before, after)
    assert side // 2 <= rows.size <= side and side // 2 <= cols.size <= side
    unclipped += rows.size == cols.size == side
  assert unclipped > 0


def test_random_erasing_fills_one_box_with_noise(images, assert_valid_images):
  images = jax.numpy.resize(images, (200, *images.shape[1:]))
  out = random_erasing(jax.random.key(0), images, 1.0)
  assert_valid_images(out, images)
  height, width = images.shape[1:3]
  for before, after in zip(np.asarray(images), np.asarray(out)):
    changed, _, _ = _changed_box(before, after)
    assert 1 <= changed.sum() <= round(height * width / 3) + max(height, width)


def test_random_erasing_probability(images):
  images = jax.numpy.resize(images, (200, *images.shape[1:]))
  np.testing.assert_array_equal(random_erasing(jax.random.key(0), images, 0.0), images)
  out = random_erasing(jax.random.key(0), images, 0.25)
  erased = np.any(np.asarray(out) != np.asarray(images), axis=(1, 2, 3)).mean()
  assert 0.15 < erased < 0.35
