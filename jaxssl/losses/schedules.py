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
