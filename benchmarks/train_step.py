"""Speed of one config's compiled train step: compile seconds, steps/s, images/s, peak memory.

    python benchmarks/train_step.py --config=configs/fixmatch.py:digits [--steps=200] \
        [--set dtype=bfloat16 --set steps_per_dispatch=8 ...] [--no_record] \
        [--compilation_cache=DIR]

Builds the run as launch.py would (the batch source, the method, the model;
of a run in stages, its first stage, e.g. Noisy Student's teacher round: for
DeiT's student add --set runner=train --set method.distillation=none),
compiles the step, runs --warmup steps, then times --steps steps (waiting for
the device at the end), and appends a row to benchmarks/results/train_step.md
with the device, the JAX version and the date. Images per step count every
view the step's batch holds (labeled + unlabeled images drawn). Peak memory is
the device's (`memory_stats`, on GPU/TPU) or the process's resident set (CPU).
Runs on CPU and GPU; measure on a quiet machine, one benchmark at a time.
"""

import argparse
import datetime
import pathlib
import resource
import sys
import time

import jax

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from jaxssl import sharding, stages, sweep, train  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "train_step.md"
HEADER = ("| date | device | JAX | config | overrides | dtype | steps/dispatch | compile s | "
          "steps/s | images/s | peak memory MB |\n|---|---|---|---|---|---|---|---|---|---|---|\n")


def load(config_arg: str, overrides: list[str]):
  path, _, arg = config_arg.partition(":")
  config = sweep.load_config(pathlib.Path(path).stem, arg or "digits", str(ROOT / "configs"))
  sweep.apply_overrides(config, sweep.parse_overrides(overrides))
  return config


def peak_memory_mb() -> float:
  stats = jax.devices()[0].memory_stats() or {}
  if "peak_bytes_in_use" in stats:
    return stats["peak_bytes_in_use"] / 2**20
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compiled_step(config):
  """`config`'s first stage built as launch.py builds it, and its compiled train step.

  Returns (exp, state, step, compile_seconds); `step(state, shared, per_step,
  frozen)` as `train.make_step` makes it.
  """
  mesh = sharding.make_mesh(config.num_devices or None)
  stage = stages.plan(config, stages.load_native(config), mesh)[0]
  exp = train.build(stage.config, stage.prepare("unused: a first stage reads no workdir"))
  key = jax.random.key(0)
  state = train.init_state(exp, key)
  shared, per_step = exp.source.next_inputs(stage.config.steps_per_dispatch)
  start = time.perf_counter()
  step = train.make_step(exp, key)
  step = step._replace(program=step.lower(state, shared, per_step, exp.inputs.frozen).compile())
  return exp, state, step, time.perf_counter() - start


def run_steps(exp, state, step, num_steps: int):
  """Runs `num_steps` steps (whole dispatches, at least one) and waits for them; the new state."""
  dispatch = exp.config.steps_per_dispatch
  for _ in range(max(1, num_steps // dispatch)):
    shared, per_step = exp.source.next_inputs(dispatch)
    state, metrics = step(state, shared, per_step, exp.inputs.frozen)
  jax.block_until_ready(metrics)
  return state


def measure(config, steps: int, warmup: int) -> dict:
  """Compile seconds, steps/s and images/s of `config`'s train step (its first stage's)."""
  exp, state, step, compile_seconds = compiled_step(config)
  dispatch = exp.config.steps_per_dispatch
  state = run_steps(exp, state, step, warmup)
  start = time.perf_counter()
  run_steps(exp, state, step, steps)
  seconds = time.perf_counter() - start
  done = max(1, steps // dispatch) * dispatch
  shared, per_step = exp.source.next_inputs(dispatch)
  batch = exp.source.batch(shared, None if per_step is None else jax.tree.map(
      lambda x: x[0], per_step), jax.random.key(1))
  images = batch["image"].shape[0] + batch["unlabeled_image"].shape[0]
  return {"compile_seconds": compile_seconds, "steps_per_second": done / seconds,
          "images_per_second": done * images / seconds, "peak_memory_mb": peak_memory_mb()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/fixmatch.py:digits")
  parser.add_argument("--set", action="append", default=[], help="key=value override")
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--warmup", type=int, default=20)
  parser.add_argument("--no_record", action="store_true", help="print only")
  parser.add_argument("--compilation_cache", default="",
                      help="JAX's persistent compilation cache folder, as launch.py's flag: a "
                      "second run with the same folder times the compile a resumed run pays")
  args = parser.parse_args()
  notes = list(args.set)
  if args.compilation_cache:
    jax.config.update("jax_compilation_cache_dir", args.compilation_cache)
    cache = pathlib.Path(args.compilation_cache)
    notes.append("(compilation cache {})".format(
        "warm" if cache.is_dir() and any(cache.iterdir()) else "cold"))
  config = load(args.config, args.set)
  figures = measure(config, args.steps, args.warmup)
  device = jax.devices()[0]
  row = (f"| {datetime.date.today()} | {device.device_kind} x{jax.device_count()} "
         f"({device.platform}) | {jax.__version__} | {args.config} | "
         f"{' '.join(notes) or '-'} | {config.dtype} | {config.steps_per_dispatch} | "
         f"{figures['compile_seconds']:.1f} | {figures['steps_per_second']:.1f} | "
         f"{figures['images_per_second']:.0f} | {figures['peak_memory_mb']:.0f} |\n")
  print(row, end="")
  if not args.no_record:
    if not RESULTS.exists():
      RESULTS.write_text("Train-step speed (benchmarks/train_step.py): one row per measurement."
                         "\n\n" + HEADER)
    with RESULTS.open("a") as f:
      f.write(row)


if __name__ == "__main__":
  main()
