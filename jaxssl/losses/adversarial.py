"""Adversarial (Goodfellow et al., 2015) and virtual adversarial (Miyato et al., 2018) training.

A loss here takes the model as a pure function ``logits_fn(x) -> logits``
(e.g. ``lambda x: apply_fn(params, x, True, rng)[0]``), so it stays a
function of arrays; gradients with respect to the parameters flow through the
closure. Perturbations are returned in float32 (or x's dtype if wider) and
are constants: ``jax.lax.stop_gradient`` is applied to them.
"""

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import upcast
from jaxssl.losses.classification import softmax_cross_entropy
from jaxssl.losses.consistency import kl_divergence_with_logits
from jaxssl.losses.entropy import entropy

LogitsFn = Callable[[jax.Array], jax.Array]
_NORMS = ("l2", "linf")
POWER_ITERATION_METHODS = ("hvp", "finite_difference")


def _l2_normalize(v: jax.Array) -> jax.Array:
  """v / ||v||_2 per example (over all non-batch axes); 0 where v = 0.

  Dividing by max|v| first keeps sum(v^2) away from float32 underflow and
  overflow, so tiny gradients still normalize to unit length.
  """
  axes = tuple(range(1, v.ndim))
  max_abs = jnp.max(jnp.abs(v), axis=axes, keepdims=True)
  v = v / jnp.where(max_abs > 0, max_abs, 1.0)
  norm = jnp.sqrt(jnp.sum(v * v, axis=axes, keepdims=True))
  return v / jnp.where(norm > 0, norm, 1.0)


def _log_mean_exp(p: jax.Array, shift: jax.Array) -> jax.Array:
  """log sum_c p_c e^{shift_c}, accurate when the shifts are tiny and safe when they are large."""
  top = jnp.max(shift, axis=-1, keepdims=True)
  return top + jnp.log1p(jnp.sum(p * jnp.expm1(shift - top), axis=-1, keepdims=True))


@jax.custom_jvp
def _kl_after_logit_shift(log_p: jax.Array, shift: jax.Array) -> jax.Array:
  """KL(p || softmax(log p + shift)) per example; log_p is a constant (no tangent).

  The autodiff gradient of the KL in the logits, q - p, is a difference of
  two probabilities that agree to ~1e-7 at VAT's xi = 1e-6, so in float32 it
  is mostly rounding. The JVP below forms it as
  p * expm1(shift - log sum p e^shift), which keeps its relative precision.
  """
  p = jnp.exp(log_p)
  return jnp.sum(p * (_log_mean_exp(p, shift) - shift), axis=-1)


@_kl_after_logit_shift.defjvp
def _kl_after_logit_shift_jvp(primals, tangents):
  log_p, shift = primals
  _, shift_dot = tangents
  p = jnp.exp(log_p)
  q_minus_p = p * jnp.expm1(shift - _log_mean_exp(p, shift))
  return _kl_after_logit_shift(log_p, shift), jnp.sum(q_minus_p * shift_dot, axis=-1)


def adversarial_perturbation(
    logits_fn: LogitsFn,
    x: jax.Array,
    target_probs: jax.typing.ArrayLike,
    epsilon: jax.typing.ArrayLike,
    norm: str = "l2",
) -> jax.Array:
  r"""The adversarial perturbation r_adv of adversarial training.

  .. math::
    g = \nabla_{x} D[h(y), p(y \mid x, \theta)], \qquad
    r_{adv} = \epsilon \frac{g}{\lVert g \rVert_2} \;\; (L_2), \qquad
    r_{adv} = \epsilon\, \mathrm{sign}(g) \;\; (L_\infty)

  with D the KL divergence and h(y) the target distribution (one-hot labels
  in the supervised case). Goodfellow et al., 2015, "Explaining and
  Harnessing Adversarial Examples" (L_inf, the fast gradient sign method);
  Miyato et al., 2018, "Virtual Adversarial Training: A Regularization Method
  for Supervised and Semi-Supervised Learning", Sec. 3 (both norms). The L2
  norm is taken per example over all non-batch axes; an example whose
  gradient is exactly 0 gets r_adv = 0.

  Args:
    logits_fn: ``x -> logits [N, C]``.
    x: Float inputs, shape ``[N, ...]``.
    target_probs: h(y), shape ``[N, C]``; treated as a constant.
    epsilon: Perturbation size.
    norm: ``"l2"`` or ``"linf"``.

  Returns:
    r_adv with x's shape, float32, under ``stop_gradient``.
  """
  if norm not in _NORMS:
    raise ValueError(f"norm={norm!r}; use one of {_NORMS}.")
  target = jax.lax.stop_gradient(upcast(target_probs))

  # KL(h || p) = H(h, p) - H(h) and H(h) does not depend on x, so the
  # cross-entropy has the same gradient.
  def divergence(inputs):
    return jnp.sum(softmax_cross_entropy(logits_fn(inputs), target))

  g = upcast(jax.grad(divergence)(x))
  direction = _l2_normalize(g) if norm == "l2" else jnp.sign(g)
  return jax.lax.stop_gradient(epsilon * direction)


def adversarial_loss(
    logits_fn: LogitsFn,
    x: jax.Array,
    target_probs: jax.typing.ArrayLike,
    epsilon: jax.typing.ArrayLike,
    norm: str = "l2",
) -> jax.Array:
  r"""Adversarial training loss D[h(y), p(y | x + r_adv, theta)], per example.

  .. math::
    L_{adv}(x, \theta) = D[h(y), p(y \mid x + r_{adv}, \theta)]

  Miyato et al., 2018, Sec. 3; r_adv from :func:`adversarial_perturbation`
  is a constant (no gradient flows through its construction).

  Args:
    logits_fn: ``x -> logits [N, C]``; gradients flow into what it closes over.
    x: Float inputs, shape ``[N, ...]``.
    target_probs: h(y), shape ``[N, C]``.
    epsilon: Perturbation size.
    norm: ``"l2"`` or ``"linf"``.

  Returns:
    Per-example KL divergence, shape ``[N]``, float32.
  """
  r_adv = adversarial_perturbation(logits_fn, x, target_probs, epsilon, norm)
  target = jax.lax.stop_gradient(upcast(target_probs))
  return softmax_cross_entropy(logits_fn(x + r_adv), target) - entropy(target)


def virtual_adversarial_perturbation(
    logits_fn: LogitsFn,
    x: jax.Array,
    key: jax.Array,
    epsilon: jax.typing.ArrayLike,
    xi: jax.typing.ArrayLike = 1e-6,
    num_iterations: int = 1,
    clean_logits: Optional[jax.typing.ArrayLike] = None,
    method: str = "hvp",
) -> jax.Array:
  r"""The virtual adversarial perturbation r_vadv, by power iteration.

  r_vadv is epsilon times the dominant eigenvector of the Hessian H of
  D(r) = D[p(y | x, theta_hat), p(y | x + r, theta_hat)] at r = 0, with D the
  KL divergence and the clean distribution p(y | x, theta_hat) a constant
  (Miyato et al., 2018, "Virtual Adversarial Training: A Regularization
  Method for Supervised and Semi-Supervised Learning", Sec. 3.3). Power
  iteration from a random unit d, K times:

  .. math::
    d \leftarrow \frac{H d}{\lVert H d \rVert_2}, \qquad
    r_{vadv} = \epsilon d

  with H d computed by ``method``:

  - ``"hvp"`` (default): the exact Hessian-vector product,
    :math:`H d = \frac{d}{dt} \nabla_r D(r) \big|_{r = t d}` at t = 0, by
    forward-over-reverse differentiation (``jax.jvp`` of ``jax.grad``).
    ``xi`` is unused.
  - ``"finite_difference"``: the paper's approximation (D's gradient vanishes
    at r = 0), :math:`g = \nabla_r D(r) \big|_{r = \xi d} \approx \xi H d`,
    normalized in place of H d.

  Precision. The finite difference needs x + xi d to differ from x and the
  logits to move: with bf16 compute (or default-precision matmuls on GPU/TPU)
  x + 1e-6 d rounds to x, so g is 0 (then r_vadv = 0) or rounding noise. The
  HVP never perturbs x; d enters only as a tangent, so it works in bf16, with
  the model's relative precision. Logits are upcast, so the KL and its
  derivatives are formed in float32.

  Numerics of ``"finite_difference"``. g ~ xi H d is tiny (~1e-7 for
  xi = 1e-6), so g is computed from the logit shift
  logits(x + xi d) - clean_logits with a gradient that does not cancel (q - p
  formed as p * expm1(...)); the plain autodiff of the KL adds float32 noise
  of several percent to every step. What remains is the rounding of x + xi d
  and of the logits, which move by only a few ulps: with xi = 1e-6 (the
  paper's value) the directions agree with the Hessian's top eigenvector on
  average (tests: mean |cos| >= 0.99 after 30 steps) but single examples can
  stall; xi = 1e-3 converges on every example. A model that computes in bf16
  needs a larger xi (e.g. 0.1 for inputs in [0, 1]), or ``"hvp"``.

  ``clean_logits`` must be ``logits_fn(x)`` from the same kind of forward
  pass (same batch, batch-norm mode and dropout rng): otherwise D has a
  first-order term at r = 0, which swamps xi H d in the finite difference and
  adds the model's curvature, weighted by q - p, to H.

  Args:
    logits_fn: ``x -> logits [N, C]``.
    x: Float inputs, shape ``[N, ...]``.
    key: PRNG key for the initial random direction.
    epsilon: Norm of the perturbation (per example, over all non-batch axes).
    xi: Finite-difference step; used only by ``method="finite_difference"``.
    num_iterations: Number K of power iterations (1 in the paper).
    clean_logits: ``logits_fn(x)`` if the caller already has it (saves a
      forward pass); stop-gradient is applied to it.
    method: How H d is computed, one of :data:`POWER_ITERATION_METHODS`:
      ``"hvp"`` or ``"finite_difference"``.

  Returns:
    r_vadv with x's shape, float32, under ``stop_gradient``.
  """
  if method not in POWER_ITERATION_METHODS:
    raise ValueError(f"method={method!r}; use one of {POWER_ITERATION_METHODS}.")
  if clean_logits is None:
    clean_logits = logits_fn(x)
  clean_logits = jax.lax.stop_gradient(upcast(clean_logits))
  log_p = jax.nn.log_softmax(clean_logits, axis=-1)

  def divergence(r):
    return jnp.sum(_kl_after_logit_shift(log_p, upcast(logits_fn(x + r)) - clean_logits))

  d = _l2_normalize(jax.random.normal(key, jnp.shape(x), upcast(x).dtype))
  if method == "hvp":
    r0 = jnp.zeros_like(d)
    hessian_times = lambda v: jax.jvp(jax.grad(divergence), (r0,), (v,))[1]
  else:
    hessian_times = lambda v: jax.grad(divergence)(xi * v)  # ~ xi H v

  def power_step(_, d):
    return _l2_normalize(hessian_times(d))

  d = jax.lax.fori_loop(0, num_iterations, power_step, d)
  return jax.lax.stop_gradient(epsilon * d)


def vat_loss(
    logits_fn: LogitsFn,
    x: jax.Array,
    key: jax.Array,
    epsilon: jax.typing.ArrayLike,
    xi: jax.typing.ArrayLike = 1e-6,
    num_iterations: int = 1,
    clean_logits: Optional[jax.typing.ArrayLike] = None,
    method: str = "hvp",
) -> jax.Array:
  r"""Local distributional smoothness LDS(x, theta), per example.

  .. math::
    \mathrm{LDS}(x, \theta) = D[p(y \mid x, \hat\theta),
                                p(y \mid x + r_{vadv}, \theta)]

  Miyato et al., 2018, Sec. 3.2; R_vadv is the mean of LDS over labeled and
  unlabeled inputs, which the caller takes. Both p(y | x, theta_hat) and
  r_vadv (:func:`virtual_adversarial_perturbation`) are constants, so
  gradients flow only through p(y | x + r_vadv, theta).

  Args:
    logits_fn: ``x -> logits [N, C]``; gradients flow into what it closes over.
    x: Float inputs, shape ``[N, ...]``.
    key: PRNG key for the power iteration's random start.
    epsilon: Norm of the perturbation.
    xi: Finite-difference step, used only by ``method="finite_difference"``
      (see the numerics note of :func:`virtual_adversarial_perturbation`).
    num_iterations: Number K of power iterations.
    clean_logits: ``logits_fn(x)`` if the caller already has it.
    method: ``"hvp"`` (exact Hessian-vector product; works in bf16) or
      ``"finite_difference"`` (the paper's); see
      :func:`virtual_adversarial_perturbation`.

  Returns:
    Per-example LDS, shape ``[N]``, float32.
  """
  if clean_logits is None:
    clean_logits = logits_fn(x)
  clean_logits = jax.lax.stop_gradient(upcast(clean_logits))
  r_vadv = virtual_adversarial_perturbation(
      logits_fn, x, key, epsilon, xi, num_iterations, clean_logits, method)
  return kl_divergence_with_logits(clean_logits, logits_fn(x + r_vadv))
