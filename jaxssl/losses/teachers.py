"""Teachers built from averages over training: the EMA teacher and temporal ensembles."""

import jax
import jax.numpy as jnp
import optax

from jaxssl.losses._numerics import upcast


def temporal_ensemble_update(
    ensemble: jax.typing.ArrayLike,
    predictions: jax.typing.ArrayLike,
    alpha: jax.typing.ArrayLike,
) -> jax.Array:
  r"""Accumulates predictions into the ensemble: Z <- alpha Z + (1 - alpha) z.

  Laine & Aila, 2017, "Temporal Ensembling for Semi-Supervised Learning",
  Sec. 2.2 (alpha = 0.6). The caller gathers the rows of Z for the examples
  in the batch and scatters the result back (and counts updates per example
  for :func:`temporal_ensemble_target`).

  Args:
    ensemble: Accumulated predictions Z, shape ``[N, C]``.
    predictions: This round's predictions z (probabilities), ``[N, C]``.
    alpha: Ensemble momentum in [0, 1).

  Returns:
    The updated Z, shape ``[N, C]``, float32.
  """
  return alpha * upcast(ensemble) + (1.0 - alpha) * upcast(predictions)


def temporal_ensemble_target(
    ensemble: jax.typing.ArrayLike,
    num_updates: jax.typing.ArrayLike,
    alpha: jax.typing.ArrayLike,
) -> jax.Array:
  r"""The bias-corrected ensemble target \tilde z = Z / (1 - alpha^t).

  Laine & Aila, 2017, Algorithm 2. Z starts at 0, so after t updates it is
  (1 - alpha^t) times an average of the predictions; the division removes
  that startup bias (constant predictions z give exactly z).

  Where t = 0 (an example never updated) the target is 0, as the paper's
  initial z~ = 0; exclude those examples from the loss with
  ``where=num_updates > 0``.

  Args:
    ensemble: Accumulated predictions Z, shape ``[N, C]``.
    num_updates: Number t of updates of each row, int ``[N]``.
    alpha: Ensemble momentum, as in :func:`temporal_ensemble_update`.

  Returns:
    Targets, shape ``[N, C]``, float32.
  """
  t = jnp.asarray(num_updates)[..., None]
  correction = 1.0 - jnp.asarray(alpha, jnp.float32) ** t
  return jnp.where(t > 0, upcast(ensemble) / jnp.where(t > 0, correction, 1.0), 0.0)


def ema_teacher(decay: jax.typing.ArrayLike) -> optax.GradientTransformation:
  r"""The Mean Teacher average as an optax transformation over parameters.

  .. math::
    \theta'_t = \alpha \theta'_{t-1} + (1 - \alpha) \theta_t

  Tarvainen & Valpola, 2017, "Mean teachers are better role models", Sec. 2.
  This is ``optax.ema(decay, debias=False)`` fed with the student's params
  as "updates", except that ``init`` starts the average at theta'_0 = theta_0
  (optax.ema starts at 0, which would need a bias correction). The state is
  an ``optax.EmaState`` pytree, and ``state.ema`` holds the teacher's
  parameters.

  Args:
    decay: alpha, a float or a traced scalar (e.g. the reference code's
      warm-up ``min(1 - 1 / (step + 1), alpha)``).

  Returns:
    An ``optax.GradientTransformation``: ``init(params)`` and
    ``update(params, state) -> (teacher_params, state)``.
  """
  average = optax.ema(decay, debias=False)

  def init(params):
    return average.init(params)._replace(
        ema=jax.tree.map(lambda p: jnp.array(p, copy=True), params))

  return optax.GradientTransformation(init, average.update)


def averaging_decay(step: jax.typing.ArrayLike, decay: jax.typing.ArrayLike) -> jax.Array:
  r"""The decay of an average that is exact while it is young.

  .. math::
    \alpha_t = \min(\alpha, 1 - 1 / (t + 1))

  Tarvainen & Valpola's reference code ("use the true average until the
  exponential average is more correct"): with this decay at update t = 0, 1,
  ..., an average started anywhere holds the plain mean of the t + 1 values
  it was fed, until 1 / (1 - alpha) updates; from then on it is the EMA with
  decay alpha.

  Args:
    step: t, the number of earlier updates (may be traced).
    decay: alpha.

  Returns:
    alpha_t, float32.
  """
  step = jnp.asarray(step, jnp.float32)
  return jnp.minimum(jnp.asarray(decay, jnp.float32), 1.0 - 1.0 / (step + 1.0))


def init_teacher(params: optax.Params, decay: jax.typing.ArrayLike) -> optax.EmaState:
  """Teacher state with theta'_0 = a copy of the student's params."""
  return ema_teacher(decay).init(params)


def update_teacher(
    teacher_state: optax.EmaState,
    params: optax.Params,
    decay: jax.typing.ArrayLike,
) -> tuple[optax.Params, optax.EmaState]:
  """One Mean Teacher step: returns (theta'_t, new_state) from the student's theta_t."""
  return ema_teacher(decay).update(params, teacher_state)
