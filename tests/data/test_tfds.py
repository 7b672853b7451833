"""TFDS in-memory source and tf.data stream, on tfds.testing.mock_data, and through launch.py."""

import json

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxssl import metrics_log
from jaxssl.data import (load_source, load_tfds, make_ssl_streams, make_test_stream, stream_info,
                         to_global_batch)
from jaxssl.errors import ConfigError, DatasetError
from tests.test_launch import launch_in_process

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


def ssl_streams(tmp_path, labeled, **overrides):
  arguments = dict(train_split="train", num_train=12, labeled_indices=np.asarray(labeled),
                   include_labeled=True, extra_unlabeled_split="", labeled_batch_size=2,
                   unlabeled_batch_size=8, image_size=None, seed=0)
  return make_ssl_streams("mnist", str(tmp_path), **{**arguments, **overrides})


def test_ssl_streams_read_the_labeled_subset_and_number_the_unlabeled_set(mock_mnist, tmp_path):
  num_classes, image_shape, labels, (mean, std) = stream_info("mnist", str(tmp_path), None)
  assert (num_classes, image_shape, labels.shape) == (10, (28, 28, 1), (12,))
  assert mean.shape == std.shape == (1,)
  labeled_stream, unlabeled_stream, num_unlabeled = ssl_streams(tmp_path, [0, 5])
  assert num_unlabeled == 12
  for _ in range(3):  # repeats past the two labeled images
    batch = next(labeled_stream)
    assert batch["image"].shape == (2, 28, 28, 1) and batch["image"].dtype == np.uint8
    assert sorted(batch["index"]) == [0, 5]
    np.testing.assert_array_equal(batch["label"], labels[batch["index"]])
  # 12 examples: the unlabeled stream repeats to give three batches of 8.
  for _ in range(3):
    batch = next(unlabeled_stream)
    assert batch["image"].shape == (8, 28, 28, 1)
    assert ((0 <= batch["index"]) & (batch["index"] < 12)).all()
    np.testing.assert_array_equal(batch["label"], labels[batch["index"]])
  _, held_out, num_held_out = ssl_streams(tmp_path, [0, 5], include_labeled=False)
  assert num_held_out == 10 and not {0, 5} & set(next(held_out)["index"].tolist())


def test_streams_resize_and_crop_and_the_test_stream_is_padded(mock_mnist, tmp_path):
  labeled_stream, _, _ = ssl_streams(tmp_path, [1, 2], image_size=16)
  assert next(labeled_stream)["image"].shape == (2, 16, 16, 1)
  batches = list(make_test_stream("mnist", str(tmp_path), "test", 5, 16))
  assert [mask.sum() for _, mask in batches] == [5, 5, 2]
  assert all(batch["image"].shape == (5, 16, 16, 1) for batch, _ in batches)
  assert not batches[-1][0]["image"][2:].any()  # the padding


def test_to_global_batch_assembles_a_sharded_batch():
  local = {"label": np.arange(8, dtype=np.int32)}
  sharding = NamedSharding(Mesh(np.array(jax.devices()), ("data",)), P("data"))
  global_batch = to_global_batch(local, sharding)
  assert global_batch["label"].sharding == sharding
  np.testing.assert_array_equal(global_batch["label"], local["label"])


@pytest.mark.parametrize("overrides, message", [
    ({"labeled_batch_size": 0}, "positive multiple"),
    ({"image_size": 0}, "image_size=0"),
])
def test_streams_refuse_bad_sizes(mock_mnist, tmp_path, overrides, message):
  with pytest.raises(ConfigError, match=message):
    ssl_streams(tmp_path, [0, 5], **overrides)


# Here rather than in tests/test_launch.py: with the other TFDS tests, pytest-xdist tends to
# run it in the same worker, which then imports TensorFlow (~10 s) once for both.
def test_fixmatch_streams_tfds_data_through_launch(capsys, tmp_path):
  """data.pipeline=stream: labeled and unlabeled tf.data streams feed the compiled step."""
  workdir = tmp_path / "stream"
  with tfds.testing.mock_data(num_examples=64):
    status, err = launch_in_process(
        capsys, "--config=configs/fixmatch.py", "--config.data.source=tfds:mnist",
        "--config.data.pipeline=stream", "--config.data.num_labeled=10",
        "--config.model.kwargs.width=8", "--config.batch_size=8", "--config.unlabeled_ratio=2",
        "--config.total_steps=4", "--config.log_every=2", "--config.eval_every=4",
        "--config.checkpoint_every=4", "--config.eval_batch_size=32", "--config.num_devices=2",
        f"--workdir={workdir}")
  assert status == 0, err[-2000:]
  results = json.loads((workdir / "results.json").read_text())
  assert results["steps"] == 4 and results["source"] == "tfds:mnist"
  assert 0.0 <= results["ema_accuracy"]["final"] <= 1.0
  train_records = metrics_log.read_records(workdir, "train")
  assert [r["step"] for r in train_records] == [2, 4]
  assert all(0.0 <= r["mask_rate"] <= 1.0 for r in train_records)
  split = json.loads((workdir / "labeled_split.json").read_text())
  assert len(split["indices"]) == 10
