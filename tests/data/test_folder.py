"""The image-folder source on tiny generated folders."""

import numpy as np
import pytest
from PIL import Image

from jaxssl.data import folder, load_folder, load_source
from jaxssl.errors import DatasetError


def write_image(path, value, mode="RGB", size=(8, 8)):
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.new(mode, size, value).save(path)


def make_folder(root, mode="RGB", value=(10, 20, 30)):
  for split, count in (("train", 3), ("test", 1)):
    for name in ("cat", "ant"):
      for i in range(count):
        write_image(root / split / name / f"{i}.png", value, mode)
  return root


def test_loads_sorted_classes_labels_and_pixels(tmp_path):
  root = make_folder(tmp_path)
  # Extensions are matched in any case, and other files are skipped.
  write_image(root / "train" / "cat" / "extra.JPEG", (10, 20, 30))
  (root / "train" / "cat" / "notes.txt").write_text("not an image")
  dataset = load_source(f"folder:{root}")
  assert dataset.class_names == ("ant", "cat")
  assert dataset.train_images.shape == (7, 8, 8, 3)
  assert dataset.test_images.shape == (2, 8, 8, 3)
  np.testing.assert_array_equal(dataset.train_labels, [0, 0, 0, 1, 1, 1, 1])
  np.testing.assert_array_equal(dataset.train_images[0, 0, 0], [10, 20, 30])
  # JPEG is lossy; the pixel is close, not equal.
  assert np.abs(dataset.train_images[3].astype(int) - [10, 20, 30]).max() < 8


def test_all_grayscale_gives_one_channel(tmp_path):
  dataset = load_folder(make_folder(tmp_path, mode="L", value=77))
  assert dataset.train_images.shape == (6, 8, 8, 1)
  assert np.all(dataset.train_images == 77)


def test_mixed_grayscale_and_color_gives_rgb(tmp_path):
  root = make_folder(tmp_path, mode="L", value=77)
  write_image(root / "train" / "ant" / "color.png", (1, 2, 3))
  dataset = load_folder(root)
  assert dataset.train_images.shape == (7, 8, 8, 3)
  np.testing.assert_array_equal(dataset.train_images[3, 0, 0], [1, 2, 3])
  np.testing.assert_array_equal(dataset.train_images[0, 0, 0], [77] * 3)


def test_relative_root_under_data_dir(tmp_path):
  make_folder(tmp_path / "pets")
  dataset = load_source("folder:pets", data_dir=str(tmp_path))
  assert dataset.name == f"folder:{tmp_path / 'pets'}"


def test_decodes_in_worker_processes(tmp_path, monkeypatch):
  monkeypatch.setattr(folder, "_DECODE_CHUNK", 2)
  dataset = load_folder(make_folder(tmp_path))
  assert dataset.train_images.shape == (6, 8, 8, 3)
  np.testing.assert_array_equal(dataset.test_images[:, 4, 4], [[10, 20, 30]] * 2)


def test_missing_root(tmp_path):
  with pytest.raises(DatasetError, match="does not exist"):
    load_folder(tmp_path / "nowhere")


def test_missing_split(tmp_path):
  write_image(tmp_path / "train" / "a" / "0.png", 0)
  with pytest.raises(DatasetError, match="no 'test' folder"):
    load_folder(tmp_path)


def test_no_images(tmp_path):
  (tmp_path / "train").mkdir()
  write_image(tmp_path / "train" / "0.png", 0)
  with pytest.raises(DatasetError, match="no class folders"):
    load_folder(tmp_path)


def test_empty_class(tmp_path):
  root = make_folder(tmp_path)
  (root / "test" / "cat" / "0.png").unlink()
  with pytest.raises(DatasetError, match=f"{root / 'test' / 'cat'} has no images"):
    load_folder(root)


def test_classes_differ_between_splits(tmp_path):
  root = make_folder(tmp_path)
  write_image(root / "test" / "bee" / "0.png", 0)
  with pytest.raises(DatasetError, match=r"not in train: \['bee'\]"):
    load_folder(root)


@pytest.mark.parametrize("chunk", [1024, 2])
def test_corrupt_image_names_the_file(tmp_path, monkeypatch, chunk):
  monkeypatch.setattr(folder, "_DECODE_CHUNK", chunk)
  root = make_folder(tmp_path)
  bad = root / "train" / "cat" / "1.png"
  bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
  with pytest.raises(DatasetError, match=f"cannot decode image {bad}"):
    load_folder(root)


def test_different_sizes_name_the_file(tmp_path):
  root = make_folder(tmp_path)
  odd = root / "test" / "cat" / "0.png"
  write_image(odd, 0, size=(9, 8))
  with pytest.raises(DatasetError, match=f"image {odd} is 9x8"):
    load_folder(root)
