"""GAN-based semi-supervised learning with feature matching (Salimans et al., 2016).

Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen, "Improved Techniques
for Training GANs", NeurIPS 2016, Sec. 3.1 and 5. The classifier's K logits
are also a discriminator against an implicit fake class (`losses.gan`):
D(x) = Z(x) / (Z(x) + 1), Z(x) = sum_k exp(l_k(x)). It is trained on

  L_D = L_supervised + w L_unsupervised
  L_supervised   = -(1/B) sum_b log p(y_b | x_b)                 (softmax over K)
  L_unsupervised = -(1/N) sum_u log D(u) - (1/N) sum_z log(1 - D(G(z)))

and the generator G on feature matching against the classifier's globally
pooled features f (the penultimate layer):

  L_G = || (1/N) sum_u f(u) - (1/N) sum_z f(G(z)) ||_2^2       (feature_distance "squared_l2")

(or the mean absolute difference of the authors' code, "l1"). The authors'
code scales its unsupervised term by 1/2: w = 0.5 reproduces it.

Two networks in one compiled step. The classifier's parameters are the
run's `params`, trained by the run's optimizer. The generator's parameters
and its own Adam state live in the method's `extra` ({"generator": {"params",
"opt_state"}}), carried, replicated and checkpointed with the train state,
and updated inside `loss_fn` with `jax.grad` of L_G (the classifier's
parameters behind a stop_gradient); `aux["generator"]` hands the new state
to `update_extra`. The method contract is unchanged.

Order of updates. The paper's code alternates: a classifier step against the
current generator, then a generator step against the classifier just
updated. Step t here runs the generator step first, against theta_t (the
classifier as the previous step's optimizer update left it), then computes
L_D with samples of the generator just updated; the run's optimizer then
makes theta_{t+1}. That is the same alternation (... D, G, D, G ...), with
every generator step seeing the latest classifier, begun with a generator
step against the initial classifier rather than a classifier step.

Each generator step and each classifier step draws its own z ~ U[0, 1)^d and
its own dropout; the generator step's real features are those of the step's
unlabeled batch. No augmentation, as in the paper. The generator runs in
float32 (config.dtype sets the classifier's compute only) and starts from a
fixed initialization (`GENERATOR_INIT_SEED`); the run's seed varies the
classifier's initialization and every draw.

The classifier must return (logits, features) in training mode:
`config.model.name = "gan_discriminator"` with `kwargs.return_features = True`
(the paper's network, configs/gan_ssl.py).

Options: unlabeled_weight (w), feature_distance, generator (a name in
`gan_generator.GENERATORS`), noise_dim (d), generator_learning_rate and
generator_b1 (its Adam's rate and beta_1; beta_2 = 0.999) and schedule_steps
(the horizon of the generator's rate: constant for the first 2/3, then
linearly to 0, as the classifier's `optimizer.schedule = "linear_tail"`).
"""

import jax
import jax.numpy as jnp
import optax

from jaxssl import augment, losses
from jaxssl.errors import ConfigError
from jaxssl.methods import base, common, gan_generator, options

OPTIONS = {
    "unlabeled_weight": options.Number(low=0.0),
    "feature_distance": options.Choice(losses.FEATURE_DISTANCES),
    "generator": options.Choice(tuple(gan_generator.GENERATORS)),
    "noise_dim": options.Number(low=1, integer=True),
    "generator_learning_rate": options.Number(low=0.0, low_open=True),
    "generator_b1": options.Number(0.0, 1.0, high_open=True),
    "schedule_steps": options.Number(low=1, integer=True),
}
GENERATOR_INIT_SEED = 0


def linear_tail(learning_rate: float, total_steps: int) -> optax.Schedule:
  """eta(k) = eta_0 min(3 (1 - k / K), 1): constant for 2K/3 steps, then linearly to 0.

  Salimans et al.'s code: lr * min(3 - epoch / 400, 1) over 1,200 epochs
  (CIFAR-10), lr * min(3 - epoch / 300, 1) over 900 (SVHN).
  """
  def schedule(step):
    return learning_rate * jnp.clip(3.0 * (1.0 - step / total_steps), 0.0, 1.0)
  return schedule


def features_of(outputs):
  """(logits, features) from the classifier's training-mode output, or a ConfigError."""
  if not isinstance(outputs, tuple):
    raise ConfigError(
        "gan_ssl trains its generator by feature matching on the classifier's features, but "
        "the model returns logits alone. Use config.model.name='gan_discriminator' with "
        "config.model.kwargs.return_features=True (configs/gan_ssl.py).")
  return outputs


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, flip
  opts = options.read(method_config, OPTIONS)
  scale = 2 ** gan_generator.upsamplings(opts.generator)
  if image_shape[0] % scale or image_shape[1] % scale:
    raise ConfigError(
        f"config.method.generator={opts.generator!r} doubles its map "
        f"{gan_generator.upsamplings(opts.generator)} times, so the image side must be a "
        f"multiple of {scale}; the images are {image_shape[0]}x{image_shape[1]}. Pick another "
        f"generator ({', '.join(gan_generator.GENERATORS)}) or set config.data.image_size.")
  generator = gan_generator.Generator(tuple(image_shape),
                                      gan_generator.GENERATORS[opts.generator])
  generator_optimizer = optax.adam(
      linear_tail(opts.generator_learning_rate, opts.schedule_steps), b1=opts.generator_b1)

  def generate(generator_params, key, num):
    z = jax.random.uniform(key, (num, opts.noise_dim))
    return generator.apply({"params": generator_params}, z)

  def init_extra(params, *, num_unlabeled):
    del params, num_unlabeled
    generator_params = generator.init(jax.random.key(GENERATOR_INIT_SEED),
                                      jnp.zeros((1, opts.noise_dim)))["params"]
    return {"generator": {"params": generator_params,
                          "opt_state": generator_optimizer.init(generator_params)}}

  def generator_step(params, state, unlabeled, key, apply_fn):
    """One Adam step on L_G against the classifier `params` (held fixed); returns (state, L_G)."""
    noise_key, dropout_key = jax.random.split(key)
    classifier = jax.lax.stop_gradient(params)

    def feature_matching(generator_params):
      fake = generate(generator_params, noise_key, unlabeled.shape[0])
      outputs, _ = apply_fn(classifier, jnp.concatenate([unlabeled, fake]), True, dropout_key)
      _, features = features_of(outputs)
      real_features, fake_features = jnp.split(features, [unlabeled.shape[0]])
      return losses.feature_matching_loss(jax.lax.stop_gradient(real_features), fake_features,
                                          opts.feature_distance)

    value, grads = jax.value_and_grad(feature_matching)(state["params"])
    updates, opt_state = generator_optimizer.update(grads, state["opt_state"], state["params"])
    return {"params": optax.apply_updates(state["params"], updates),
            "opt_state": opt_state}, value

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del step
    generator_key, noise_key, dropout_key = jax.random.split(key, 3)
    labeled = augment.to_float(batch["image"])
    unlabeled = augment.to_float(batch["unlabeled_image"])
    new_generator, feature_matching = generator_step(params, extra["generator"], unlabeled,
                                                     generator_key, apply_fn)
    fake = jax.lax.stop_gradient(
        generate(new_generator["params"], noise_key, unlabeled.shape[0]))
    # One training-mode pass over the three batches, as `common.forward_views`.
    outputs, batch_stats = apply_fn(params, jnp.concatenate([labeled, unlabeled, fake]), True,
                                    dropout_key)
    logits, _ = features_of(outputs)
    labeled_logits, unlabeled_logits, fake_logits = jnp.split(
        logits, [labeled.shape[0], labeled.shape[0] + unlabeled.shape[0]])
    supervised_loss = common.labeled_cross_entropy(labeled_logits, batch["label"])
    unsupervised_loss = (losses.gan_real_loss(unlabeled_logits).mean()
                         + losses.gan_fake_loss(fake_logits).mean())
    metrics = {
        "supervised_loss": supervised_loss,
        "unsupervised_loss": unsupervised_loss,
        "feature_matching_loss": feature_matching,
        "real_probability": losses.real_probability(unlabeled_logits).mean(),
        "fake_probability": losses.real_probability(fake_logits).mean(),
        "train_accuracy": jnp.mean(jnp.argmax(labeled_logits, -1) == batch["label"]),
        "pseudo_label_accuracy": common.pseudo_label_accuracy(
            jax.nn.softmax(jax.lax.stop_gradient(unlabeled_logits)), batch["unlabeled_label"]),
    }
    return supervised_loss + opts.unlabeled_weight * unsupervised_loss, {
        "batch_stats": batch_stats, "metrics": metrics, "generator": new_generator}

  def update_extra(extra, params, step, aux):
    """Stores the generator state that `loss_fn` stepped."""
    del extra, params, step
    return {"generator": aux["generator"]}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra)
