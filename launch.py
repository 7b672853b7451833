"""Trains one jaxssl config.

  python launch.py --config=configs/fixmatch.py:cifar10,labels=250 --workdir=runs/fm250
  python launch.py --config=configs/fixmatch.py --config.total_steps=500 --workdir=/tmp/x

`config.runner` picks how the run goes (jaxssl.stages): one train run, or
stages such as Noisy Student's rounds or pre-train then fine-tune.

Multi-host: --multihost lets jax.distributed.initialize() find the processes
itself (TPU pods, SLURM, Open MPI, Kubernetes); elsewhere give each process
--coordinator_address=host:port, --num_processes=N and --process_id=i.

SIGTERM (a scheduler's preemption) or Ctrl-C: the run finishes its step,
writes a checkpoint, says how to resume and exits with 128 + the signal's
number; the same command resumes it.

Bad input (an unknown field, a value out of range, a workdir that holds
another run) ends with a one-line message naming the fix, exit status 2, and
nothing in the workdir changed.
"""

import logging as python_logging
import os
import re
import sys

from absl import flags, logging
from ml_collections import config_flags

from jaxssl import errors


class _QuietLibraries(python_logging.Filter):
  """Keeps the console to jaxssl's progress lines: library INFO chatter is dropped."""

  def filter(self, record):
    return record.levelno >= python_logging.WARNING or "/jaxssl/" in record.pathname


def _flag_error_message(error: Exception, argv: list[str]) -> str:
  """A one-line explanation of a command line that config_flags refused."""
  from jaxssl import renamed_fields

  unknown = re.search(r"Unknown command line flag 'config\.([\w.]+)'", str(error))
  if isinstance(error, (AttributeError, KeyError)):  # config_flags: no such field
    unknown = re.search(r"([A-Za-z_][\w.]*)", str(error))  # the field's name comes first
  if unknown:
    overridden = [arg.split("=")[0].removeprefix("--config.") for arg in argv
                  if arg.startswith("--config.")]
    field = next((f for f in overridden if f.split(".")[-1] == unknown.group(1).split(".")[-1]),
                 unknown.group(1))
    new = renamed_fields.replacement(field)
    if new:
      return f"config.{field} was renamed: use {new}."
    return (f"The config has no field {field!r}; check its spelling against the config "
            "file.")
  # config_flags wraps the real cause (a missing file, a ConfigError raised by the
  # config's get_config) in a message that ends with it.
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  cause = re.sub(r"^[\w.]+(Error|Exception): ", "", lines[-1]) if lines else repr(error)
  return f"Bad command line: {cause}"


DEFAULT_CONFIG = "configs/fixmatch.py"
DEFAULT_CACHE = "~/.cache/jaxssl/xla"


def parse(argv: list[str]):
  """(config, workdir, distributed, cache) from a command line, on fresh flag values.

  `distributed` is None for one process, else the keyword arguments of
  jax.distributed.initialize (empty: let JAX detect the cluster).
  """
  if not any(arg.startswith("--config=") for arg in argv):
    argv = [argv[0], f"--config={DEFAULT_CONFIG}", *argv[1:]]
  flag_values = flags.FlagValues()
  config = config_flags.DEFINE_config_file("config", DEFAULT_CONFIG, "Config file[:arg].",
                                           flag_values=flag_values)
  workdir = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, metrics, results.",
                                flag_values=flag_values)
  multihost = flags.DEFINE_bool(
      "multihost", False, "Call jax.distributed.initialize(), which detects TPU pods, SLURM, "
      "Open MPI and Kubernetes.", flag_values=flag_values)
  coordinator = flags.DEFINE_string(
      "coordinator_address", None, "host:port of process 0's coordinator, for a multi-process "
      "run started by hand (with --num_processes and --process_id).", flag_values=flag_values)
  num_processes = flags.DEFINE_integer("num_processes", None, "Processes in the run.",
                                       lower_bound=1, flag_values=flag_values)
  process_id = flags.DEFINE_integer("process_id", None, "This process's index, 0 to "
                                    "num_processes - 1.", lower_bound=0, flag_values=flag_values)
  cache = flags.DEFINE_string(
      "compilation_cache", DEFAULT_CACHE,
      "Folder of JAX's persistent compilation cache, so that a resumed or repeated run does "
      "not compile its step again; '' turns it off.", flag_values=flag_values)
  # config_flags loads the file as module "config_config", re-executing it inside that
  # module when one is loaded already: a later file without get_config() would then run
  # the earlier file's. Each parse starts afresh (a second launch.run in one process).
  sys.modules.pop("config_config", None)
  config_path = next((arg.split("=", 1)[1].split(":", 1)[0] for arg in argv
                      if arg.startswith("--config=")), "")
  # config_flags reads the --config.<field> overrides from sys.argv while parsing, and
  # only when --config itself is on the command line.
  saved_argv, sys.argv = sys.argv, list(argv)
  try:
    # flags.Error: bad values, including those get_config refuses; run() words them.
    with errors.config_file_loading(config_path, passthrough=flags.Error):
      flag_values(argv)
      config.value.keys()  # a config file that failed to load raises here, not at first use
  finally:
    sys.argv = saved_argv
  if not workdir.value:
    raise flags.Error("--workdir is required: the run directory for checkpoints and results.")
  by_hand = {"coordinator_address": coordinator.value, "num_processes": num_processes.value,
             "process_id": process_id.value}
  given = {name: value for name, value in by_hand.items() if value is not None}
  if given and len(given) < len(by_hand):
    missing = ", ".join(f"--{name}" for name in by_hand if name not in given)
    raise flags.Error(f"A multi-process run started by hand needs {missing} as well "
                      "(or --multihost alone, on a cluster JAX detects).")
  if given and process_id.value >= num_processes.value:
    raise flags.Error(f"--process_id={process_id.value} must be below "
                      f"--num_processes={num_processes.value}.")
  distributed = given if given else ({} if multihost.value else None)
  return config.value, workdir.value, distributed, cache.value


def run(argv: list[str]) -> int:
  """Runs launch.py's command line `argv`; returns the process exit status."""
  try:
    config, workdir, distributed, cache = parse(argv)
  except errors.ConfigFileError as error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  except (flags.Error, AttributeError, KeyError, OSError, ValueError) as error:
    print(f"error: {_flag_error_message(error, argv)}", file=sys.stderr)
    return 2
  flags.FLAGS.mark_as_parsed()  # absl logging waits for its global flags, which go unused here
  logging.use_absl_handler()
  logging.get_absl_handler().addFilter(_QuietLibraries())
  logging.set_verbosity(logging.INFO)
  import jax  # after flag parsing, so --help stays cheap
  from jaxssl import preemption, stages, train

  if cache:
    jax.config.update("jax_compilation_cache_dir", os.path.expanduser(cache))
  if distributed is not None:
    jax.distributed.initialize(**distributed)
  logging.info("JAX %s, process %d of %d, devices: %s", jax.__version__, jax.process_index(),
               jax.process_count(), jax.devices())
  try:
    results = stages.run(config, workdir)
  except errors.ConfigError as error:
    logging.error("%s", error)
    print(f"error: {error}", file=sys.stderr)
    return 2
  except preemption.Preempted as stopped:
    print(stopped, file=sys.stderr)
    return 128 + stopped.signal_number
  print(train.format_results(results))
  return 0


if __name__ == "__main__":
  sys.exit(run(sys.argv))
