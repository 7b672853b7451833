"""Where a config's train step spends its time: a profiler trace, summed by kind of work.

    python benchmarks/profile_step.py --config=configs/fixmatch.py:digits [--steps=20] \
        [--set dtype=bfloat16 ...] [--label=fixmatch_digits_cpu] [--trace_dir=DIR]

Compiles the step as benchmarks/train_step.py does, runs --warmup steps, then
traces --steps steps with `jax.profiler.trace(create_perfetto_trace=True)`.
Every op the trace times carries its HLO name (`args.hlo_op`); the compiled
module's text says what each one is. Ops are summed per category:

- by the named scope they were traced under (jaxssl.train's step and the
  augmentation functions set them): augmentation, batch gather, optimizer,
  method state, evaluation EMA;
- otherwise by what they compute: convolutions (forward, gradient, or
  "unnamed" for fused convolutions that lost their names), batch norm (ops under a BatchNorm module), pooling,
  and the rest of the network and loss (activations, dense layers, losses,
  elementwise work); ops with no name at all (copies, layout changes) are
  "unattributed".

On a GPU the device's kernel events are summed (the host's thunk events are
not, so nothing counts twice). Writes benchmarks/results/profile_<label>.md:
the share of each category, ms per step, and the 15 most expensive ops.
Measure on a quiet machine.
"""

import argparse
import collections
import datetime
import glob
import gzip
import json
import os
import pathlib
import re
import sys
import tempfile
import time

import jax

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import train_step  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
SCOPES = (("augment", "augmentation"), ("batch", "batch gather"), ("optimizer", "optimizer"),
          ("method_state", "method state"), ("eval_ema", "evaluation EMA"))
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = (.*)$")
_COMPUTATION = re.compile(r"^%?([\w.\-]+) .*\{\s*$")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_WRAPPER = re.compile(r"^(?:\w+\()+|\)+$")  # jvp(...), transpose(jvp(...))
_CALLS = re.compile(r"calls=%?([\w.\-]+)")


class Instruction:
  """One line of HLO text: its op_name ("" if none), what it calls, whether it convolves."""

  def __init__(self, text: str):
    op_name = _OP_NAME.search(text)
    self.op_name = op_name.group(1) if op_name else ""
    # The name stack's parts without transformation wrappers: "jvp(augment)" -> "augment".
    self.scopes = {_WRAPPER.sub("", part) for part in self.op_name.split("/")}
    calls = _CALLS.search(text)
    self.calls = calls.group(1) if calls else None
    self.convolution = " convolution(" in text


def parse_hlo(text: str) -> tuple[dict, dict]:
  """HLO text -> ({instruction: Instruction}, {computation: [its instructions]})."""
  instructions, computations, current = {}, collections.defaultdict(list), None
  for line in text.splitlines():
    computation = _COMPUTATION.match(line)
    if computation and " = " not in line:
      current = computation.group(1)
      continue
    match = _INSTRUCTION.match(line)
    if match:
      instruction = Instruction(match.group(2))
      instructions[match.group(1)] = instruction
      if current:
        computations[current].append(instruction)
  return instructions, computations


def _convolution_kind(op_name: str) -> str:
  if not op_name:
    return "convolution, unnamed (fused; forward or gradient)"
  return "convolution, gradient" if "transpose(" in op_name else "convolution, forward"


def category(name: str, instructions: dict, computations: dict) -> str:
  """The category of the op `name` (see the module docstring)."""
  instruction = instructions.get(name)
  if instruction is None:
    return "unattributed"
  inner = computations.get(instruction.calls, [])
  named = [instruction] + inner
  scopes = set().union(*(i.scopes for i in named))
  for scope, label in SCOPES:
    if scope in scopes:
      return label
  convolutions = [i for i in [instruction] + inner if i.convolution]
  if convolutions:
    return _convolution_kind(convolutions[0].op_name or instruction.op_name)
  if any(scope.startswith("BatchNorm") for scope in scopes):
    return "batch norm"
  if any(word in (instruction.op_name + name) for word in ("reduce_window", "reduce-window",
                                                           "select-and-scatter", "max_pool")):
    return "pooling"
  if any(i.op_name for i in named):
    return "network and loss, other"
  return "unattributed"


def op_times(trace: dict, module_marker: str = "multi_step") -> collections.Counter:
  """Microseconds per HLO op of the step's module, from a perfetto trace (dict form)."""
  events = trace["traceEvents"] if isinstance(trace, dict) else trace
  process_names = {e["pid"]: e.get("args", {}).get("name", "") for e in events
                   if e.get("ph") == "M" and e.get("name") == "process_name"}
  device_pids = {pid for pid, name in process_names.items()
                 if "GPU" in name.upper() or "TPU" in name.upper()}
  times = collections.Counter()
  for event in events:
    args = event.get("args", {})
    if event.get("ph") != "X" or "hlo_op" not in args:
      continue
    if module_marker not in args.get("hlo_module", ""):
      continue
    if device_pids and event["pid"] not in device_pids:
      continue
    times[args["hlo_op"]] += event.get("dur", 0.0)
  return times


def summarize(times: collections.Counter, hlo_text: str, steps: int) -> tuple[list, list]:
  """[(category, ms per step, share)] and the top ops [(op, category, ms per step)]."""
  instructions, computations = parse_hlo(hlo_text)
  by_category = collections.Counter()
  labels = {name: category(name, instructions, computations) for name in times}
  for name, microseconds in times.items():
    by_category[labels[name]] += microseconds
  total = sum(by_category.values()) or 1.0
  categories = [(label, us / 1000 / steps, us / total) for label, us in by_category.most_common()]
  top = [(name, labels[name], us / 1000 / steps) for name, us in times.most_common(15)]
  return categories, top


def trace_steps(config, steps: int, warmup: int, trace_dir: str):
  """Runs and traces `steps` steps; returns (perfetto trace, HLO text, wall ms per step)."""
  exp, state, step, _ = train_step.compiled_step(config)
  state = train_step.run_steps(exp, state, step, warmup)
  with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
    start = time.perf_counter()
    train_step.run_steps(exp, state, step, steps)
    wall = time.perf_counter() - start
  files = sorted(glob.glob(f"{trace_dir}/**/perfetto_trace.json.gz", recursive=True))
  with gzip.open(files[-1]) as f:
    trace = json.load(f)
  return trace, step.program.as_text(), 1000 * wall / steps


def report(label: str, config_arg: str, overrides: list[str], steps: int, wall_ms: float,
           categories: list, top: list) -> str:
  device = jax.devices()[0]
  timed = sum(ms for _, ms, _ in categories)
  lines = [
      f"# Where the train step's time goes: {label}", "",
      f"`python benchmarks/profile_step.py --config={config_arg}"
      + "".join(f" --set {o}" for o in overrides) + f" --steps={steps}`, "
      f"{datetime.date.today()}, {device.device_kind} x{jax.device_count()} "
      f"({device.platform}), JAX {jax.__version__}.", "",
      f"Host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. "
      f"Wall time {wall_ms:.1f} ms per step while tracing; the ops below sum to "
      f"{timed:.1f} ms per step (on a CPU, ops of one step can overlap on its threads).", "",
      "| category | ms per step | share |", "|---|---|---|",
      *[f"| {label_} | {ms:.2f} | {100 * share:.1f}% |" for label_, ms, share in categories],
      "", "The 15 most expensive ops:", "",
      "| HLO op | category | ms per step |", "|---|---|---|",
      *[f"| `{name}` | {label_} | {ms:.2f} |" for name, label_, ms in top], ""]
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/fixmatch.py:digits")
  parser.add_argument("--set", action="append", default=[], help="key=value override")
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--warmup", type=int, default=5)
  parser.add_argument("--label", default=None, help="results/profile_<label>.md")
  parser.add_argument("--trace_dir", default=None, help="keep the trace here")
  args = parser.parse_args()
  config = train_step.load(args.config, args.set)
  label = args.label or (pathlib.Path(args.config.split(":")[0]).stem + "_"
                         + jax.devices()[0].platform)
  trace_dir = args.trace_dir or tempfile.mkdtemp(prefix="jaxssl_profile_")
  trace, hlo_text, wall_ms = trace_steps(config, args.steps, args.warmup, trace_dir)
  categories, top = summarize(op_times(trace), hlo_text, args.steps)
  text = report(label, args.config, args.set, args.steps, wall_ms, categories, top)
  (RESULTS / f"profile_{label}.md").write_text(text)
  print(text)


if __name__ == "__main__":
  main()
