"""Trains one jaxssl config.

  python launch.py --config=configs/fixmatch.py:cifar10,labels=250 --workdir=runs/fm250
  python launch.py --config=configs/fixmatch.py --config.total_steps=500 --workdir=/tmp/x

Multi-host: set --multihost (or JAX's coordinator environment) so that
jax.distributed.initialize() connects the processes before training.
"""

import logging as python_logging
import sys

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", "configs/fixmatch.py", "Config file[:arg].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, metrics, results.",
                               required=True)
_MULTIHOST = flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize().")


class _QuietLibraries(python_logging.Filter):
  """Keeps the console to jaxssl's progress lines: library INFO chatter is dropped."""

  def filter(self, record):
    return record.levelno >= python_logging.WARNING or "/jaxssl/" in record.pathname


def main(argv):
  del argv
  logging.get_absl_handler().addFilter(_QuietLibraries())
  import jax  # after flag parsing, so --helpful runs stay cheap
  from jaxssl import train
  from jaxssl.errors import ConfigError

  if _MULTIHOST.value:
    jax.distributed.initialize()
  logging.info("JAX %s, process %d of %d, devices: %s", jax.__version__, jax.process_index(),
               jax.process_count(), jax.devices())
  try:
    results = train.run(_CONFIG.value, _WORKDIR.value)
  except ConfigError as error:
    logging.error("%s", error)
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)
  print(train.format_results(results))


if __name__ == "__main__":
  app.run(main)
