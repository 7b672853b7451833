"""CTAugment: bins drawn in proportion to their weights, the probe update, valid images."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import augment
from jaxssl.augment import ctaugment

OPS = ctaugment.OP_NAMES
ROTATE = OPS.index("Rotate")


def test_bins_are_drawn_in_proportion_to_their_weights():
  weights = np.ones((len(OPS), ctaugment.MAX_BINS), np.float32)
  # Rotate: bins 1 and 2 at about half the top weight (not drawn: below 0.8), bins 3 and 4
  # at 0.9 and 0.85 of it (drawn), the rest 0 (not drawn).
  weights[ROTATE] = 0.0
  weights[ROTATE, :5] = [1.0, 0.5, 0.5, 0.9, 0.85]
  probabilities = np.asarray(jax.jit(ctaugment.bin_probabilities)(weights))
  shifted = np.array([1.01, 0.91, 0.86])
  expected = np.zeros(ctaugment.MAX_BINS)
  expected[[0, 3, 4]] = shifted / shifted.sum()
  np.testing.assert_allclose(probabilities[ROTATE], expected, rtol=1e-6)
  # Posterize has 8 bins, Identity 1: nothing beyond them.
  np.testing.assert_allclose(probabilities[OPS.index("Posterize")][:8], 1 / 8, rtol=1e-6)
  assert probabilities[OPS.index("Posterize")][8:].sum() == 0
  np.testing.assert_allclose(probabilities[OPS.index("Identity")][0], 1.0)

  ops, bins, magnitudes = jax.jit(ctaugment.draw, static_argnums=1)(
      jax.random.key(0), 40_000, probabilities)
  ops, bins, magnitudes = (np.asarray(a).ravel() for a in (ops, bins, magnitudes))
  assert abs(np.mean(ops == ROTATE) - 1 / len(OPS)) < 0.01  # ops uniform
  rotate_bins = bins[ops == ROTATE]
  frequencies = np.bincount(rotate_bins, minlength=ctaugment.MAX_BINS) / rotate_bins.size
  # ~5,000 draws: a standard error below 0.007 per bin.
  np.testing.assert_allclose(frequencies, expected, atol=0.025)
  # Magnitudes fall inside their bin: [k / 17, (k + 1) / 17).
  rotate_magnitudes = magnitudes[ops == ROTATE]
  np.testing.assert_array_equal(np.floor(rotate_magnitudes * 17), rotate_bins)
  posterize = ops == OPS.index("Posterize")
  assert bins[posterize].max() == 7 and magnitudes[posterize].max() < 1.0


def test_update_is_the_sequential_rule_in_closed_form():
  weights = np.ones((len(OPS), ctaugment.MAX_BINS), np.float32)
  weights[ROTATE, 2] = 0.5
  ops = np.array([[ROTATE, 0], [ROTATE, ROTATE], [1, ROTATE]])
  bins = np.array([[2, 4], [2, 2], [0, 5]])
  omega = np.array([0.2, 0.9, 0.6], np.float32)
  updated = jax.jit(ctaugment.update_weights)(weights, ops, bins, omega)
  expected = np.array(weights)
  for n in range(3):  # probe by probe, op by op
    for k in range(2):
      cell = (int(ops[n, k]), int(bins[n, k]))
      expected[cell] = 0.99 * expected[cell] + 0.01 * float(omega[n])
  np.testing.assert_allclose(updated, expected, rtol=1e-6)
  assert (np.asarray(updated) != weights).sum() == 4


def test_weights_move_toward_the_bins_whose_probes_are_classified_correctly():
  # Made-up probe outcomes: a probe with Rotate in bins 0-7 is classified right
  # (p = one-hot, omega = 1), with Rotate in bins 8-16 wrong (all mass on another class,
  # omega = 0); probes without Rotate get p = (0.5, 0.25, 0.25), omega = 0.5.
  num_probes, labels = 256, np.zeros(256, np.int32)
  right, wrong, unsure = np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.25, 0.25]], np.float32)
  np.testing.assert_allclose(ctaugment.match(np.stack([right, wrong, unsure]), labels[:3]),
                             [1.0, 0.0, 0.5], rtol=1e-6)

  def step(index, weights):
    # The probe's draw (equal weights: every bin equally likely), without the images.
    ops, bins, _ = ctaugment.draw(jax.random.fold_in(jax.random.key(0), index), num_probes,
                                  ctaugment.bin_probabilities(ctaugment.init_weights()))
    rotate = ops == ROTATE
    probs = jnp.where(jnp.any(rotate & (bins >= 8), axis=1)[:, None], wrong,
                      jnp.where(jnp.any(rotate, axis=1)[:, None], right, unsure))
    return ctaugment.update_weights(weights, ops, bins, ctaugment.match(probs, labels))

  weights = jax.jit(lambda: jax.lax.fori_loop(0, 100, step, ctaugment.init_weights()))()
  weights = np.asarray(weights)
  rotate = weights[ROTATE]
  assert rotate[:8].min() > 0.8 and rotate[8:].max() < 0.5
  others = weights[OPS.index("Brightness")]
  assert 0.5 < others.min() and others.max() < 0.9  # pulled toward 0.5 (some probes had Rotate)
  probabilities = np.asarray(ctaugment.bin_probabilities(weights))
  assert probabilities[ROTATE, 8:].sum() == 0  # the magnitudes that fool the model: not drawn
  np.testing.assert_allclose(probabilities[ROTATE, :8].sum(), 1.0, rtol=1e-6)


def test_every_op_at_every_bin_gives_a_valid_image(assert_valid_images):
  images = jax.random.uniform(jax.random.key(0), (1, 8, 8, 3))
  cells = [(k, b, edge) for k in range(len(OPS)) for b in range(ctaugment.NUM_BINS[k])
           for edge in (0.0, 0.999)]
  identity = OPS.index("Identity")
  ops = jnp.array([[k, identity] for k, _, _ in cells])
  magnitudes = jnp.array([[(b + edge) / ctaugment.NUM_BINS[k], 0.0] for k, b, edge in cells])
  tiled = jnp.broadcast_to(images, (len(cells), *images.shape[1:]))
  out = jax.jit(ctaugment.apply)(tiled, ops, magnitudes)
  assert_valid_images(out, tiled)
  # The table's ends: Rotate -45 degrees at magnitude 0, +45 at 1; Posterize 1 bit at 0.
  at = {(k, b, edge): n for n, (k, b, edge) in enumerate(cells)}
  rotate = jax.jit(augment.rotate)
  np.testing.assert_allclose(out[at[ROTATE, 0, 0.0]], rotate(images[0], -45.0), atol=1e-5)
  np.testing.assert_allclose(out[at[ROTATE, 16, 0.999]],
                             rotate(images[0], 45.0 * (2 * (16.999 / 17) - 1)), atol=1e-4)
  posterize = OPS.index("Posterize")
  np.testing.assert_allclose(out[at[posterize, 0, 0.0]], augment.posterize(images[0], 1),
                             atol=1e-6)
