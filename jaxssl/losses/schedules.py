"""Ramp-up schedules for the weight of an unsupervised loss."""

import jax
import jax.numpy as jnp


def _progress(step: jax.typing.ArrayLike, rampup_steps: jax.typing.ArrayLike) -> jax.Array:
  """t = clip(step / rampup_steps, 0, 1), and 1 when rampup_steps is 0."""
  step = jnp.asarray(step, jnp.float32)
  rampup_steps = jnp.asarray(rampup_steps, jnp.float32)
  t = jnp.clip(step / jnp.where(rampup_steps > 0, rampup_steps, 1.0), 0.0, 1.0)
  return jnp.where(rampup_steps > 0, t, 1.0)


def sigmoid_rampup(step: jax.typing.ArrayLike, rampup_steps: jax.typing.ArrayLike) -> jax.Array:
  r"""Sigmoid-shaped ramp-up from exp(-5) to 1.

  .. math::
    w(t) = \exp(-5 (1 - t)^2), \qquad t = \mathrm{clip}(\mathrm{step} / T, 0, 1)

  The ramp-up of the Pi-model and Temporal Ensembling (Laine & Aila, 2017,
  "Temporal Ensembling for Semi-Supervised Learning") and of Mean Teacher's
  consistency weight. Returns 1 when
  rampup_steps is 0 (no ramp-up). The caller multiplies by w_max.

  Args:
    step: Current step (int or float, scalar or array; may be traced).
    rampup_steps: Length T of the ramp-up, >= 0.

  Returns:
    w(t) in (0, 1], float32, with step's shape.
  """
  t = _progress(step, rampup_steps)
  return jnp.exp(-5.0 * (1.0 - t) ** 2)


def linear_rampup(step: jax.typing.ArrayLike, rampup_steps: jax.typing.ArrayLike) -> jax.Array:
  r"""Linear ramp-up from 0 to 1: w(t) = clip(step / T, 0, 1).

  MixMatch (Berthelot et al., 2019) ramps lambda_U up linearly over the first
  16,000 steps. Returns 1 when rampup_steps is 0.

  Args:
    step: Current step (scalar or array; may be traced).
    rampup_steps: Length T of the ramp-up, >= 0.

  Returns:
    w(t) in [0, 1], float32, with step's shape.
  """
  return _progress(step, rampup_steps)


def cosine_rampup(step: jax.typing.ArrayLike, rampup_steps: jax.typing.ArrayLike) -> jax.Array:
  r"""Half a cosine from 0 to 1: w(t) = 1/2 - cos(pi t) / 2.

  .. math::
    \mu(t) = \frac{1}{2} - \frac{\cos(\min(\pi, 2 \pi t / T))}{2}

  AdaMatch's warm-up of the unlabeled loss weight (Berthelot et al., 2022,
  "AdaMatch: A Unified Approach to Semi-Supervised Learning and Domain
  Adaptation", Sec. 3.5), which reaches 1 halfway through T training steps:
  pass rampup_steps = T / 2. Returns 1 when rampup_steps is 0.

  Args:
    step: Current step (scalar or array; may be traced).
    rampup_steps: Length of the ramp-up (T / 2 in the paper), >= 0.

  Returns:
    w(t) in [0, 1], float32, with step's shape.
  """
  return 0.5 - 0.5 * jnp.cos(jnp.pi * _progress(step, rampup_steps))


TSA_SCHEDULES = ("none", "linear", "log", "exp")


def tsa_threshold(step: jax.typing.ArrayLike, total_steps: jax.typing.ArrayLike,
                  num_classes: int, schedule: str) -> jax.Array:
  r"""UDA's training-signal annealing threshold \eta_t.

  .. math::
    \eta_t = \alpha_t (1 - 1/K) + 1/K, \qquad
    \alpha_t = \begin{cases}
      1 - \exp(-5 t / T) & \text{log} \\
      t / T & \text{linear} \\
      \exp(5 (t / T - 1)) & \text{exp}
    \end{cases}

  Xie et al., 2020, "Unsupervised Data Augmentation for Consistency
  Training", Sec. 3.3: a labeled example whose correct-class probability
  exceeds \eta_t leaves the supervised loss (:func:`tsa_mask`). \eta_t rises
  from 1/K (K classes) to 1 over the T training steps, early ("log", for
  plenty of labels), evenly ("linear") or late ("exp", for few labels).
  "none" is \eta_t = 1: every example counts. t / T is clipped to [0, 1].

  Args:
    step: t (may be traced).
    total_steps: T > 0.
    num_classes: K.
    schedule: One of TSA_SCHEDULES.

  Returns:
    \eta_t in [1/K, 1], a float32 scalar (step's shape).
  """
  t = _progress(step, total_steps)
  if schedule == "none":
    return jnp.ones_like(t)
  if schedule == "log":
    alpha = 1.0 - jnp.exp(-5.0 * t)
  elif schedule == "linear":
    alpha = t
  elif schedule == "exp":
    alpha = jnp.exp(5.0 * (t - 1.0))
  else:
    raise ValueError(f"schedule={schedule!r}; use one of {TSA_SCHEDULES}")
  return alpha * (1.0 - 1.0 / num_classes) + 1.0 / num_classes
