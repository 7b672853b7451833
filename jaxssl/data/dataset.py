"""The in-memory labeled data set that every source returns."""

import dataclasses

import numpy as np

from jaxssl.errors import DatasetError


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
  """A train/test image classification data set held in host memory.

  Attributes:
    name: the source it came from, e.g. "digits", "tfds:cifar10", "folder:/data/x".
    train_images: uint8 [N, H, W, C].
    train_labels: int32 [N], each in [0, num_classes).
    test_images: uint8 [M, H, W, C].
    test_labels: int32 [M].
    num_classes: number of classes.
    class_names: one name per class, index = label.
    extra_unlabeled_images: uint8 [E, H, W, C] images without labels that only
      serve as unlabeled data (STL-10's "unlabelled" split), or None.
  """

  name: str
  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  num_classes: int
  class_names: tuple[str, ...]
  extra_unlabeled_images: np.ndarray | None = None

  def __post_init__(self):
    # Users may build a Dataset from their own arrays; catch mistakes here
    # rather than as a shape error deep inside a jitted step.
    for split in ("train", "test"):
      images = getattr(self, f"{split}_images")
      labels = getattr(self, f"{split}_labels")
      if images.dtype != np.uint8 or images.ndim != 4:
        raise DatasetError(
            f"{self.name}: {split}_images must be uint8 [N, H, W, C], got "
            f"{images.dtype} {images.shape}; convert with "
            "np.asarray(images, np.uint8) and add a channel axis if missing.")
      if labels.dtype != np.int32 or labels.shape != images.shape[:1]:
        raise DatasetError(
            f"{self.name}: {split}_labels must be int32 [{len(images)}] to "
            f"match {split}_images, got {labels.dtype} {labels.shape}.")
      if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
        raise DatasetError(
            f"{self.name}: {split}_labels span [{labels.min()}, {labels.max()}] "
            f"but num_classes={self.num_classes}; labels must lie in "
            f"[0, {self.num_classes}).")
    if self.train_images.shape[1:] != self.test_images.shape[1:]:
      raise DatasetError(
          f"{self.name}: train images are {self.train_images.shape[1:]} but "
          f"test images are {self.test_images.shape[1:]}; resize one split "
          "so both match.")
    extra = self.extra_unlabeled_images
    if extra is not None and (extra.dtype != np.uint8 or extra.shape[1:] != self.image_shape):
      raise DatasetError(
          f"{self.name}: extra_unlabeled_images must be uint8 [E, *{self.image_shape}] like "
          f"the train images, got {extra.dtype} {extra.shape}.")
    if len(self.class_names) != self.num_classes:
      raise DatasetError(
          f"{self.name}: {len(self.class_names)} class names for "
          f"{self.num_classes} classes; give one name per class.")

  @property
  def image_shape(self) -> tuple[int, int, int]:
    """(H, W, C) of one image."""
    return self.train_images.shape[1:]

  @property
  def num_extra_unlabeled(self) -> int:
    return 0 if self.extra_unlabeled_images is None else len(self.extra_unlabeled_images)

  def pool_images(self, indices: np.ndarray) -> np.ndarray:
    """Images of the unlabeled pool: index i < N is train image i, N + j extra image j."""
    indices = np.asarray(indices)
    if not self.num_extra_unlabeled:
      return self.train_images[indices]
    is_extra = indices >= len(self.train_labels)
    images = np.empty((len(indices), *self.image_shape), np.uint8)
    images[~is_extra] = self.train_images[indices[~is_extra]]
    images[is_extra] = self.extra_unlabeled_images[indices[is_extra] - len(self.train_labels)]
    return images

  def pool_labels(self, indices: np.ndarray) -> np.ndarray:
    """Labels of the unlabeled pool (see `pool_images`); -1 for the extra images."""
    indices = np.asarray(indices)
    in_train = indices < len(self.train_labels)
    return np.where(in_train, self.train_labels[np.where(in_train, indices, 0)], -1
                    ).astype(np.int32)


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Per-channel mean and std of uint8 images, on the [0, 1] scale (the models' normalization).

  From each channel's histogram of the 256 values: one pass over the images
  and no float copy of them (CIFAR-10's 50,000 images would take 1.2 GB as
  float64). With n_v pixels of value v in a channel of N pixels and x_v = v / 255:
  mean = sum_v n_v x_v / N, std = sqrt(sum_v n_v (x_v - mean)^2 / N), floored at 1e-3.
  """
  images = np.asarray(images)
  if images.dtype != np.uint8:
    raise TypeError(f"channel_stats takes uint8 images, not {images.dtype}")
  flat = images.reshape(-1, images.shape[-1])
  counts = np.stack([np.bincount(flat[:, c], minlength=256) for c in range(flat.shape[1])])
  values = np.arange(256) / 255.0
  mean = counts @ values / len(flat)
  std = np.sqrt(np.sum(counts * (values - mean[:, None]) ** 2, axis=1) / len(flat))
  return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)
