"""GAN-based semi-supervised learning with K logits and an implicit fake class.

Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen, 2016, "Improved
Techniques for Training GANs", Sec. 5. The classifier's K logits l_1..l_K
double as a discriminator: with a (K+1)-th "generated" logit fixed at 0,

  Z(x) = sum_k exp(l_k(x)),   D(x) = p(real | x) = Z(x) / (Z(x) + 1),

and the classifier is trained on

  L_supervised   = -E_{x,y ~ labeled} log p(y | x, y < K+1)   (softmax cross-entropy over K)
  L_unsupervised = -E_{u ~ unlabeled} log D(u) - E_{z ~ noise} log(1 - D(G(z))).

With s(x) = logsumexp_k l_k(x) = log Z(x) both terms are softplus, stable for
any logits:  -log D(x) = softplus(-s(x)),  -log(1 - D(x)) = softplus(s(x)).

The generator is trained by feature matching (Sec. 3.1) on an intermediate
layer f of the classifier:  || E_x f(x) - E_z f(G(z)) ||_2^2.

The per-example terms return one value per example for the caller to reduce;
feature matching compares two batch means and returns one scalar.
"""

import jax
import jax.numpy as jnp

from jaxssl.losses._numerics import upcast

FEATURE_DISTANCES = ("squared_l2", "l1")


def real_probability(logits: jax.typing.ArrayLike) -> jax.Array:
  r"""D(x) = Z(x) / (Z(x) + 1) = sigmoid(logsumexp_k l_k(x)), the probability "real".

  Args:
    logits: the classifier's K logits, shape ``[..., K]``.

  Returns:
    Per-example D(x), shape ``[...]``, float32 (or wider).
  """
  return jax.nn.sigmoid(jax.nn.logsumexp(upcast(logits), axis=-1))


def gan_real_loss(logits: jax.typing.ArrayLike) -> jax.Array:
  r"""-log D(u) = softplus(-logsumexp_k l_k(u)): an unlabeled (real) image's term.

  Salimans et al. (2016), Sec. 5: the first half of L_unsupervised. It falls
  as the classifier's logits grow, i.e. as it calls the image real.

  Args:
    logits: K logits of unlabeled real images, shape ``[..., K]``.

  Returns:
    Per-example -log D(u), shape ``[...]``.
  """
  return jax.nn.softplus(-jax.nn.logsumexp(upcast(logits), axis=-1))


def gan_fake_loss(logits: jax.typing.ArrayLike) -> jax.Array:
  r"""-log(1 - D(G(z))) = softplus(logsumexp_k l_k(G(z))): a generated image's term.

  Salimans et al. (2016), Sec. 5: the second half of L_unsupervised;
  1 - D(x) = 1 / (Z(x) + 1) is the probability of the implicit fake class.

  Args:
    logits: K logits of generated images, shape ``[..., K]``.

  Returns:
    Per-example -log(1 - D(G(z))), shape ``[...]``.
  """
  return jax.nn.softplus(jax.nn.logsumexp(upcast(logits), axis=-1))


def feature_matching_loss(real_features: jax.typing.ArrayLike,
                          fake_features: jax.typing.ArrayLike,
                          distance: str = "squared_l2") -> jax.Array:
  r"""The generator's feature-matching loss between the batch means of two feature sets.

  .. math::
    \text{squared\_l2}: \; \| \bar f_x - \bar f_g \|_2^2, \qquad
    \text{l1}: \; \tfrac{1}{d} \sum_j | \bar f_{x,j} - \bar f_{g,j} |

  with \bar f_x = E_x f(x) over real images and \bar f_g = E_z f(G(z)) over
  generated ones (Salimans et al., 2016, Sec. 3.1). "squared_l2" is the
  paper's formula; "l1" the mean absolute difference of the authors'
  released code (openai/improved-gan, `loss_gen`). Gradients flow into both
  arguments: stop them on the real side when only the generator learns.

  Args:
    real_features: f(x), shape ``[N, d]`` (more axes are flattened into d).
    fake_features: f(G(z)), shape ``[M, d]``.
    distance: one of FEATURE_DISTANCES.

  Returns:
    The scalar distance, float32 (or wider).
  """
  if distance not in FEATURE_DISTANCES:
    raise ValueError(f"distance={distance!r}; use one of {FEATURE_DISTANCES}.")
  real, fake = upcast(real_features), upcast(fake_features)
  difference = (real.reshape(real.shape[0], -1).mean(0)
                - fake.reshape(fake.shape[0], -1).mean(0))
  if distance == "squared_l2":
    return jnp.sum(jnp.square(difference))
  return jnp.mean(jnp.abs(difference))
