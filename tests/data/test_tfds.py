"""TFDS in-memory source and tf.data stream, on tfds.testing.mock_data."""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxssl.data import load_source, load_tfds, make_tfds_stream, to_global_batch
from jaxssl.errors import ConfigError, DatasetError

tfds = pytest.importorskip("tensorflow_datasets")


@pytest.fixture
def mock_mnist():
  with tfds.testing.mock_data(num_examples=12):
    yield


def test_tfds_source_loads_mock_mnist(mock_mnist, tmp_path):
  dataset = load_source("tfds:mnist", data_dir=str(tmp_path))
  assert dataset.name == "tfds:mnist"
  assert dataset.train_images.shape == (12, 28, 28, 1)
  assert dataset.test_images.shape == (12, 28, 28, 1)
  assert dataset.train_images.dtype == np.uint8
  assert dataset.train_labels.dtype == np.int32
  assert dataset.num_classes == 10 and dataset.class_names[0] == "0"


def test_tfds_source_refuses_wrong_feature_keys(mock_mnist):
  with pytest.raises(DatasetError, match="no feature 'img'.*'image', 'label'"):
    load_tfds("mnist", image_key="img")


def test_missing_tfds_data_set_says_how_to_prepare_it(tmp_path):
  # An empty data_dir: the data set is not prepared, and nothing is downloaded.
  with pytest.raises(DatasetError, match="not prepared.*tfds build mnist"):
    load_source("tfds:mnist", data_dir=str(tmp_path))


def test_unknown_tfds_name_and_version(tmp_path):
  with pytest.raises(DatasetError, match="no data set 'no_such_data_set'"):
    load_source("tfds:no_such_data_set", data_dir=str(tmp_path))
  with pytest.raises(DatasetError, match="cannot be loaded at version 9.9.9"):
    load_source("tfds:mnist:9.9.9", data_dir=str(tmp_path))


def test_stream_yields_process_local_batches(mock_mnist, tmp_path):
  stream = make_tfds_stream("mnist", "train", 8, data_dir=str(tmp_path), seed=0)
  # 12 examples: the stream must repeat to give three batches of 8.
  batches = [next(stream) for _ in range(3)]
  for batch in batches:
    assert batch["image"].shape == (8, 28, 28, 1)
    assert batch["image"].dtype == np.uint8
    assert batch["label"].dtype == np.int32
  mesh = Mesh(np.array(jax.devices()), ("data",))
  sharding = NamedSharding(mesh, P("data"))
  global_batch = to_global_batch(batches[0], sharding)
  assert global_batch["image"].shape == (8, 28, 28, 1)
  assert global_batch["image"].sharding == sharding
  np.testing.assert_array_equal(global_batch["label"], batches[0]["label"])


def test_stream_resizes_and_crops(mock_mnist, tmp_path):
  stream = make_tfds_stream("mnist", "train[:50%]", 4, data_dir=str(tmp_path),
                            image_size=16)
  batch = next(stream)
  assert batch["image"].shape == (4, 16, 16, 1)
  assert batch["image"].dtype == np.uint8


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "positive multiple"),
    ({"batch_size": 4, "image_size": 0}, "image_size=0"),
])
def test_stream_refuses_bad_sizes(kwargs, message):
  with pytest.raises(ConfigError, match=message):
    make_tfds_stream("mnist", "train", **kwargs)
