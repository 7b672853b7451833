"""The method-agnostic training loop.

Stages, in order: validate the config, build the mesh, load the data and
draw the labeled split, build the model and method (all of which check and
write nothing), claim the workdir, create (or restore) the sharded train
state, then loop over jit-compiled steps with
periodic logging, evaluation and checkpoints, and finally write results.json.

One step draws its batch on the device from `fold_in(key, step)`, so a
resumed run sees exactly the batches an uninterrupted run would. The loop
never reads a device value between log points.
"""

import dataclasses
import functools
import time
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging

from jaxssl import checkpointing, data, metrics_log, models, optim, sharding
from jaxssl.errors import ConfigError
from jaxssl.methods import Method, get_method

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any
  extra: Any
  ema_state: Any


@dataclasses.dataclass
class Experiment:
  """Everything built from a config before the first step."""
  config: ml_collections.ConfigDict
  mesh: jax.sharding.Mesh
  dataset: data.Dataset
  device_data: data.DeviceData
  model: Any
  apply_fn: Callable
  method: Method
  optimizer: optax.GradientTransformation
  ema: optax.GradientTransformation
  image_shape: tuple[int, ...]
  labeled_indices: np.ndarray
  split_fingerprint: dict
  # Hooks for the multi-stage drivers (jaxssl.self_training, jaxssl.finetune); None in a plain run.
  teacher_fn: Callable | None = None      # float images -> frozen teacher logits, given to loss_fn
  unlabeled_targets: jax.Array | None = None  # [U, K], one target per unlabeled example
  initial_variables: Any = None           # {"params", "batch_stats"} replacing the random init


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Refuses out-of-range values before anything is loaded or written."""
  positive = ("total_steps", "batch_size", "log_every", "eval_every", "checkpoint_every",
              "keep_checkpoints", "eval_batch_size", "steps_per_dispatch")
  for name in positive:
    if config[name] <= 0:
      raise ConfigError(f"config.{name}={config[name]} must be a positive integer.")
  if config.unlabeled_ratio < 0:
    raise ConfigError(f"config.unlabeled_ratio={config.unlabeled_ratio} must be >= 0.")
  if not 0.0 <= config.ema_decay < 1.0:
    raise ConfigError(f"config.ema_decay={config.ema_decay} must be in [0, 1); 0 turns EMA off.")
  if config.dtype not in DTYPES:
    raise ConfigError(f"config.dtype={config.dtype!r}; use one of {list(DTYPES)}.")
  for name in ("log_every", "eval_every", "checkpoint_every"):
    if config[name] % config.steps_per_dispatch:
      raise ConfigError(
          f"config.{name}={config[name]} must be a multiple of "
          f"config.steps_per_dispatch={config.steps_per_dispatch}.")
  get_method(config.method.name)


def unlabeled_batch_size(config, mesh) -> int:
  # Methods without an unlabeled loss still get one image per device, which they ignore.
  return config.batch_size * config.unlabeled_ratio or mesh.devices.size


def load_data(config, mesh, dataset: data.Dataset | None = None):
  """Loads the source (unless given), draws the labeled split, puts arrays on the device."""
  if dataset is None:
    dataset = data.load_source(config.data.source, config.data.data_dir or None)
  image_size = config.data.get("image_size", 0)
  if image_size and dataset.image_shape[:2] != (image_size, image_size):
    dataset = resize_dataset(dataset, image_size)
  num_train = len(dataset.train_labels)
  if config.data.num_labeled == -1:
    labeled = np.arange(num_train)
  else:
    labeled = data.labeled_split(dataset.train_labels, config.data.num_labeled,
                                 dataset.num_classes, config.data.split_seed)
  fingerprint = {"source": config.data.source, "num_labeled": config.data.num_labeled,
                 "split_seed": config.data.split_seed, "num_train": num_train}
  unlabeled = data.unlabeled_indices(num_train, labeled,
                                     include_labeled=config.data.unlabeled_includes_labeled)
  device_data = data.make_device_data(dataset, labeled, unlabeled, sharding.replicated(mesh))
  return dataset, device_data, labeled, fingerprint


def resize_dataset(dataset: data.Dataset, image_size: int, chunk: int = 1024) -> data.Dataset:
  """The data set with every image resized (bicubic) to image_size x image_size.

  For training at another resolution than the source's, e.g. DeiT's
  fine-tuning at a higher resolution (Touvron et al., 2021, Sec. 6).
  """
  @jax.jit
  def resize(images):
    shape = (images.shape[0], image_size, image_size, images.shape[-1])
    resized = jax.image.resize(images.astype(jnp.float32), shape, method="bicubic")
    return jnp.clip(jnp.round(resized), 0, 255).astype(jnp.uint8)

  def resize_all(images):
    return np.concatenate([np.asarray(resize(images[i:i + chunk]))
                           for i in range(0, len(images), chunk)])

  return dataclasses.replace(dataset, train_images=resize_all(dataset.train_images),
                             test_images=resize_all(dataset.test_images))


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Per-channel mean and std of uint8 images, on the [0, 1] scale."""
  flat = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
  return flat.mean(0).astype(np.float32), np.maximum(flat.std(0), 1e-3).astype(np.float32)


def build_model(config, num_classes: int, train_images: np.ndarray):
  model = models.create_model(
      config.model.name, num_classes, dtype=DTYPES[config.dtype],
      dropout_rate=config.model.dropout_rate,
      stochastic_depth_rate=config.model.stochastic_depth_rate, **config.model.kwargs)
  mean, std = channel_stats(train_images)
  return model, models.make_apply_fn(model, mean, std)


def build_experiment(config, dataset: data.Dataset | None = None) -> Experiment:
  """Builds everything from the config; checks it all and writes nothing.

  `dataset` replaces the configured source (tests build presets on stand-in data).
  """
  mesh = sharding.make_mesh(config.num_devices or None)
  sharding.check_divisible(config.batch_size, mesh, "config.batch_size")
  sharding.check_divisible(unlabeled_batch_size(config, mesh), mesh,
                           "config.batch_size * config.unlabeled_ratio")
  sharding.check_divisible(config.eval_batch_size, mesh, "config.eval_batch_size")
  dataset, device_data, labeled, fingerprint = load_data(config, mesh, dataset)
  model, apply_fn = build_model(config, dataset.num_classes, dataset.train_images)
  return Experiment(
      config=config, mesh=mesh, dataset=dataset, device_data=device_data, model=model,
      apply_fn=apply_fn, method=get_method(config.method.name),
      optimizer=optim.make_optimizer(config.optimizer, config.total_steps),
      ema=optax.ema(config.ema_decay, debias=False) if config.ema_decay else optax.identity(),
      image_shape=dataset.train_images.shape[1:], labeled_indices=labeled,
      split_fingerprint=fingerprint)


def create_train_state(exp: Experiment, key: jax.Array) -> TrainState:
  """Initial state, replicated over the mesh."""
  def init():
    variables = exp.initial_variables
    if variables is None:
      variables = models.init_variables(exp.model, key, exp.image_shape)
    params = variables["params"]
    extra = exp.method.init_extra(
        params, num_unlabeled=exp.device_data.num_unlabeled,
        num_classes=exp.dataset.num_classes, cfg=exp.config)
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      batch_stats=variables["batch_stats"],
                      opt_state=exp.optimizer.init(params), extra=extra,
                      ema_state=exp.ema.init(params))
  return jax.jit(init, out_shardings=sharding.replicated(exp.mesh))()


def make_train_step(exp: Experiment, key: jax.Array):
  """A jit-compiled function running `steps_per_dispatch` steps; donates the state."""
  config, method = exp.config, exp.method
  batch_sharding = sharding.batch_sharded(exp.mesh)
  labeled_size, unlabeled_size = config.batch_size, unlabeled_batch_size(config, exp.mesh)
  loss_fn = method.loss_fn
  if exp.teacher_fn is not None:
    loss_fn = functools.partial(loss_fn, teacher_fn=exp.teacher_fn)

  def one_step(state: TrainState, _):
    data_key, loss_key = jax.random.split(jax.random.fold_in(key, state.step))
    batch = data.sample_batch(exp.device_data, data_key, labeled_size, unlabeled_size)
    if exp.unlabeled_targets is not None:
      batch["unlabeled_target"] = exp.unlabeled_targets[batch["unlabeled_index"]]
    batch = jax.lax.with_sharding_constraint(batch, batch_sharding)

    def apply_fn(params, x, train, rng):
      return exp.apply_fn(params, state.batch_stats, x, train, rng)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, aux), grads = grad_fn(state.params, state.extra, batch, loss_key, state.step,
                                 apply_fn, config)
    updates, opt_state = exp.optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    extra = method.update_extra(state.extra, params, state.step, aux, config)
    _, ema_state = exp.ema.update(params, state.ema_state)
    metrics = {"loss": loss, **aux["metrics"]}
    new_state = TrainState(step=state.step + 1, params=params, batch_stats=aux["batch_stats"],
                           opt_state=opt_state, extra=extra, ema_state=ema_state)
    return new_state, metrics

  def multi_step(state: TrainState):
    if config.steps_per_dispatch == 1:
      # No scan: XLA:CPU runs convolutions inside a while loop ~100x slower.
      return one_step(state, None)
    state, metrics = jax.lax.scan(one_step, state, length=config.steps_per_dispatch)
    return state, jax.tree.map(jnp.mean, metrics)

  replicated = sharding.replicated(exp.mesh)
  return jax.jit(multi_step, out_shardings=(replicated, replicated), donate_argnums=0)


def ema_params(exp: Experiment, state: TrainState):
  return state.ema_state.ema if exp.config.ema_decay else None


def make_predict_fn(exp: Experiment):
  """jit-compiled eval-mode logits for a batch of uint8 images."""
  def predict(params, batch_stats, images):
    logits, _ = exp.apply_fn(params, batch_stats, images.astype(jnp.float32) / 255.0,
                             False, None)
    return logits
  return jax.jit(predict, out_shardings=sharding.replicated(exp.mesh))


def predict_all(exp: Experiment, predict_fn, params, batch_stats, images: np.ndarray) -> np.ndarray:
  """Eval-mode logits for a host array of images, in padded, sharded batches."""
  batch_sharding = sharding.batch_sharded(exp.mesh)
  outputs = []
  for batch, mask in data.eval_batches(images, np.zeros(len(images), np.int32),
                                       exp.config.eval_batch_size):
    logits = predict_fn(params, batch_stats, jax.device_put(batch["image"], batch_sharding))
    outputs.append(np.asarray(logits)[mask.astype(bool)])
  return np.concatenate(outputs)


def evaluate(exp: Experiment, predict_fn, state: TrainState) -> dict[str, float]:
  """Test accuracy of the raw (method's eval) weights and of their EMA."""
  candidates = {"accuracy": exp.method.eval_params(state.params, state.extra)}
  if exp.config.ema_decay:
    candidates["ema_accuracy"] = ema_params(exp, state)
  labels = exp.dataset.test_labels
  return {name: float(np.mean(
      predict_all(exp, predict_fn, params, state.batch_stats, exp.dataset.test_images)
      .argmax(-1) == labels)) for name, params in candidates.items()}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       experiment: Experiment | None = None) -> dict:
  """Trains `config` in `workdir` (resuming if it holds a checkpoint); returns results.

  `experiment`, built from `config` by a driver that set its hooks, replaces
  the one this function would build.
  """
  validate_config(config)
  exp = experiment if experiment is not None else build_experiment(config)
  # Only now, with every check passed, does the run write to its workdir.
  checkpointing.claim_workdir(workdir, config)
  data.persist_split(workdir, exp.labeled_indices, exp.split_fingerprint)
  is_chief = jax.process_index() == 0
  key = jax.random.key(config.seed)
  init_key, step_key = jax.random.split(key)

  state = create_train_state(exp, init_key)
  checkpointer = checkpointing.Checkpointer(workdir, config.keep_checkpoints)
  if checkpointer.latest_step() is not None:
    state = checkpointer.restore(state)
    logging.info("Resumed %s from step %d.", workdir, int(state.step))
  start_step = int(state.step)
  logging.info("%s on %s: %d labeled, %d unlabeled, %d test images, %d parameters, %d devices.",
               config.method.name, config.data.source, exp.device_data.num_labeled,
               exp.device_data.num_unlabeled, len(exp.dataset.test_labels),
               models.count_params(state.params), exp.mesh.devices.size)

  train_step = make_train_step(exp, step_key)
  predict_fn = make_predict_fn(exp)
  writer = metrics_log.MetricWriter(workdir, enabled=is_chief)
  progress = metrics_log.Progress(start_step, config.total_steps)
  evals = metrics_log.read_evals(workdir, start_step)
  pending_metrics = []  # device arrays; read only at log points
  start_time = time.perf_counter()

  step = start_step
  while step < config.total_steps:
    state, metrics = train_step(state)
    pending_metrics.append(metrics)
    step += config.steps_per_dispatch
    if step % config.log_every == 0 or step >= config.total_steps:
      means = {k: float(np.mean(v)) for k, v in jax.device_get(
          jax.tree.map(lambda *xs: jnp.stack(xs), *pending_metrics)).items()}
      pending_metrics = []
      means["steps_per_second"] = progress.log(step, means)
      writer.write(step, "train", means)
    if step % config.eval_every == 0 or step >= config.total_steps:
      accuracies = evaluate(exp, predict_fn, state)
      evals.append({"step": step, **accuracies})
      writer.write(step, "eval", accuracies)
      logging.info("eval step %d: %s", step,
                   "  ".join(f"{k}={v:.2%}" for k, v in accuracies.items()))
    if step % config.checkpoint_every == 0 or step >= config.total_steps:
      checkpointer.save(step, state)
  checkpointer.close()
  writer.close()

  results = {
      "method": config.method.name, "source": config.data.source,
      "num_labeled": config.data.num_labeled, "seed": config.seed, "steps": step,
      "train_seconds_this_attempt": time.perf_counter() - start_time,
      **metrics_log.summarize(evals, ("accuracy", "ema_accuracy")),
  }
  if is_chief:
    metrics_log.write_results(workdir, results)
  return results


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """launch.py's entry point: trains the config in the workdir and returns its results.

  Multi-stage runs go to their drivers, which import this module (hence the
  imports here): Noisy Student's rounds, and staged runs (a fine-tune stage
  or a distillation teacher; DeiT).
  """
  if config.method.name == "noisy_student":
    from jaxssl import self_training
    return self_training.run(config, workdir)
  if "finetune" in config:
    from jaxssl import finetune
    return finetune.run(config, workdir)
  return train_and_evaluate(config, workdir)


def format_results(results: dict) -> str:
  """A short human-readable summary of results.json."""
  labels = "all" if results["num_labeled"] < 0 else results["num_labeled"]
  lines = [f"{results['method']} on {results['source']} "
           f"({labels} labels, seed {results['seed']}, {results['steps']} steps):"]
  for key in ("accuracy", "ema_accuracy"):
    if key in results:
      r = results[key]
      lines.append(f"  {key:13s} final {r['final']:.2%}  best {r['best']:.2%}  "
                   f"median of last 20 evals {r['median_last_20']:.2%}")
  return "\n".join(lines)
