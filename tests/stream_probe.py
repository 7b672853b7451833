"""One process of tests/test_multiprocess.py's streaming check (run as a script, not collected).

  python tests/stream_probe.py COORDINATOR PROCESS_ID OUT.json

Joins a 2-process run, streams TFDS mock data (64 examples) through
data.StreamSource, and writes the unlabeled indices of the first batch that
this process read, and those of the global batch, to OUT.json.
"""

import json
import sys

import jax
import numpy as np
from jax.experimental import multihost_utils


def main(coordinator: str, process_id: int, out: str) -> None:
  jax.distributed.initialize(coordinator, num_processes=2, process_id=process_id)
  import tensorflow_datasets as tfds

  from jaxssl import data, sharding

  with tfds.testing.mock_data(num_examples=64):
    source = data.StreamSource(
        "mnist", None, num_train=64, labeled_indices=np.arange(10), include_labeled=True,
        extra_unlabeled_split="", mesh=sharding.make_mesh(), labeled_batch_size=8,
        unlabeled_batch_size=16, image_size=None, seed=0)
    _, per_step = source.next_inputs(1)
  indices = per_step["unlabeled_index"]
  local = [int(i) for shard in indices.addressable_shards for i in np.ravel(shard.data)]
  everyone = multihost_utils.process_allgather(indices, tiled=True)
  with open(out, "w") as f:
    json.dump({"local": local, "global": np.ravel(everyone).tolist()}, f)


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
