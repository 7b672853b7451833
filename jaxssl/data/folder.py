"""Image folders laid out as root/{train,test}/<class>/<file>."""

import concurrent.futures
import multiprocessing
import os
import pathlib

import numpy as np
from PIL import Image

from jaxssl.data.dataset import Dataset
from jaxssl.errors import DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_PIL_FORMATS = ("PNG", "JPEG")
_GRAYSCALE_MODES = ("1", "L", "LA")
_LAYOUT = "root/{train,test}/<class>/*.png|jpg|jpeg"
# Files per worker task. Decoding a small image costs ~0.1 ms, mostly Python
# inside PIL that holds the GIL, so threads don't help (CIFAR-10 decoded 50%
# slower on 2 threads than on 1) but processes do; big chunks keep the cost of
# starting workers and pickling results small next to the decoding.
_DECODE_CHUNK = 1024
_MAX_WORKERS = 16


def load_folder(root: str | os.PathLike,
                *,
                train_split: str = "train",
                test_split: str = "test") -> Dataset:
  """Loads every image under `root/{train_split,test_split}/<class>/`.

  Class names are the sub-folder names of the train split, sorted; label i is
  the i-th name, and the test split must have the same class folders. Files
  ending in .png, .jpg or .jpeg (any case) are images; other files and hidden
  files are skipped. Images are decoded with PIL, in worker processes (one per CPU, at
  most 16) when there are more than 1,024, to uint8 RGB, or to single-channel
  L when every image is grayscale. All images must have the same height and
  width.

  Args:
    root: the folder holding the split folders.
    train_split: name of the train split folder.
    test_split: name of the test split folder.

  Returns:
    A `Dataset` named "folder:<root>".

  Raises:
    DatasetError: a missing folder, a class folder without images, a file PIL
      can't decode, or images of different sizes; the message names the path.
  """
  root = pathlib.Path(root).expanduser()
  if not root.is_dir():
    raise DatasetError(
        f"image folder {root} does not exist; create it with the layout "
        f"{_LAYOUT}, or fix the path in 'folder:<root>'.")
  train_files, class_names = _list_split(root, train_split, None)
  test_files, _ = _list_split(root, test_split, class_names)
  paths = [path for path, _ in train_files + test_files]
  images = _decode_all(paths)
  labels = np.array([label for _, label in train_files + test_files], np.int32)
  num_train = len(train_files)
  return Dataset(
      name=f"folder:{root}",
      train_images=images[:num_train],
      train_labels=labels[:num_train],
      test_images=images[num_train:],
      test_labels=labels[num_train:],
      num_classes=len(class_names),
      class_names=class_names)


def _list_split(
    root: pathlib.Path, split: str, class_names: tuple[str, ...] | None
) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
  """(path, label) of each image in root/split, and the sorted class names.

  With `class_names` given (the test split), the folder must hold exactly
  those classes.
  """
  split_dir = root / split
  if not split_dir.is_dir():
    raise DatasetError(
        f"image folder {root} has no '{split}' folder; expected the layout "
        f"{_LAYOUT}. Create {split_dir} with one sub-folder per class.")
  found = tuple(sorted(entry.name for entry in os.scandir(split_dir)
                       if entry.is_dir() and not entry.name.startswith(".")))
  if not found:
    raise DatasetError(
        f"{split_dir} has no class folders, so it holds no images; put the "
        f"images in {split_dir}/<class>/ (layout {_LAYOUT}).")
  if class_names is not None and found != class_names:
    missing = sorted(set(class_names) - set(found))
    extra = sorted(set(found) - set(class_names))
    raise DatasetError(
        f"{split_dir} has different classes from the train split "
        f"(missing: {missing}, not in train: {extra}); both splits need the "
        "same class folders.")
  files = []
  for label, name in enumerate(found):
    class_dir = split_dir / name
    # Hidden files are skipped: macOS archives carry "._x.jpg" metadata files
    # that are not images.
    images = sorted(entry.path for entry in os.scandir(class_dir)
                    if entry.is_file() and not entry.name.startswith(".")
                    and entry.name.lower().endswith(IMAGE_EXTENSIONS))
    if not images:
      raise DatasetError(
          f"class folder {class_dir} has no images "
          f"({', '.join(IMAGE_EXTENSIONS)}); add images or remove the folder.")
    files.extend((path, label) for path in images)
  return files, found


def _decode(path: str) -> np.ndarray:
  """uint8 [H, W] for a grayscale file, uint8 [H, W, 3] otherwise."""
  try:
    with Image.open(path, formats=_PIL_FORMATS) as image:
      mode = "L" if image.mode in _GRAYSCALE_MODES else "RGB"
      return np.asarray(image.convert(mode))
  except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
    raise DatasetError(
        f"cannot decode image {path}: {e}. Replace or delete the file.") from e


def _decode_chunk(paths: list[str]) -> list[np.ndarray]:
  return [_decode(path) for path in paths]


def _decode_all(paths: list[str]) -> np.ndarray:
  """Decodes `paths` into one uint8 [N, H, W, C] array, in parallel if many."""
  chunks = [paths[i:i + _DECODE_CHUNK]
            for i in range(0, len(paths), _DECODE_CHUNK)]
  if len(chunks) == 1:
    decoded = _decode_chunk(paths)
  else:
    # "spawn" because forking a process that runs JAX's threads can deadlock.
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(len(chunks), os.cpu_count() or 1, _MAX_WORKERS),
        mp_context=multiprocessing.get_context("spawn"))
    try:
      decoded = [image for chunk in pool.map(_decode_chunk, chunks)
                 for image in chunk]
    finally:
      # On a bad file, drop the queued chunks instead of decoding them.
      pool.shutdown(cancel_futures=True)
  height, width = decoded[0].shape[:2]
  channels = 1 if all(image.ndim == 2 for image in decoded) else 3
  images = np.empty((len(paths), height, width, channels), np.uint8)
  for i, (path, image) in enumerate(zip(paths, decoded)):
    if image.shape[:2] != (height, width):
      raise DatasetError(
          f"image {path} is {image.shape[1]}x{image.shape[0]} but {paths[0]} "
          f"is {width}x{height}; all images must have the same size. Resize "
          "them first.")
    # Broadcasting copies a grayscale image into all three RGB channels.
    images[i] = image[..., None] if image.ndim == 2 else image
  return images
