"""Resizing a whole data set, for training at another resolution than the source's."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.data.dataset import Dataset


def resize_images(images: np.ndarray, image_size: int, chunk: int = 1024) -> np.ndarray:
  """uint8 [N, H, W, C] -> uint8 [N, S, S, C], bicubic, in chunks on the default device."""
  @jax.jit
  def resize(batch):
    shape = (batch.shape[0], image_size, image_size, batch.shape[-1])
    resized = jax.image.resize(batch.astype(jnp.float32), shape, method="bicubic")
    return jnp.clip(jnp.round(resized), 0, 255).astype(jnp.uint8)

  return np.concatenate([np.asarray(resize(images[i:i + chunk]))
                         for i in range(0, len(images), chunk)])


def resize_dataset(dataset: Dataset, image_size: int) -> Dataset:
  """The data set with every image resized (bicubic) to image_size x image_size.

  For training at another resolution than the source's, e.g. DeiT's
  fine-tuning at a higher resolution (Touvron et al., 2021, Sec. 6). Returns
  `dataset` itself when its images already have that size.
  """
  if dataset.image_shape[:2] == (image_size, image_size):
    return dataset
  extra = dataset.extra_unlabeled_images
  return dataclasses.replace(
      dataset, train_images=resize_images(dataset.train_images, image_size),
      test_images=resize_images(dataset.test_images, image_size),
      extra_unlabeled_images=None if extra is None else resize_images(extra, image_size))
