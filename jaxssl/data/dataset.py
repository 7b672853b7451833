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
  """

  name: str
  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  num_classes: int
  class_names: tuple[str, ...]

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
    if len(self.class_names) != self.num_classes:
      raise DatasetError(
          f"{self.name}: {len(self.class_names)} class names for "
          f"{self.num_classes} classes; give one name per class.")

  @property
  def image_shape(self) -> tuple[int, int, int]:
    """(H, W, C) of one image."""
    return self.train_images.shape[1:]
