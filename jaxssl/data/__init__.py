"""Data sources, the labeled split, and the batch sources that feed the train loop.

TensorFlow is imported only by the "tfds:" source and the streaming pipeline.
"""

from jaxssl.data.batch_source import DeviceSource, StreamSource
from jaxssl.data.dataset import Dataset, channel_stats
from jaxssl.data.device_pipeline import DeviceData, make_device_data, sample_batch
from jaxssl.data.digits import load_digits
from jaxssl.data.evaluation import eval_batches
from jaxssl.data.folder import load_folder
from jaxssl.data.resize import resize_dataset
from jaxssl.data.sources import load_source
from jaxssl.data.splits import (labeled_split, persist_split,
                                unlabeled_indices)
from jaxssl.data.streaming import (make_ssl_streams, make_test_stream, stream_info,
                                   to_global_batch)
from jaxssl.data.tfds_source import load_tfds

PIPELINES = ("device", "stream")

__all__ = [
    "Dataset",
    "DeviceData",
    "DeviceSource",
    "PIPELINES",
    "StreamSource",
    "channel_stats",
    "eval_batches",
    "labeled_split",
    "load_digits",
    "load_folder",
    "load_source",
    "load_tfds",
    "make_device_data",
    "make_ssl_streams",
    "make_test_stream",
    "persist_split",
    "resize_dataset",
    "sample_batch",
    "stream_info",
    "to_global_batch",
    "unlabeled_indices",
]
