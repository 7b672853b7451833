"""Optimizers and learning-rate schedules used by the papers.

- SGD with Nesterov momentum and FixMatch's cosine decay
  eta(k) = eta_0 cos(7 pi k / (16 K)) (Sohn et al., 2020, Sec. 4).
- Adam (Mean Teacher, VAT, MixMatch) with a constant rate.
- AdamW with linear warm-up and cosine decay (DeiT, Touvron et al., 2021).
- Adam held constant for 2/3 of the run, then decayed linearly to 0
  (GAN-based SSL, Salimans et al., 2016).

Weight decay applies to kernels (arrays with two or more axes) only, as in
FixMatch's reference code: biases, normalization scales and position/token
embeddings are not decayed.
"""

import math

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxssl.errors import ConfigError

SCHEDULES = ("constant", "fixmatch_cosine", "warmup_cosine", "linear_tail")
OPTIMIZERS = ("sgd", "adam", "adamw")


def fixmatch_cosine(base_lr: float, total_steps: int) -> optax.Schedule:
  """eta(k) = eta_0 cos(7 pi k / (16 K)); ends at eta_0 cos(7 pi / 16) ~ 0.2 eta_0."""
  def schedule(step):
    progress = jnp.minimum(step, total_steps) / total_steps
    return base_lr * jnp.cos(7.0 * math.pi * progress / 16.0)
  return schedule


def linear_tail(base_lr: float, total_steps: int) -> optax.Schedule:
  """eta(k) = eta_0 min(3 (1 - k / K), 1): constant for 2K/3 steps, then linearly to 0.

  Salimans et al.'s (2016) GAN-based SSL code (lr * min(3 - epoch / 400, 1)
  over 1,200 epochs); its generator's rate is methods/gan_ssl.linear_tail.
  """
  def schedule(step):
    return base_lr * jnp.clip(3.0 * (1.0 - step / total_steps), 0.0, 1.0)
  return schedule


def make_schedule(cfg: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
  """The learning-rate schedule over `cfg.schedule_steps` steps (0: the run's total_steps).

  A horizon longer than the run trains the first steps of a longer schedule,
  e.g. 20k steps of FixMatch's 2^20-step cosine.
  """
  if cfg.schedule_steps < 0:
    raise ConfigError(f"optimizer.schedule_steps={cfg.schedule_steps} must be >= 0 "
                      "(0: the run's total_steps).")
  total_steps = cfg.schedule_steps or total_steps
  name = cfg.schedule
  if name == "constant":
    return optax.constant_schedule(cfg.learning_rate)
  if name == "fixmatch_cosine":
    return fixmatch_cosine(cfg.learning_rate, total_steps)
  if name == "linear_tail":
    return linear_tail(cfg.learning_rate, total_steps)
  if name == "warmup_cosine":
    warmup = min(cfg.warmup_steps, total_steps - 1)
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=cfg.learning_rate, warmup_steps=warmup,
        decay_steps=total_steps, end_value=cfg.get("end_learning_rate", 0.0))
  raise ConfigError(f"Unknown optimizer.schedule {name!r}; use one of {SCHEDULES}.")


def decay_mask(params):
  """True for kernels (ndim >= 2), False for biases, norms, embeddings of tokens."""
  def is_kernel(path, leaf):
    name = jax.tree_util.keystr(path)
    return leaf.ndim >= 2 and "embedding" not in name and "token" not in name
  return jax.tree_util.tree_map_with_path(is_kernel, params)


def make_optimizer(cfg: ml_collections.ConfigDict, total_steps: int) -> optax.GradientTransformation:
  """Builds the optimizer named by `cfg.name` from an `optimizer` ConfigDict."""
  if cfg.learning_rate <= 0:
    raise ConfigError(f"optimizer.learning_rate={cfg.learning_rate} must be positive.")
  if cfg.weight_decay < 0:
    raise ConfigError(f"optimizer.weight_decay={cfg.weight_decay} must be >= 0.")
  schedule = make_schedule(cfg, total_steps)
  if cfg.name == "sgd":
    # L2 regularisation added to the gradient, as in FixMatch's loss wd * sum ||w||^2 / 2.
    tx = optax.chain(
        optax.add_decayed_weights(cfg.weight_decay, mask=decay_mask),
        optax.sgd(schedule, momentum=cfg.momentum, nesterov=cfg.nesterov))
  elif cfg.name == "adam":
    tx = optax.chain(
        optax.add_decayed_weights(cfg.weight_decay, mask=decay_mask),
        optax.adam(schedule, b1=cfg.b1, b2=cfg.b2))
  elif cfg.name == "adamw":
    tx = optax.adamw(schedule, b1=cfg.b1, b2=cfg.b2,
                     weight_decay=cfg.weight_decay, mask=decay_mask)
  else:
    raise ConfigError(f"Unknown optimizer.name {cfg.name!r}; use one of {OPTIMIZERS}.")
  if cfg.get("grad_clip_norm", 0.0) > 0:
    tx = optax.chain(optax.clip_by_global_norm(cfg.grad_clip_norm), tx)
  return tx
