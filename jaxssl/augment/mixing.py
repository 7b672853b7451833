"""CutMix: pasting a box of another example of the batch.

Each example i is mixed with example perm(i) of the same batch, for one
random permutation of the batch (an example may draw itself). Label
distributions are mixed with the kept area as weight, so each output row
still sums to 1. On a batch sharded over devices the permutation gathers
across devices. (MixUp, a blend of whole examples and of their targets, is
`jaxssl.losses.mixup`.)
"""

import jax
import jax.numpy as jnp

from jaxssl.augment.batch_sharding import take_examples
from jaxssl.augment.draws import integers
from jaxssl.augment.occlusion import box_mask


def _mix_labels(label_probs, partner, weight):
  """weight [N] of the own label, 1 - weight of the partner's."""
  weight = weight[:, None].astype(label_probs.dtype)
  return weight * label_probs + (1 - weight) * take_examples(label_probs, partner)


def cutmix_batch(key, images, label_probs, alpha):
  """CutMix (Yun et al., 2019): paste a box of x_perm(i) into x_i.

  The box has sides H sqrt(1 - lam) and W sqrt(1 - lam) and a uniformly
  random centre, clipped at the border; the label weight is then the area
  actually kept, lam' = 1 - box area / (H W).

  Args:
    key: PRNG key.
    images: float [N, H, W, C].
    label_probs: float [N, K] label distributions (one-hot or soft).
    alpha: Beta(alpha, alpha) parameter of lambda.

  Returns:
    (mixed images [N, H, W, C], mixed label distributions [N, K]).
  """
  num_examples, height, width, _ = images.shape
  weight_key, partner_key, centre_key = jax.random.split(key, 3)
  cut = jnp.sqrt(1 - jax.random.beta(weight_key, alpha, alpha, (num_examples,)))
  box_height = jnp.round(cut * height)
  box_width = jnp.round(cut * width)
  centre = jax.random.uniform(centre_key, (num_examples, 2))
  centre_row = integers(centre[:, 0], 0, height)
  centre_col = integers(centre[:, 1], 0, width)
  mask = box_mask(height, width, centre_row - box_height // 2,
                  centre_col - box_width // 2, box_height, box_width)
  partner = jax.random.permutation(partner_key, num_examples)
  mixed = jnp.where(mask, take_examples(images, partner), images)
  kept = 1 - jnp.mean(mask, axis=(1, 2, 3))
  return mixed, _mix_labels(label_probs, partner, kept)
