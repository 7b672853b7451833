"""Thresholds and weights of pseudo-labels that adapt to the model during training.

The confidence threshold of FixMatch is one constant; the methods here derive
it (or a soft weight) from running statistics of the model's predictions,
which the caller keeps in its state: FlexMatch's class-wise learning effect,
FreeMatch's self-adaptive thresholds and fairness term, SoftMatch's truncated
Gaussian weight and Dash's decaying threshold on the loss.
"""

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import safe_log, upcast

MAPPINGS = ("convex", "linear")


def learning_effect(latest_labels: jax.typing.ArrayLike, num_classes: int) -> jax.Array:
  r"""FlexMatch's learning effect \sigma(c), from each unlabeled example's latest pseudo-label.

  .. math::
    \sigma_t(c) = \sum_{n=1}^{N} \mathbb{1}(\max p_{m,t}(y \mid u_n) > \tau)\,
                  \mathbb{1}(\arg\max p_{m,t}(y \mid u_n) = c)

  Zhang et al., 2021, "FlexMatch: Boosting Semi-Supervised Learning with
  Curriculum Pseudo Labeling", Sec. 3.2. Each of the N unlabeled examples
  holds the class of its latest confident prediction, or -1 while it has
  none; an example counts towards its class.

  Args:
    latest_labels: int ``[N]``, classes in ``[0, C)`` or -1.
    num_classes: C.

  Returns:
    \sigma, shape ``[C]``, float32.
  """
  counts = jnp.bincount(jnp.asarray(latest_labels) + 1, length=num_classes + 1)
  return counts[1:].astype(jnp.float32)


def flexmatch_thresholds(
    sigma: jax.typing.ArrayLike,
    num_unlabeled: int,
    tau: jax.typing.ArrayLike,
    warmup: bool = True,
    mapping: str = "convex",
) -> jax.Array:
  r"""FlexMatch's class-wise flexible thresholds \mathcal{T}_t(c).

  .. math::
    \beta_t(c) = \frac{\sigma_t(c)}{\max\big(\max_{c'} \sigma_t(c'),\;
                 N - \sum_{c'} \sigma_t(c')\big)}, \qquad
    \mathcal{T}_t(c) = \mathcal{M}(\beta_t(c)) \cdot \tau, \qquad
    \mathcal{M}(x) = \frac{x}{2 - x}

  Zhang et al., 2021, Secs. 3.2-3.3: the normalized learning effect with the
  threshold warm-up, whose denominator also counts the N - sum sigma
  examples without a confident prediction, so that early in training every
  beta rises gradually from 0. Without the warm-up the denominator
  is max_c sigma(c). M is the convex mapping of Sec. 3.3 ("linear": M(x) =
  x). While no example has a confident prediction beta is 0.

  Args:
    sigma: The learning effect, shape ``[C]`` (:func:`learning_effect`).
    num_unlabeled: N, the size of the unlabeled set.
    tau: The pre-defined threshold (0.95 in the paper).
    warmup: Whether to apply the threshold warm-up.
    mapping: "convex" or "linear".

  Returns:
    Thresholds, shape ``[C]``, float32.
  """
  sigma = upcast(sigma)
  denominator = jnp.max(sigma)
  if warmup:
    denominator = jnp.maximum(denominator, num_unlabeled - jnp.sum(sigma))
  beta = sigma / jnp.maximum(denominator, 1.0)
  if mapping == "convex":
    beta = beta / (2.0 - beta)
  elif mapping != "linear":
    raise ValueError(f"mapping={mapping!r}; use one of {MAPPINGS}")
  return beta * tau


def class_thresholds_mask(probs: jax.typing.ArrayLike,
                          thresholds: jax.typing.ArrayLike) -> jax.Array:
  r"""Mask 1(max_c q_c >= T(argmax_c q_c)) for class-wise thresholds T, as float32.

  The mask of FlexMatch (Zhang et al., 2021) and FreeMatch (Wang et al.,
  2023): each prediction is held to the threshold of its class.

  Args:
    probs: Probabilities q, shape ``[N, C]``.
    thresholds: T, shape ``[C]``.

  Returns:
    Mask with values in {0, 1}, shape ``[N]``, float32.
  """
  probs = upcast(probs)
  classes = jnp.argmax(probs, axis=-1)
  return (jnp.max(probs, axis=-1) >= jnp.asarray(thresholds)[classes]).astype(jnp.float32)


def update_global_threshold(
    tau: jax.typing.ArrayLike,
    probs: jax.typing.ArrayLike,
    momentum: jax.typing.ArrayLike,
) -> jax.Array:
  r"""FreeMatch's self-adaptive global threshold, an EMA of the mean confidence.

  .. math::
    \tau_t = \lambda \tau_{t-1} + (1 - \lambda) \frac{1}{\mu B}
             \sum_{b=1}^{\mu B} \max(q_b)

  Wang et al., 2023, "FreeMatch: Self-adaptive Thresholding for
  Semi-supervised Learning", Sec. 3.2, with \tau_0 = 1/C.

  Args:
    tau: \tau_{t-1}, a scalar.
    probs: This batch's weak-view predictions q_b, shape ``[N, C]``.
    momentum: \lambda in [0, 1) (0.999 in the paper).

  Returns:
    \tau_t, a float32 scalar.
  """
  confidence = jnp.mean(jnp.max(upcast(probs), axis=-1))
  return momentum * upcast(tau) + (1.0 - momentum) * confidence


def freematch_thresholds(tau: jax.typing.ArrayLike,
                         class_marginal: jax.typing.ArrayLike) -> jax.Array:
  r"""FreeMatch's self-adaptive class-wise thresholds.

  .. math::
    \tau_t(c) = \mathrm{MaxNorm}(\tilde p_t(c)) \cdot \tau_t
              = \frac{\tilde p_t(c)}{\max_{c'} \tilde p_t(c')} \cdot \tau_t

  Wang et al., 2023, Sec. 3.2. \tilde p_t is the EMA of the mean prediction
  (:func:`update_marginal` with \tilde p_0(c) = 1/C) and \tau_t the
  global threshold (:func:`update_global_threshold`).

  Args:
    tau: \tau_t, a scalar.
    class_marginal: \tilde p_t, shape ``[C]``, positive.

  Returns:
    Thresholds, shape ``[C]``, float32.
  """
  class_marginal = upcast(class_marginal)
  return class_marginal / jnp.max(class_marginal) * tau


def _sum_normalized_ratio(numerator, denominator):
  """SumNorm(numerator / denominator), a class with denominator 0 given 0."""
  nonzero = denominator > 0
  ratio = jnp.where(nonzero, numerator / jnp.where(nonzero, denominator, 1.0), 0.0)
  return ratio / jnp.maximum(jnp.sum(ratio), jnp.finfo(ratio.dtype).tiny)


def fairness_loss(
    strong_logits: jax.typing.ArrayLike,
    mask: jax.typing.ArrayLike,
    class_marginal: jax.typing.ArrayLike,
    label_histogram: jax.typing.ArrayLike,
) -> jax.Array:
  r"""FreeMatch's self-adaptive fairness loss (a scalar for the batch).

  .. math::
    \mathcal{L}_f = -H\Big(\mathrm{SumNorm}\big(\tfrac{\tilde p_t}{\tilde h_t}\big),
                           \mathrm{SumNorm}\big(\tfrac{\bar p}{\bar h}\big)\Big),
    \quad \bar p = \frac{1}{\mu B} \sum_b \mathbb{1}_b\, Q_b, \quad
    \bar h = \mathrm{Hist}_{\mu B}\big(\mathbb{1}_b\, \hat Q_b\big)

  Wang et al., 2023, Sec. 3.3. Q_b = p_m(y | A(u_b)) is the strong
  view's prediction, \hat Q_b its argmax, 1_b the self-adaptive threshold's
  mask, \tilde p_t the EMA of the mean prediction and \tilde h_t the EMA of
  the histogram of weak-view pseudo-labels (:func:`update_marginal` of
  one-hot labels, \tilde h_0(c) = 1/C). H(p, q) = -sum_c p_c log q_c; the
  loss is minimized, so the cross-entropy of the batch's mean prediction to
  the running one is maximized, pushing the model towards diverse classes.
  A class the masked batch never predicts (\bar h(c) = 0) has ratio 0 and
  adds nothing (the authors' code adds its target times log 1e-12, a
  constant without gradient); with no example above the threshold the loss
  is 0. Gradients flow through Q only.

  Args:
    strong_logits: Logits on the strong views, shape ``[N, C]``.
    mask: The threshold mask, shape ``[N]``.
    class_marginal: \tilde p_t, shape ``[C]``.
    label_histogram: \tilde h_t, shape ``[C]``.

  Returns:
    \mathcal{L}_f, a float32 scalar.
  """
  probs = jax.nn.softmax(upcast(strong_logits), axis=-1)
  mask = upcast(mask)
  histogram = jnp.sum(mask[:, None] * jax.nn.one_hot(jnp.argmax(probs, -1), probs.shape[-1]),
                      axis=0)
  mean_probs = jnp.sum(mask[:, None] * probs, axis=0) / probs.shape[0]
  target = jax.lax.stop_gradient(
      _sum_normalized_ratio(upcast(class_marginal), upcast(label_histogram)))
  prediction = _sum_normalized_ratio(mean_probs, histogram)
  loss = jnp.sum(target * safe_log(prediction))
  return jnp.where(jnp.sum(mask) > 0, loss, 0.0)


def update_confidence_moments(
    mean: jax.typing.ArrayLike,
    variance: jax.typing.ArrayLike,
    probs: jax.typing.ArrayLike,
    momentum: jax.typing.ArrayLike,
) -> tuple[jax.Array, jax.Array]:
  r"""SoftMatch's EMAs of the mean and variance of the confidence max(q).

  .. math::
    \hat\mu_t = \lambda \hat\mu_{t-1} + (1 - \lambda) \frac{1}{\mu B} \sum_b \max(q_b),
    \qquad
    \hat\sigma^2_t = \lambda \hat\sigma^2_{t-1} + (1 - \lambda)
                     \frac{1}{\mu B - 1} \sum_b \big(\max(q_b) - \hat\mu_b\big)^2

  Chen et al., 2023, "SoftMatch: Addressing the Quantity-Quality Trade-off
  in Semi-supervised Learning", Sec. 3.2, started at \hat\mu_0 = 1/C and
  \hat\sigma^2_0 = 1; \hat\mu_b is the batch mean and the batch variance is
  the unbiased one.

  Args:
    mean: \hat\mu_{t-1}, a scalar.
    variance: \hat\sigma^2_{t-1}, a scalar.
    probs: This batch's predictions q_b, shape ``[N, C]``, N > 1.
    momentum: \lambda in [0, 1) (0.999 in the paper).

  Returns:
    (\hat\mu_t, \hat\sigma^2_t), float32 scalars.
  """
  confidence = jnp.max(upcast(probs), axis=-1)
  return (momentum * upcast(mean) + (1.0 - momentum) * jnp.mean(confidence),
          momentum * upcast(variance) + (1.0 - momentum) * jnp.var(confidence, ddof=1))


def truncated_gaussian_weight(
    probs: jax.typing.ArrayLike,
    mean: jax.typing.ArrayLike,
    variance: jax.typing.ArrayLike,
    num_sigma: jax.typing.ArrayLike = 2.0,
    max_weight: jax.typing.ArrayLike = 1.0,
) -> jax.Array:
  r"""SoftMatch's truncated Gaussian weight of each pseudo-label.

  .. math::
    \lambda(q) = \begin{cases}
      \lambda_{\max} \exp\Big(-\frac{(\max(q) - \hat\mu_t)^2}{2 \hat\sigma_t^2 / n^2}\Big)
        & \max(q) < \hat\mu_t \\
      \lambda_{\max} & \text{otherwise}
    \end{cases}

  Chen et al., 2023, Sec. 3.2, with the EMA moments of
  :func:`update_confidence_moments`. n scales the width: n = 1 is the
  Gaussian of standard deviation \hat\sigma_t as the paper prints it; the
  authors' released code (USB, ``n_sigma``) uses n = 2, a deviation of
  \hat\sigma_t / 2.

  Args:
    probs: Predictions q, shape ``[N, C]``.
    mean: \hat\mu_t.
    variance: \hat\sigma^2_t > 0.
    num_sigma: n.
    max_weight: \lambda_{\max}.

  Returns:
    Weights in (0, \lambda_{\max}], shape ``[N]``, float32.
  """
  below = jnp.minimum(jnp.max(upcast(probs), axis=-1) - mean, 0.0)
  return max_weight * jnp.exp(-below**2 / (2.0 * variance / num_sigma**2))


def dash_threshold(
    stage: jax.typing.ArrayLike,
    rho_hat: jax.typing.ArrayLike,
    scale: jax.typing.ArrayLike = 1.0001,
    decay: jax.typing.ArrayLike = 1.27,
    minimum: jax.typing.ArrayLike = 0.0,
) -> jax.Array:
  r"""Dash's dynamic threshold on the unlabeled loss.

  .. math::
    \rho_t = \max\big(C \gamma^{-(t-1)} \hat\rho,\; \rho_{\min}\big)

  Xu et al., 2021, "Dash: Semi-Supervised Learning with Dynamic
  Thresholding", Sec. 3, with C = 1.0001 and \gamma = 1.27 (Sec. 5), t = 1,
  2, ... counting the threshold's updates; ``stage`` is t - 1. \hat\rho is
  the supervised loss after the warm-up. The floor \rho_{\min} is the
  authors' released code's (0.05 in USB); 0 leaves the formula as printed.

  Args:
    stage: t - 1 >= 0.
    rho_hat: \hat\rho.
    scale: C.
    decay: \gamma > 1.
    minimum: \rho_{\min}.

  Returns:
    \rho_t, a float32 scalar.
  """
  rho = scale * jnp.power(decay, -upcast(stage)) * upcast(rho_hat)
  return jnp.maximum(rho, minimum)


def loss_threshold_mask(pseudo_probs: jax.typing.ArrayLike, rho: jax.typing.ArrayLike) -> jax.Array:
  r"""Dash's selection 1(\ell(q_b) <= \rho_t) of unlabeled examples, as float32.

  .. math::
    \ell(q_b) = H(\hat q_b, q_b) = -\log \max(q_b), \qquad \hat q_b = \arg\max(q_b)

  Xu et al., 2021, Sec. 3: an example is kept while the loss of the weak
  view's prediction to its own hard pseudo-label is at most \rho_t, i.e.
  while max(q_b) >= exp(-\rho_t); as \rho_t decays the selection tightens.

  Args:
    pseudo_probs: Weak-view predictions q, shape ``[N, C]``.
    rho: \rho_t.

  Returns:
    Mask with values in {0, 1}, shape ``[N]``, float32.
  """
  loss = -jnp.log(jnp.max(upcast(pseudo_probs), axis=-1))
  return (loss <= rho).astype(jnp.float32)


def relative_confidence_threshold(labeled_probs: jax.typing.ArrayLike,
                                  tau: jax.typing.ArrayLike) -> jax.Array:
  r"""AdaMatch's relative confidence threshold, from the labeled batch's confidence.

  .. math::
    c_\tau = \tau \cdot \frac{1}{B} \sum_{b=1}^{B} \max_c p_{b,c}

  Berthelot et al., 2022, "AdaMatch: A Unified Approach to Semi-Supervised
  Learning and Domain Adaptation", Sec. 3.4 (\tau = 0.9): the threshold
  scales with how confident the model is on the labeled (source) weak
  views p_b, so it stays reachable while the model is unsure and tightens as
  it fits the labels. Pseudo-labels with max q >= c_tau are kept
  (:func:`confidence_mask`).

  Args:
    labeled_probs: Predictions on the labeled weak views, shape ``[B, C]``.
    tau: \tau in [0, 1].

  Returns:
    c_\tau, a float32 scalar.
  """
  return tau * jnp.mean(jnp.max(upcast(labeled_probs), axis=-1))
