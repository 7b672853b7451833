"""Fixed-size host batches over a test set, padded and masked at the end."""

from collections.abc import Iterator

import numpy as np

from jaxssl.errors import ConfigError


def eval_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int
) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
  """Yields every example once, in order, in batches of exactly batch_size.

  Every batch has the same shape, so a jitted eval step compiles once. The
  last batch is padded with zeros; its mask is False on the padding, so
  metrics must be weighted by it.

  Args:
    images: uint8 [N, H, W, C].
    labels: int [N].
    batch_size: the (global) eval batch size.

  Returns:
    An iterator of (batch, mask): batch = {"image": [batch_size, H, W, C],
    "label": int32 [batch_size]} numpy arrays, mask = bool [batch_size].
  """
  if batch_size <= 0:
    raise ConfigError(f"eval batch_size={batch_size}; set a positive size.")
  return _padded_batches(images, np.asarray(labels, np.int32), batch_size)


def _padded_batches(images, labels, batch_size):
  for start in range(0, len(labels), batch_size):
    image = images[start:start + batch_size]
    label = labels[start:start + batch_size]
    valid = len(label)
    padding = batch_size - valid
    if padding:
      image = np.concatenate(
          [image, np.zeros((padding, *image.shape[1:]), image.dtype)])
      label = np.concatenate([label, np.zeros(padding, label.dtype)])
    yield {"image": image, "label": label}, np.arange(batch_size) < valid
