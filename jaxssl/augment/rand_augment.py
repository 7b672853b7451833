"""RandAugment (Cubuk et al., 2020) with FixMatch's op ranges (Sohn et al., 2020, Table 12).

A policy is a dict: op name -> `ColourOp` or `GeometricOp`, each with the
`Range` its parameter is drawn from. `FIXMATCH_POLICY` is the 14-op table of
FixMatch; a new policy is a new dict passed as `policy=`.

Speed: under `vmap` every op of the policy is evaluated for every image, so
ops are kept cheap. Colour ops are elementwise blends plus per-image
reductions (equalize uses a 256-bin histogram). Geometric ops are 3x3 pull
matrices: the ones drawn for an image are multiplied together and the image
is resampled ONCE. Hence the order: an image's geometric ops run first, as one
warp of the input, then its colour ops in drawn order. (Warping last would let
XLA fuse the whole colour stage into the four bilinear reads and compute it
four times: 2x slower on CPU.) Colour and geometric ops commute except at the
fill border and through per-image statistics (mean, min/max, histogram), so
this differs from strictly sequential application only there: e.g. the grey
fill of a rotation is darkened by a later Brightness.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxssl.augment import colour
from jaxssl.augment import geometric
from jaxssl.augment.batch_sharding import like_batch
from jaxssl.augment.draws import integers


class Range(NamedTuple):
  """Where an op's parameter comes from.

  identity: the parameter value that leaves the image unchanged (magnitude 0).
  low, high: the range the parameter is drawn from uniformly when
    `magnitude is None` (FixMatch Table 12). A fixed magnitude m in [0, 1]
    gives identity + m * (far end - identity), with a random sign when the
    range straddles `identity` (rotations, shears, translations).
  integer: parameter values are whole numbers (posterize bits).
  """
  identity: float
  low: float
  high: float
  integer: bool = False


class ColourOp(NamedTuple):
  """apply(image [H, W, C], parameter) -> image."""
  apply: Callable
  range: Range


class GeometricOp(NamedTuple):
  """matrix(parameter, height, width) -> 3x3 pull matrix (see `geometric`)."""
  matrix: Callable
  range: Range


def _with_strength(op):
  """A parameter-free op as a blend with strength s: s = 1 is the op, 0 the identity."""
  return lambda image, strength: image + strength * (op(image) - image)


# FixMatch applies parameter-free ops fully; a fixed magnitude scales them
# like every other op, so magnitude 0 is the identity for all 14.
_FULL_STRENGTH = Range(identity=0.0, low=1.0, high=1.0)

FIXMATCH_POLICY = {
    "AutoContrast": ColourOp(_with_strength(colour.autocontrast), _FULL_STRENGTH),
    "Brightness": ColourOp(colour.brightness, Range(1.0, 0.05, 0.95)),
    "Color": ColourOp(colour.color, Range(1.0, 0.05, 0.95)),
    "Contrast": ColourOp(colour.contrast, Range(1.0, 0.05, 0.95)),
    "Equalize": ColourOp(_with_strength(colour.equalize), _FULL_STRENGTH),
    "Identity": ColourOp(lambda image, _: image, _FULL_STRENGTH),
    "Posterize": ColourOp(colour.posterize, Range(8, 4, 8, integer=True)),
    "Rotate": GeometricOp(geometric.rotation_matrix, Range(0.0, -30.0, 30.0)),
    "Sharpness": ColourOp(colour.sharpness, Range(1.0, 0.05, 0.95)),
    "ShearX": GeometricOp(geometric.shear_x_matrix, Range(0.0, -0.3, 0.3)),
    "ShearY": GeometricOp(geometric.shear_y_matrix, Range(0.0, -0.3, 0.3)),
    "Solarize": ColourOp(colour.solarize, Range(1.0, 0.0, 1.0)),
    "TranslateX": GeometricOp(
        lambda fraction, height, width: geometric.translation_matrix(0.0, fraction * width),
        Range(0.0, -0.3, 0.3)),
    "TranslateY": GeometricOp(
        lambda fraction, height, width: geometric.translation_matrix(fraction * height, 0.0),
        Range(0.0, -0.3, 0.3)),
}


# FIXMATCH_POLICY with the geometry of the FixMatch reference code (its PIL
# calls): shears about the top-left corner, translations by whole pixels
# (truncated toward zero). Applied with `nearest=True`, as PIL resamples by
# default, it is that code's strong view up to the order of the ops (see
# benchmarks/results/augment_vs_pil.md).
REFERENCE_GEOMETRY_POLICY = {
    **FIXMATCH_POLICY,
    "ShearX": GeometricOp(geometric.shear_x_corner_matrix, Range(0.0, -0.3, 0.3)),
    "ShearY": GeometricOp(geometric.shear_y_corner_matrix, Range(0.0, -0.3, 0.3)),
    "TranslateX": GeometricOp(
        lambda fraction, height, width: geometric.translation_matrix(
            0.0, jnp.trunc(fraction * width)), Range(0.0, -0.3, 0.3)),
    "TranslateY": GeometricOp(
        lambda fraction, height, width: geometric.translation_matrix(
            jnp.trunc(fraction * height), 0.0), Range(0.0, -0.3, 0.3)),
}


def _parameters(uniforms, ranges, magnitude):
  """Parameters [..., len(ranges)] from uniforms of that shape; see `Range`."""
  identity, low, high = (jnp.array([getattr(r, field) for r in ranges], jnp.float32)
                         for field in ("identity", "low", "high"))
  integer = jnp.array([r.integer for r in ranges])
  if magnitude is None:
    # Integer ranges: each whole number in [low, high] equally often.
    drawn = low + uniforms * (high - low + integer)
    return jnp.where(integer, jnp.minimum(jnp.floor(drawn), high), drawn)
  far = jnp.where(jnp.abs(low - identity) >= jnp.abs(high - identity), low, high)
  straddles = (low < identity) & (identity < high)
  sign = jnp.where(straddles & (uniforms < 0.5), -1.0, 1.0)
  value = identity + sign * jnp.asarray(magnitude, jnp.float32) * (far - identity)
  return jnp.where(integer, jnp.round(value), value)


def draw_ops(key, num_images, num_ops=2, magnitude=None, policy=None, op_probability=1.0):
  """Draws the ops of each image: what `randaugment` applies.

  Returns op indices [N, num_ops] into `policy` (uniform, with replacement)
  and parameters [N, num_ops, len(policy)]: at each slot a parameter for
  every op of the policy, drawn from its `Range` (only the drawn op's is used).
  With `op_probability` < 1 each slot is kept with that probability and
  otherwise set to every op's identity parameter, i.e. skipped.
  """
  policy = FIXMATCH_POLICY if policy is None else policy
  ranges = [op.range for op in policy.values()]
  uniforms = jax.random.uniform(key, (num_images, num_ops, 1 + len(policy)))
  indices = integers(uniforms[..., 0], 0, len(policy))
  parameters = _parameters(uniforms[..., 1:], ranges, magnitude)
  if op_probability < 1.0:
    keep = jax.random.uniform(jax.random.fold_in(key, 1), (num_images, num_ops, 1)) < op_probability
    identity = jnp.array([r.identity for r in ranges], jnp.float32)
    parameters = jnp.where(keep, parameters, identity)
  return indices, parameters


def apply_ops(images, indices, parameters, policy=None, fill=geometric.DEFAULT_FILL,
              nearest=False):
  """Applies drawn ops (see `draw_ops`) to images [N, H, W, C]: one warp, then colour ops.

  The warp is bilinear, or reads the nearest pixel with `nearest`.
  """
  policy = FIXMATCH_POLICY if policy is None else policy
  _, height, width, _ = images.shape
  ops = list(policy.values())
  if indices.shape[1] == 0:  # num_ops = 0 turns RandAugment off
    return images

  # Every op is computed and the drawn one selected. That is what `vmap`
  # turns `lax.switch` into anyway, and a vmapped `lax.switch` fails under
  # explicit mesh axes (JAX 0.10).
  def augment_one(image, image_indices, image_parameters):
    slots = range(image_indices.shape[0])
    pull = jnp.eye(3)
    for slot in slots:
      matrices = [op.matrix(image_parameters[slot, k], height, width)
                  if isinstance(op, GeometricOp) else jnp.eye(3)
                  for k, op in enumerate(ops)]
      pull = pull @ jax.lax.select_n(image_indices[slot], *matrices)
    image = geometric.warp(image, pull, fill, nearest)

    def colour_slot(slot, image):
      candidates = [op.apply(image, image_parameters[slot, k])
                    if isinstance(op, ColourOp) else image
                    for k, op in enumerate(ops)]
      return jax.lax.select_n(image_indices[slot], *candidates)

    # A loop rather than an unrolled Python for: XLA compiles the colour
    # stage once instead of once per slot.
    return jax.lax.fori_loop(0, image_indices.shape[0], colour_slot, image)

  return jax.vmap(augment_one)(images, like_batch(indices, images),
                               like_batch(parameters, images))


@jax.named_scope("augment")  # labels the ops in profiles
def randaugment(key, images, num_ops=2, magnitude=None, policy=None, op_probability=1.0,
                nearest=False):
  """RandAugment on float images [N, H, W, C] in [0, 1].

  Each image gets `num_ops` ops drawn uniformly (with replacement) from
  `policy` (default `FIXMATCH_POLICY`, 14 ops). With `magnitude=None` every
  op's parameter is drawn uniformly from its FixMatch range, per image and
  per op (FixMatch's RandAugment). With a fixed `magnitude` in [0, 1], a
  fraction of each range measured from the identity end (Noisy Student's
  M = 27 of 30 is 0.9), every op uses it; magnitude 0 returns the images
  unchanged. Each drawn op is applied with `op_probability` (1 in the paper's
  Table 12 and USB; 0.5 in the FixMatch reference code's RandAugment), else
  skipped. The geometric ops are applied first, as a single warp (bilinear,
  or nearest-pixel with `nearest`), then the colour ops; see the module
  docstring.
  """
  indices, parameters = draw_ops(key, images.shape[0], num_ops, magnitude, policy, op_probability)
  return apply_ops(images, indices, parameters, policy, nearest=nearest)
