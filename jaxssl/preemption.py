"""Stopping a run cleanly when the scheduler preempts it (SIGTERM) or the user presses Ctrl-C.

The training loop asks `StopSignals.requested(step)` after every dispatched
step; on True it finishes nothing more, writes a checkpoint at that step and
raises `Preempted`, which launch.py turns into a message and exit status
128 + the signal's number. Rerunning the same command resumes from that
checkpoint, so the run ends with the parameters of one never interrupted.

One process: SIGTERM and SIGINT set a flag (a second Ctrl-C still stops at
once). Several processes must all stop at the same step, so there the loop
asks JAX's preemption sync point instead
(`multihost_utils.reached_preemption_sync_point`, fed by the coordination
service, which catches SIGTERM in every process and agrees on a step); Python
handlers are then left out, since they would take SIGTERM from it.
"""

import signal
import threading

import jax
from jax.experimental import multihost_utils

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Preempted(Exception):
  """Training stopped at `step` on a signal, after writing a checkpoint there."""

  def __init__(self, step: int, signal_number: int, workdir: str):
    self.step = step
    self.signal_number = signal_number
    self.workdir = workdir
    super().__init__(
        f"Interrupted by {signal.Signals(signal_number).name} at step {step}: a checkpoint of "
        f"that step is in {workdir}. Run the same command again to resume from it.")


class StopSignals:
  """While entered, SIGTERM and SIGINT ask the training loop to stop after its current step."""

  def __init__(self):
    self.signal_number = None
    self._previous = {}
    self._multiprocess = jax.process_count() > 1

  def __enter__(self):
    if not self._multiprocess and threading.current_thread() is threading.main_thread():
      for number in SIGNALS:
        self._previous[number] = signal.signal(number, self._handle)
    return self

  def __exit__(self, *exc_info):
    for number, handler in self._previous.items():
      signal.signal(number, handler)
    self._previous = {}

  def _handle(self, number, frame):
    if self.signal_number is not None and number == signal.SIGINT:
      raise KeyboardInterrupt  # a second Ctrl-C: stop now, without a checkpoint
    self.signal_number = number

  def requested(self, dispatch: int) -> bool:
    """Whether to stop now, after the `dispatch`-th dispatched step of this attempt.

    Every process calls it after every dispatch, counting from the same
    checkpoint; JAX's sync point is one past the highest count any process has
    reached when the notice arrives, hence a count of calls rather than steps.
    """
    if self._multiprocess:
      if multihost_utils.reached_preemption_sync_point(dispatch):
        self.signal_number = signal.SIGTERM
        return True
      return False
    return self.signal_number is not None
