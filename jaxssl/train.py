"""One training run: the method-agnostic loop.

Stages, in order: check the config, build the mesh, the batch source (which
loads the data and draws the labeled split), the method (which checks every
option), the model and the optimizer; all of this writes nothing. Only then
claim the workdir, create (or restore) the replicated train state, and loop
over jit-compiled steps with periodic logging, evaluation and checkpoints;
finally write results.json and learning_curve.png.

The compiled step is `step(state, shared, per_step, frozen)`: the train state
(donated), the batch source's inputs (the device-resident data set, or the
streamed batches of this dispatch) and the method's frozen inputs. All data
are arguments, never constants closed over, so the executable does not grow
with the data set; the run's key is an argument too, so a run with another
seed reuses the compiled program (from JAX's persistent cache in another
process). A step draws its randomness from `fold_in(key, step)`, so
a resumed run sees exactly the numbers an uninterrupted run would. The loop
never reads a device value between log points.

Multi-stage runs (Noisy Student's rounds, pre-train then fine-tune, a
distillation teacher trained first) are jaxssl.stages, which calls `train`
once per stage with that stage's `StageInputs`.
"""

import dataclasses
import time
from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging

from jaxssl import (checkpointing, compiler, data, evaluation, losses, metrics_log, models, optim,
                    plots, preemption, renamed_fields, sharding)
from jaxssl.errors import ConfigError, TrainingDivergedError
from jaxssl.methods import Method, make_method, method_module


@flax.struct.dataclass
class TrainState:
  """Everything a step updates; replicated over the mesh and checkpointed.

  `eval_ema` is the evaluation EMA of the parameters (an `optax.EmaState`
  started at the initial parameters), or {} when config.eval_ema_decay is 0.
  With config.eval_ema_warmup its decay is `losses.averaging_decay`: the
  plain mean of the parameters so far until the EMA's horizon is reached.
  """
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any
  extra: Any
  eval_ema: Any


@dataclasses.dataclass(frozen=True)
class StageInputs:
  """What a multi-stage runner hands one run beyond its config (see jaxssl.stages).

  Attributes:
    dataset: the source, already loaded at its native resolution (stages
      share one load); None loads `config.data.source`.
    frozen: the method's frozen inputs by name (`Method.frozen_inputs`):
      device arrays or pytrees of them, e.g. a `methods.FrozenModel` teacher.
    initial_variables: {"params", "batch_stats"} to start from instead of a
      random initialization (fine-tuning).
    unlabeled_indices: the unlabeled set, indices into the unlabeled pool,
      instead of the config's (a Noisy Student round's pseudo-labelled images).
  """
  dataset: data.Dataset | None = None
  frozen: dict = dataclasses.field(default_factory=dict)
  initial_variables: dict | None = None
  unlabeled_indices: np.ndarray | None = None


@dataclasses.dataclass
class Experiment:
  """Everything built from a config before the first step."""
  config: ml_collections.ConfigDict
  mesh: jax.sharding.Mesh
  source: Any  # data.DeviceSource | data.StreamSource
  num_classes: int
  image_shape: tuple[int, int, int]
  model: Any
  apply_fn: Any
  method: Method
  optimizer: optax.GradientTransformation
  predictor: evaluation.Predictor
  labeled_indices: np.ndarray
  split_fingerprint: dict
  inputs: StageInputs


def check_config(config: ml_collections.ConfigDict) -> None:
  """Refuses out-of-range run fields (not the method's) before anything is loaded or written."""
  renamed_fields.check(config)
  positive = ("total_steps", "batch_size", "log_every", "eval_every", "checkpoint_every",
              "keep_checkpoints", "eval_batch_size", "steps_per_dispatch")
  for name in positive:
    if not isinstance(config[name], int) or config[name] <= 0:
      raise ConfigError(f"config.{name}={config[name]!r} must be a positive integer.")
  if config.unlabeled_ratio < 0:
    raise ConfigError(f"config.unlabeled_ratio={config.unlabeled_ratio} must be >= 0.")
  if not 0.0 <= config.eval_ema_decay < 1.0:
    raise ConfigError(f"config.eval_ema_decay={config.eval_ema_decay} must be in [0, 1); "
                      "0 turns the evaluation EMA off.")
  if not isinstance(config.eval_ema_warmup, bool):
    raise ConfigError(f"config.eval_ema_warmup={config.eval_ema_warmup!r}; use True or False.")
  models.compute_dtype(config)
  if config.data.pipeline not in data.PIPELINES:
    raise ConfigError(f"config.data.pipeline={config.data.pipeline!r}; use one of "
                      f"{data.PIPELINES}.")
  if config.data.pipeline == "stream" and not config.data.source.startswith("tfds:"):
    raise ConfigError(f"config.data.pipeline='stream' reads TFDS, but config.data.source is "
                      f"{config.data.source!r}; use a 'tfds:<name>' source or pipeline='device'.")
  for name in ("log_every", "eval_every", "checkpoint_every"):
    if config[name] % config.steps_per_dispatch:
      raise ConfigError(
          f"config.{name}={config[name]} must be a multiple of "
          f"config.steps_per_dispatch={config.steps_per_dispatch}.")
  method_module(config.method.name)


def unlabeled_batch_size(config, mesh) -> int:
  # Methods without an unlabeled loss still get one image per device, which they ignore.
  return config.batch_size * config.unlabeled_ratio or mesh.devices.size


def _split(config, train_labels: np.ndarray, num_classes: int):
  labeled = data.labeled_split(train_labels, config.data.num_labeled, num_classes,
                               config.data.split_seed)
  fingerprint = {"source": config.data.source, "num_labeled": config.data.num_labeled,
                 "split_seed": config.data.split_seed, "num_train": len(train_labels)}
  return labeled, fingerprint


def _device_source(config, mesh, inputs: StageInputs):
  """The device-resident source; returns it, classes, image shape, stats, split, fingerprint."""
  dataset = inputs.dataset or data.load_source(
      config.data.source, config.data.data_dir or None,
      extra_unlabeled_split=config.data.extra_unlabeled_split)
  if config.data.image_size:
    dataset = data.resize_dataset(dataset, config.data.image_size)
  labeled, fingerprint = _split(config, dataset.train_labels, dataset.num_classes)
  unlabeled = inputs.unlabeled_indices
  if unlabeled is None:
    unlabeled = data.unlabeled_indices(len(dataset.train_labels), labeled,
                                       config.data.unlabeled_includes_labeled,
                                       dataset.num_extra_unlabeled)
  source = data.DeviceSource(dataset, labeled, unlabeled, mesh, config.batch_size,
                             unlabeled_batch_size(config, mesh))
  return (source, dataset.num_classes, dataset.image_shape,
          data.channel_stats(dataset.train_images), labeled, fingerprint)


def _stream_source(config, mesh, inputs: StageInputs):
  """The tf.data source; returns what `_device_source` does."""
  if inputs.dataset is not None or inputs.unlabeled_indices is not None:
    raise ConfigError("config.data.pipeline='stream' reads its data from TFDS; this run's "
                      "stages hand it an in-memory data set. Use pipeline='device'.")
  name = config.data.source.partition(":")[2]
  data_dir = config.data.data_dir or None
  image_size = config.data.image_size or None
  num_classes, image_shape, train_labels, stats = data.stream_info(name, data_dir, image_size)
  labeled, fingerprint = _split(config, train_labels, num_classes)
  source = data.StreamSource(
      name, data_dir, num_train=len(train_labels), labeled_indices=labeled,
      include_labeled=config.data.unlabeled_includes_labeled,
      extra_unlabeled_split=config.data.extra_unlabeled_split, mesh=mesh,
      labeled_batch_size=config.batch_size,
      unlabeled_batch_size=unlabeled_batch_size(config, mesh), image_size=image_size,
      seed=config.seed)
  return source, num_classes, image_shape, stats, labeled, fingerprint


def build(config: ml_collections.ConfigDict, inputs: StageInputs = StageInputs()) -> Experiment:
  """Builds everything from the config; checks it all and writes nothing."""
  check_config(config)
  mesh = sharding.make_mesh(config.num_devices or None)
  sharding.check_divisible(config.batch_size, mesh, "config.batch_size")
  sharding.check_divisible(unlabeled_batch_size(config, mesh), mesh,
                           "config.batch_size * config.unlabeled_ratio")
  make_source = _stream_source if config.data.pipeline == "stream" else _device_source
  source, num_classes, image_shape, (mean, std), labeled, fingerprint = make_source(
      config, mesh, inputs)
  models.check_image_size(config.model, image_shape[0])
  method = make_method(config.method, num_classes=num_classes, image_shape=image_shape,
                       flip=config.data.flip)
  if set(inputs.frozen) != set(method.frozen_inputs):
    raise ConfigError(
        f"Method {config.method.name!r} with these options reads the frozen inputs "
        f"{sorted(method.frozen_inputs)}, but the run supplies {sorted(inputs.frozen)}. "
        "Train it through launch.py, whose stages supply them (see config.runner).")
  model, apply_fn = models.build_model(config, num_classes, mean, std)
  return Experiment(
      config=config, mesh=mesh, source=source, num_classes=num_classes,
      image_shape=tuple(image_shape), model=model, apply_fn=apply_fn, method=method,
      optimizer=optim.make_optimizer(config.optimizer, config.total_steps),
      predictor=evaluation.Predictor(apply_fn, mesh, config.eval_batch_size),
      labeled_indices=labeled, split_fingerprint=fingerprint, inputs=inputs)


def replicated_key_bits(key: jax.Array, mesh: jax.sharding.Mesh) -> jax.Array:
  """A key's raw bits on every device of `mesh`, to pass into a compiled program.

  A key closed over would be a constant of the program, and another seed
  would compile it again. Every process must hold the same key. Under a
  trace (e.g. `jax.eval_shape` of `init_state`) the traced bits are returned.
  """
  bits = jax.random.key_data(key)
  if isinstance(bits, jax.core.Tracer):
    return bits
  bits = np.asarray(bits)
  return jax.make_array_from_callback(bits.shape, sharding.replicated(mesh), bits.__getitem__)


def init_state(exp: Experiment, key: jax.Array) -> TrainState:
  """The initial state, replicated over the mesh."""
  decay = exp.config.eval_ema_decay
  impl = jax.random.key_impl(key)

  def init(initial_variables, key_bits):
    key = jax.random.wrap_key_data(key_bits, impl=impl)
    variables = initial_variables or models.init_variables(exp.model, key, exp.image_shape)
    params = variables["params"]
    return TrainState(
        step=jnp.zeros((), jnp.int32), params=params, batch_stats=variables["batch_stats"],
        opt_state=exp.optimizer.init(params),
        extra=exp.method.init_extra(params, num_unlabeled=exp.source.num_unlabeled),
        eval_ema=losses.init_teacher(params, decay) if decay else {})
  return jax.jit(init, out_shardings=sharding.replicated(exp.mesh))(
      exp.inputs.initial_variables, replicated_key_bits(key, exp.mesh))


class KeyedStep(NamedTuple):
  """`step(state, shared, per_step, frozen)`: a compiled program and the key it is given.

  `program(state, shared, per_step, frozen, key_bits)` takes the key's bits
  as an argument (`replicated_key_bits`); `lower` lowers it for those inputs.
  """
  program: Any
  key_bits: jax.Array

  def __call__(self, state, shared, per_step, frozen):
    return self.program(state, shared, per_step, frozen, self.key_bits)

  def lower(self, state, shared, per_step, frozen):
    return self.program.lower(state, shared, per_step, frozen, self.key_bits)


def make_step(exp: Experiment, key: jax.Array) -> KeyedStep:
  """The compiled `step(state, shared, per_step, frozen) -> (state, metrics)`.

  Runs `config.steps_per_dispatch` steps (a `lax.scan` when more than one);
  the state is donated. `shared` and `per_step` come from
  `exp.source.next_inputs`, `frozen` is `exp.inputs.frozen`. The key is an
  argument of the compiled program, not a constant (see `KeyedStep`).
  """
  config, method, source = exp.config, exp.method, exp.source
  batch_sharding = sharding.batch_sharded(exp.mesh)
  impl = jax.random.key_impl(key)

  def eval_ema_decay(step):
    if config.eval_ema_warmup:
      return losses.averaging_decay(step, config.eval_ema_decay)
    return config.eval_ema_decay

  def one_step(state: TrainState, shared, per_step, frozen, key):
    # The named scopes label the compiled ops for benchmarks/profile_step.py.
    data_key, loss_key = jax.random.split(jax.random.fold_in(key, state.step))
    with jax.named_scope("batch"):
      batch = jax.lax.with_sharding_constraint(source.batch(shared, per_step, data_key),
                                               batch_sharding)

    def apply_fn(params, x, train, rng):
      return exp.apply_fn(params, state.batch_stats, x, train, rng)

    grad_fn = jax.value_and_grad(method.loss_fn, has_aux=True)
    (loss, aux), grads = grad_fn(state.params, state.extra, {**batch, **frozen}, loss_key,
                                 state.step, apply_fn)
    with jax.named_scope("optimizer"):
      updates, opt_state = exp.optimizer.update(grads, state.opt_state, state.params)
      params = optax.apply_updates(state.params, updates)
    with jax.named_scope("method_state"):
      extra = method.update_extra(state.extra, params, state.step, aux)
    eval_ema = {}
    if config.eval_ema_decay:
      with jax.named_scope("eval_ema"):
        eval_ema = losses.update_teacher(state.eval_ema, params,
                                         eval_ema_decay(state.step))[1]
    metrics = {"loss": loss, "param_norm": optax.global_norm(params), **aux["metrics"]}
    return TrainState(step=state.step + 1, params=params, batch_stats=aux["batch_stats"],
                      opt_state=opt_state, extra=extra, eval_ema=eval_ema), metrics

  def multi_step(state: TrainState, shared, per_step, frozen, key_bits):
    key = jax.random.wrap_key_data(key_bits, impl=impl)
    if config.steps_per_dispatch == 1:
      # No scan: XLA:CPU runs convolutions inside a while loop ~100x slower.
      first = None if per_step is None else jax.tree.map(lambda x: x[0], per_step)
      return one_step(state, shared, first, frozen, key)

    def scanned(state, step_inputs):
      return one_step(state, shared, step_inputs, frozen, key)
    state, metrics = jax.lax.scan(scanned, state, per_step, length=config.steps_per_dispatch)
    return state, jax.tree.map(jnp.mean, metrics)

  replicated = sharding.replicated(exp.mesh)
  program = jax.jit(multi_step, out_shardings=(replicated, replicated), donate_argnums=0,
                    compiler_options=compiler.jit_options())
  return KeyedStep(program, replicated_key_bits(key, exp.mesh))


# The weights evaluated, by name, and the key of their accuracy in metrics.jsonl and results.json.
ACCURACY_KEYS = {"raw": "accuracy", "ema": "ema_accuracy"}


def evaluate(exp: Experiment, state: TrainState) -> dict[str, np.ndarray]:
  """Test confusion matrices of the raw (method's eval) weights and of their EMA.

  Keyed "raw" and "ema" (see ACCURACY_KEYS). Both are evaluated with the
  run's batch-norm running averages, which track the raw weights; the EMA of
  the weights does not average them. This is what the FixMatch reference
  code does: its EMA covers the trainable variables only, and batch-norm
  moving statistics are not trainable.
  """
  candidates = {"raw": exp.method.eval_params(state.params, state.extra)}
  if exp.config.eval_ema_decay:
    candidates["ema"] = state.eval_ema.ema
  return {name: exp.predictor.confusion_matrix(
              params, state.batch_stats, exp.source.test_batches(exp.predictor.batch_size),
              exp.num_classes)
          for name, params in candidates.items()}


def accuracies(confusions: dict[str, np.ndarray]) -> dict[str, float]:
  """{"accuracy": ..., "ema_accuracy": ...} of `evaluate`'s confusion matrices."""
  return {ACCURACY_KEYS[name]: evaluation.accuracy(m) for name, m in confusions.items()}


def check_finite(metrics: dict, step: int, checkpointer, config) -> None:
  """Stops a diverged run before it writes a checkpoint or results from NaN weights.

  `metrics` holds the loss and the parameters' global norm at `step` (means
  over the steps since the last log point, or the last step's values).
  """
  values = {name: float(metrics[name]) for name in ("loss", "param_norm")}
  diverged = {name: value for name, value in values.items() if not np.isfinite(value)}
  if not diverged:
    return
  latest = checkpointer.close()
  kept = f"its last checkpoint (step {latest}) is kept" if latest else "no checkpoint was written"
  what = " and ".join(f"the {name.replace('_', ' ')} is {value}"
                      for name, value in diverged.items())
  raise TrainingDivergedError(
      f"At step {step} {what}: training diverged, and {kept}. Lower "
      f"config.optimizer.learning_rate (now {config.optimizer.learning_rate}) or a loss "
      "weight, and train again in a new --workdir.")


def train(config: ml_collections.ConfigDict, workdir: str,
          inputs: StageInputs = StageInputs()) -> dict:
  """Trains `config` in `workdir` (resuming if it holds a checkpoint); returns its results."""
  exp = build(config, inputs)
  # Only now, with every check passed, does the run write to its workdir.
  checkpointing.claim_workdir(workdir, config)
  data.persist_split(workdir, exp.labeled_indices, exp.split_fingerprint)
  is_chief = jax.process_index() == 0
  init_key, step_key = jax.random.split(jax.random.key(config.seed))

  state = init_state(exp, init_key)
  checkpointer = checkpointing.Checkpointer(workdir, config.keep_checkpoints)
  if checkpointer.latest_step() is not None:
    state = checkpointer.restore(state)
    logging.info("Resumed %s from step %d.", workdir, int(state.step))
  start_step = int(state.step)
  if is_chief:
    metrics_log.drop_records_after(workdir, start_step)
  logging.info("%s on %s: %d labeled, %d unlabeled images, %d parameters, %d devices.",
               config.method.name, config.data.source, exp.source.num_labeled,
               exp.source.num_unlabeled, models.count_params(state.params),
               exp.mesh.devices.size)

  train_step = make_step(exp, step_key)
  writer = metrics_log.MetricWriter(workdir, enabled=is_chief)
  progress = metrics_log.Progress(start_step, config.total_steps)
  evals = metrics_log.read_evals(workdir, start_step)
  pending_metrics = []  # device arrays; read only at log points
  start_time = time.perf_counter()

  step, dispatches, confusions = start_step, 0, None
  with preemption.StopSignals() as stop_signals:
    while step < config.total_steps:
      shared, per_step = exp.source.next_inputs(config.steps_per_dispatch)
      state, metrics = train_step(state, shared, per_step, exp.inputs.frozen)
      pending_metrics.append(metrics)
      step += config.steps_per_dispatch
      dispatches += 1
      if step % config.log_every == 0 or step >= config.total_steps:
        means = {k: float(np.mean(v)) for k, v in jax.device_get(
            jax.tree.map(lambda *xs: jnp.stack(xs), *pending_metrics)).items()}
        pending_metrics = []
        means["steps_per_second"] = progress.log(step, means)
        writer.write(step, "train", means)
        check_finite(means, step, checkpointer, config)
      if step % config.eval_every == 0 or step >= config.total_steps:
        confusions = evaluate(exp, state)
        accuracy = accuracies(confusions)
        evals.append({"step": step, **accuracy})
        writer.write(step, "eval", accuracy)
        logging.info("eval step %d: %s", step,
                     "  ".join(f"{k}={v:.2%}" for k, v in accuracy.items()))
      interrupted = stop_signals.requested(dispatches)
      if (step % config.checkpoint_every == 0 or step >= config.total_steps
          or interrupted):
        check_finite(metrics, step, checkpointer, config)
        checkpointer.save(step, state)
      if interrupted:
        checkpointer.close()
        writer.close()
        raise preemption.Preempted(step, stop_signals.signal_number, workdir)
  checkpointer.close()
  writer.close()
  if confusions is None:  # resumed from the final checkpoint: nothing trained, nothing evaluated
    confusions = evaluate(exp, state)

  results = {
      "method": config.method.name, "source": config.data.source,
      "num_labeled": config.data.num_labeled, "seed": config.seed,
      "split_seed": config.data.split_seed, "steps": step,
      "train_seconds_this_attempt": time.perf_counter() - start_time,
      **metrics_log.summarize(evals, tuple(ACCURACY_KEYS.values())),
      # The last evaluation's counts: row = true class, column = predicted.
      "test_confusion": {name: m.tolist() for name, m in confusions.items()},
  }
  if is_chief:
    metrics_log.write_results(workdir, results)
    plots.write_learning_curve(workdir)
  return results


def format_results(results: dict) -> str:
  """A short human-readable summary of results.json."""
  labels = "all" if results["num_labeled"] < 0 else results["num_labeled"]
  lines = [f"{results['method']} on {results['source']} "
           f"({labels} labels, seed {results['seed']}, {results['steps']} steps):"]
  for name, key in ACCURACY_KEYS.items():
    if key in results:
      r = results[key]
      lines.append(f"  {key:13s} final {r['final']:.2%}  best {r['best']:.2%}  "
                   f"median of last 20 evals {r['median_last_20']:.2%}")
    if name in results.get("test_confusion", {}):
      weakest = evaluation.weakest_class(np.asarray(results["test_confusion"][name]))
      lines.append(f"  {'':13s} weakest class {weakest}")
  return "\n".join(lines)
