"""benchmarks/profile_step.py: trace events summed by kind of work, on a hand-written module."""

import importlib.util
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # profile_step imports its sibling train_step
_spec = importlib.util.spec_from_file_location("profile_step", BENCHMARKS / "profile_step.py")
profile_step = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(profile_step)

HLO = """HloModule jit_multi_step, entry_computation_layout={()->()}

%fused_computation.1 (p0: f32[4,8,8,1], p1: f32[3,3,1,8]) -> f32[4,8,8,8] {
  %p0 = f32[4,8,8,1]{3,2,1,0} parameter(0)
  %p1 = f32[3,3,1,8]{3,2,1,0} parameter(1)
  ROOT %convolution.1 = f32[4,8,8,8]{3,2,1,0} convolution(%p0, %p1), window={size=3x3 pad=1_1x1_1}, dim_labels=b01f_01io->b01f
}

ENTRY %main.9 (x: f32[4,8,8,1], w: f32[3,3,1,8]) -> f32[4] {
  %ynn_fusion.1 = f32[4,8,8,8]{3,2,1,0} fusion(%x, %w), kind=kCustom, calls=%fused_computation.1
  %conv_general_dilated.0 = f32[3,3,1,8]{3,2,1,0} convolution(%x, %x), window={size=8x8}, metadata={op_name="jit(multi_step)/transpose(jvp(SmallCNN))/Conv_0/conv_general_dilated" stack_frame_id=3}
  %multiply.3 = f32[4]{0} multiply(%a, %b), metadata={op_name="jit(multi_step)/jvp(augment)/vmap()/mul"}
  %add.2 = f32[4]{0} add(%a, %b), metadata={op_name="jit(multi_step)/transpose(jvp(SmallCNN))/BatchNorm_0/add"}
  %subtract.4 = f32[4]{0} subtract(%a, %b), metadata={op_name="jit(multi_step)/optimizer/sub"}
  ROOT %copy.5 = f32[4]{0} copy(%a)
}
"""


def _event(op, microseconds, pid=1, module="jit_multi_step"):
  return {"ph": "X", "pid": pid, "name": op, "dur": microseconds,
          "args": {"hlo_op": op, "hlo_module": module}}


def test_ops_are_summed_per_category_and_per_step():
  trace = {"traceEvents": [
      _event("ynn_fusion.1", 3000), _event("ynn_fusion.1", 1000),
      _event("conv_general_dilated.0", 2000), _event("multiply.3", 1000),
      _event("add.2", 1000), _event("subtract.4", 500), _event("copy.5", 500),
      _event("add.2", 9999, module="jit_evaluate"),  # another program: not counted
      {"ph": "X", "pid": 1, "name": "ThunkExecutor::Execute", "dur": 99999, "args": {}},
  ]}
  categories, top = profile_step.summarize(profile_step.op_times(trace), HLO, steps=2)
  assert categories == [
      ("convolution, unnamed (fused; forward or gradient)", 2.0, pytest.approx(4 / 9)),
      ("convolution, gradient", 1.0, pytest.approx(2 / 9)),
      ("augmentation", 0.5, pytest.approx(1 / 9)),
      ("batch norm", 0.5, pytest.approx(1 / 9)),
      ("optimizer", 0.25, pytest.approx(0.5 / 9)),
      ("unattributed", 0.25, pytest.approx(0.5 / 9)),
  ]
  assert top[0] == ("ynn_fusion.1", "convolution, unnamed (fused; forward or gradient)", 2.0)


def test_on_an_accelerator_only_the_device_kernels_count():
  trace = {"traceEvents": [
      {"ph": "M", "pid": 7, "name": "process_name", "args": {"name": "/device:GPU:0"}},
      {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "/host:CPU"}},
      _event("add.2", 40, pid=7), _event("add.2", 900, pid=1),
  ]}
  assert profile_step.op_times(trace) == {"add.2": 40}
