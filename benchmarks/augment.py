"""Throughput of weak and strong augmentation (uint8 in, float32 out).

The default batch is FixMatch's CIFAR step: 64 labeled + 7 * 64 unlabeled
would be 512 images; 448 is the unlabeled part, which gets the strong view.
Each function is jit-compiled, warmed up, then timed over several calls
with `block_until_ready`, a fresh key per call.

    python benchmarks/augment.py [--batch 448] [--size 32] [--channels 3] [--repeats 30]

Prints ms per batch and images/s, and appends one markdown row per function
to benchmarks/results/augment.md.
"""

import argparse
import datetime
import os
import pathlib
import statistics
import time

import jax
import jax.numpy as jnp

from jaxssl import augment

RESULTS = pathlib.Path(__file__).parent / "results" / "augment.md"
HEADER = ("| date | device | jax | images | function | compile s | median ms | min ms "
          "| images/s | host load |\n"
          "|---|---|---|---|---|---|---|---|---|---|\n")
WARMUP_CALLS = 3


def measure(function, images, repeats):
  """(compile seconds, per-call seconds) of jit(function)(key, images)."""
  compiled = jax.jit(function)
  start = time.perf_counter()
  compiled.lower(jax.random.key(0), images).compile()
  compile_seconds = time.perf_counter() - start
  keys = jax.random.split(jax.random.key(1), WARMUP_CALLS + repeats)
  for key in keys[:WARMUP_CALLS]:
    compiled(key, images).block_until_ready()
  seconds = []
  for key in keys[WARMUP_CALLS:]:
    start = time.perf_counter()
    compiled(key, images).block_until_ready()
    seconds.append(time.perf_counter() - start)
  return compile_seconds, seconds


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=448)
  parser.add_argument("--size", type=int, default=32)
  parser.add_argument("--channels", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=30)
  args = parser.parse_args()

  shape = (args.batch, args.size, args.size, args.channels)
  images = jax.random.randint(jax.random.key(0), shape, 0, 256).astype(jnp.uint8)
  device = jax.devices()[0]
  device_name = (device.platform if device.device_kind == device.platform
                 else f"{device.platform}: {device.device_kind}")
  load = f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus"
  functions = {
      "weak": lambda key, x: augment.weak(key, augment.to_float(x)),
      "strong": lambda key, x: augment.strong(key, augment.to_float(x)),
  }
  rows = []
  for name, function in functions.items():
    compile_seconds, seconds = measure(function, images, args.repeats)
    median, fastest = statistics.median(seconds), min(seconds)
    print(f"{name:6s} {args.batch}x{args.size}x{args.size}x{args.channels} on {device_name}: "
          f"{median * 1e3:8.2f} ms/batch (min {fastest * 1e3:.2f}), "
          f"{args.batch / median:10.0f} images/s, compile {compile_seconds:.1f} s")
    rows.append(f"| {datetime.date.today()} | {device_name} | {jax.__version__} "
                f"| {args.batch}x{args.size}x{args.size}x{args.channels} | {name} "
                f"| {compile_seconds:.1f} | {median * 1e3:.2f} | {fastest * 1e3:.2f} "
                f"| {args.batch / median:.0f} | {load} |\n")

  RESULTS.parent.mkdir(parents=True, exist_ok=True)
  is_new = not RESULTS.exists()
  with RESULTS.open("a") as results:
    if is_new:
      results.write("# Augmentation throughput (benchmarks/augment.py)\n\n" + HEADER)
    results.writelines(rows)
  print(f"appended to {RESULTS}")


if __name__ == "__main__":
  main()
