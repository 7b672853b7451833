"""CTAugment (Berthelot et al., 2020, ReMixMatch, Sec. 3.2.2 and App. C): learned magnitudes.

Each op's parameter comes from a magnitude v in [0, 1] (mapped linearly onto
its `Range`, integer ranges in equal cells, as RandAugment's random draws).
[0, 1] is cut into equal bins, each with a weight w that starts at 1:

  op        parameter at magnitude v        bins
  AutoContrast, Equalize, Invert, Smooth: blend strength v            17
  Brightness, Color, Contrast, Sharpness: factor 0.1 + 1.9 v          17
  Posterize: bits 1 + floor(8 v)                                      8
  Rotate: (2 v - 1) 45 degrees                                        17
  ShearX, ShearY: (2 v - 1) 0.3                                       17
  Solarize: threshold v                                               17
  TranslateX, TranslateY: (2 v - 1) 0.3 of the side                   17
  Identity                                                            1

(the reference code's table, libml/ctaugment.py of google-research/remixmatch,
without Blur, Rescale and Cutout-as-an-op, which have no op here; Cutout
follows every strong view anyway). Translations are a fraction of the side as
the paper describes them; the reference code passes (2 v - 1) 0.3 to PIL's
affine transform as pixels, which under its nearest-pixel sampling leaves
the image unchanged. Weights are one array [16 ops, 17 bins],
the bins past an op's count unused: device state that a method keeps in its
`extra` and updates inside the compiled step.

Strong view (`augment`): per image, 2 ops drawn uniformly (with
replacement); for each a bin drawn with probability proportional to

  p_i = (w_i + 1 - rho) / max_j (w_j + 1 - rho),   set to 0 where p_i < 0.8,

and v uniform within the bin. The threshold is relative to the op's largest
weight, as in the reference code, so some bin can always be drawn.

Probe (`probe`): a labeled image with 2 uniform ops at uniform magnitudes,
classified by the model; the match of its prediction p with the one-hot label
y, omega = 1 - (1/2) sum_c |p_c - y_c| in [0, 1], updates each bin used,

  w <- rho w + (1 - rho) omega,   rho = 0.99,

image by image, op by op (`update_weights`). The paper writes the match with
1/(2L) for L classes; the reference code's 1/2 is used here, since with 1/(2L)
omega never drops below 1 - 1/L and no bin would ever fall under 0.8.
"""

import jax
import jax.numpy as jnp

from jaxssl.augment import colour, rand_augment
from jaxssl.augment.draws import integers
from jaxssl.augment.rand_augment import FIXMATCH_POLICY, ColourOp, Range

DECAY = 0.99      # rho
THRESHOLD = 0.8   # bins below this fraction of the op's largest weight are not drawn
NUM_OPS = 2       # ops per image
MAX_BINS = 17

_STRENGTH = Range(identity=0.0, low=0.0, high=1.0)
_ENHANCE = Range(identity=1.0, low=0.1, high=2.0)
_SHIFT = Range(identity=0.0, low=-0.3, high=0.3)


def _invert(image):
  return 1.0 - image


def _smooth(image, strength):
  """A blend toward PIL's SMOOTH filter: Sharpness below 1 is exactly that blend."""
  return colour.sharpness(image, 1.0 - strength)


POLICY = {
    "AutoContrast": ColourOp(rand_augment._with_strength(colour.autocontrast), _STRENGTH),
    "Brightness": ColourOp(colour.brightness, _ENHANCE),
    "Color": ColourOp(colour.color, _ENHANCE),
    "Contrast": ColourOp(colour.contrast, _ENHANCE),
    "Equalize": ColourOp(rand_augment._with_strength(colour.equalize), _STRENGTH),
    "Identity": FIXMATCH_POLICY["Identity"],
    "Invert": ColourOp(rand_augment._with_strength(_invert), _STRENGTH),
    "Posterize": ColourOp(colour.posterize, Range(8, 1, 8, integer=True)),
    "Rotate": FIXMATCH_POLICY["Rotate"]._replace(range=Range(0.0, -45.0, 45.0)),
    "Sharpness": ColourOp(colour.sharpness, _ENHANCE),
    "ShearX": FIXMATCH_POLICY["ShearX"]._replace(range=_SHIFT),
    "ShearY": FIXMATCH_POLICY["ShearY"]._replace(range=_SHIFT),
    "Smooth": ColourOp(_smooth, _STRENGTH),
    "Solarize": ColourOp(colour.solarize, Range(1.0, 0.0, 1.0)),
    "TranslateX": FIXMATCH_POLICY["TranslateX"]._replace(range=_SHIFT),
    "TranslateY": FIXMATCH_POLICY["TranslateY"]._replace(range=_SHIFT),
}
OP_NAMES = tuple(POLICY)
NUM_BINS = tuple({"Posterize": 8, "Identity": 1}.get(name, MAX_BINS) for name in OP_NAMES)


def _valid_bins():
  """Boolean [ops, MAX_BINS]: the bins each op has."""
  return jnp.arange(MAX_BINS)[None, :] < jnp.array(NUM_BINS)[:, None]


def init_weights() -> jax.Array:
  """The weights before any probe: 1 for every bin, float32 [ops, MAX_BINS]."""
  return jnp.ones((len(OP_NAMES), MAX_BINS), jnp.float32)


def bin_probabilities(weights, decay=DECAY, threshold=THRESHOLD) -> jax.Array:
  """Each op's distribution over its bins [ops, MAX_BINS] (see the module docstring)."""
  valid = _valid_bins()
  shifted = jnp.where(valid, weights + (1.0 - decay), 0.0)
  relative = shifted / jnp.max(shifted, axis=1, keepdims=True)
  kept = jnp.where(relative >= threshold, relative, 0.0)
  return kept / jnp.sum(kept, axis=1, keepdims=True)


def draw(key, num_images, probabilities, num_ops=NUM_OPS):
  """Ops uniform, bins from `probabilities` [ops, MAX_BINS], magnitudes uniform in the bin.

  Returns op indices, bin indices (int32) and magnitudes (float32), each [N, num_ops].
  """
  uniforms = jax.random.uniform(key, (num_images, num_ops, 3))
  ops = integers(uniforms[..., 0], 0, len(OP_NAMES))
  op_probabilities = probabilities[ops]                           # [N, num_ops, MAX_BINS]
  cumulative = jnp.cumsum(op_probabilities, axis=-1)
  target = uniforms[..., 1:2] * cumulative[..., -1:]
  # The first bin whose cumulative probability exceeds the target; a zero-probability
  # bin never is, and float rounding at the top falls back to the last drawable bin.
  last_drawable = MAX_BINS - 1 - jnp.argmax(op_probabilities[..., ::-1] > 0, axis=-1)
  bins = jnp.minimum(jnp.sum(cumulative <= target, axis=-1), last_drawable).astype(jnp.int32)
  magnitudes = (bins + uniforms[..., 2]) / jnp.array(NUM_BINS, jnp.float32)[ops]
  return ops, bins, magnitudes


def apply(images, ops, magnitudes):
  """Applies ops [N, num_ops] at magnitudes [N, num_ops] to images [N, H, W, C].

  The magnitudes map onto each op's `Range`; the ops run as RandAugment's do
  (`rand_augment.apply_ops`: geometric ops as one warp, then colour ops).
  """
  ranges = [op.range for op in POLICY.values()]
  per_op = jnp.broadcast_to(magnitudes[..., None], (*magnitudes.shape, len(ranges)))
  parameters = rand_augment._parameters(per_op, ranges, None)
  return rand_augment.apply_ops(images, ops, parameters, POLICY)


def augment(key, images, weights, decay=DECAY, threshold=THRESHOLD):
  """CTAugment's ops on float images [N, H, W, C]: 2 ops per image, bins drawn from `weights`."""
  ops, _, magnitudes = draw(key, images.shape[0], bin_probabilities(weights, decay, threshold))
  return apply(images, ops, magnitudes)


def probe(key, images):
  """A probe view of each image: 2 uniform ops at uniform magnitudes (every bin equally likely).

  Returns (images, ops [N, 2], bins [N, 2]); the ops and bins go to `update_weights`.
  """
  valid = _valid_bins()
  ops, bins, magnitudes = draw(key, images.shape[0], valid / jnp.sum(valid, 1, keepdims=True))
  return apply(images, ops, magnitudes), ops, bins


def match(probs, labels) -> jax.Array:
  """omega_b = 1 - (1/2) sum_c |p_c - 1(c = y_b)|, in [0, 1]: 1 for a sure right prediction."""
  one_hot = jax.nn.one_hot(labels, probs.shape[-1], dtype=probs.dtype)
  return 1.0 - 0.5 * jnp.sum(jnp.abs(probs - one_hot), axis=-1)


def update_weights(weights, ops, bins, omega, decay=DECAY) -> jax.Array:
  """w <- rho w + (1 - rho) omega_b for each (op, bin) of each probe, in order.

  The reference code updates probe by probe, op by op (row-major over
  [N, num_ops]). In closed form, a bin hit n times ends at
  rho^n w + sum_j (1 - rho) rho^(hits after j) omega_j, which is computed
  here without a loop.

  Args:
    weights: [ops, MAX_BINS].
    ops, bins: [N, num_ops] of the probes (`probe`).
    omega: [N], each probe's `match`.
  """
  cells = (ops * MAX_BINS + bins).reshape(-1)
  omega = jnp.broadcast_to(omega[:, None], ops.shape).reshape(-1).astype(jnp.float32)
  position = jnp.arange(cells.shape[0])
  later_hits = jnp.sum((cells[None, :] == cells[:, None]) & (position[None, :] > position[:, None]),
                       axis=1)
  flat = weights.reshape(-1)
  hits = jnp.zeros_like(flat).at[cells].add(1.0)
  added = jnp.zeros_like(flat).at[cells].add((1.0 - decay) * decay**later_hits * omega)
  return (decay**hits * flat + added).reshape(weights.shape)
