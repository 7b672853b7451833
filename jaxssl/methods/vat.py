"""Virtual Adversarial Training (Miyato et al., 2018, "Virtual Adversarial Training: a
Regularization Method for Supervised and Semi-Supervised Learning", TPAMI).

  L = -(1/|B_l|) sum_{i in B_l} log p(y_i | x_i, theta)
      + alpha(t) (1/|B|) sum_{x in B} LDS(x, theta),
  LDS(x, theta) = KL[p(y | x, theta^) || p(y | x + r_vadv, theta)],
  r_vadv = eps g / ||g||_2,  g = grad_r KL[p(y | x, theta^) || p(y | x + r, theta^)] at r = xi d,

with d a random unit vector refined by K power iterations,
theta^ the current parameters held constant (the clean prediction is a
`stop_gradient` target), and B the labeled plus unlabeled batch.
alpha(t) ramps up like the other consistency methods (Oliver et al., 2018);
`rampup_steps = 0` gives Miyato et al.'s constant alpha.

Options:
- max_weight (alpha), rampup_steps, epsilon, num_power_iterations (K), xi;
- `power_iteration`: "hvp" (default; the exact Hessian-vector product by
  forward-over-reverse differentiation, which works in bfloat16) or
  "finite_difference" (the paper's g = grad_r D at r = xi d, which needs
  float32 at xi = 1e-6); see `losses.virtual_adversarial_perturbation`;
- `entmin`: VAT + EntMin adds
  lambda (1/|B_u|) sum_{x in B_u} H(p(y | x, theta)) on the unlabeled batch.
- `adversarial` in {"none", "l2", "linf"}: adversarial training on labeled
  data (Goodfellow et al., 2015, "Explaining and Harnessing Adversarial
  Examples"; Miyato et al.'s L_adv) adds
  beta (1/|B_l|) sum_{i in B_l} -log p(y_i | x_i + r_adv), with
  r_adv = eps sign(grad_x) (linf) or eps grad_x / ||grad_x||_2 (l2) of the
  labeled cross-entropy.

Epsilons are L2 (or L-inf) norms in the [0, 1] image space that `apply_fn`
takes, before its per-channel normalization.

Batch norm and dropout: every pass runs in training mode, as in the VAT
reference code. Only the clean pass's new batch statistics are kept; the
perturbed passes normalize with their own batch statistics but their running
averages are discarded (the reference code's `update_batch_stats=False`).
The perturbed passes reuse the clean pass's dropout key on a batch of the
same shape, so they draw the same dropout masks and the LDS measures the
effect of r alone.
"""

import jax
import jax.numpy as jnp

from jaxssl import augment, losses
from jaxssl.methods import base, common, options

ADVERSARIAL_NORMS = ("none", "l2", "linf")
OPTIONS = {
    "max_weight": options.Number(low=0.0),
    "rampup_steps": options.Number(low=0, integer=True),
    "epsilon": options.Number(low=0.0, low_open=True),
    "xi": options.Number(low=0.0, low_open=True),
    "num_power_iterations": options.Number(low=1, integer=True),
    "power_iteration": options.Choice(losses.POWER_ITERATION_METHODS),
    "entmin": options.Flag(),
    "entmin_weight": options.Number(low=0.0),
    "adversarial": options.Choice(ADVERSARIAL_NORMS),
    "adversarial_epsilon": options.Number(low=0.0, low_open=True),
    "adversarial_weight": options.Number(low=0.0),
}


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  opts = options.read(method_config, OPTIONS)

  def loss_fn(params, extra, batch, key, step, apply_fn):
    del extra
    augment_key, dropout_key, vat_key = jax.random.split(key, 3)
    images = augment.weak(
        augment_key,
        augment.to_float(jnp.concatenate([batch["image"], batch["unlabeled_image"]])),
        flip=flip)
    logits, batch_stats = apply_fn(params, images, True, dropout_key)

    def logits_fn(x):
      return apply_fn(params, x, True, dropout_key)[0]

    lds = losses.vat_loss(logits_fn, images, vat_key, opts.epsilon, xi=opts.xi,
                          num_iterations=opts.num_power_iterations,
                          clean_logits=jax.lax.stop_gradient(logits),
                          method=opts.power_iteration)
    num_labeled = batch["label"].shape[0]
    loss, metrics = common.ramped_consistency(
        common.labeled_cross_entropy(logits[:num_labeled], batch["label"]), lds.mean(), step,
        opts, jax.nn.softmax(logits[num_labeled:]), batch["unlabeled_label"])
    if opts.entmin:
      entropy = losses.entropy_with_logits(logits[num_labeled:]).mean()
      loss += opts.entmin_weight * entropy
      metrics["entropy_loss"] = entropy
    if opts.adversarial != "none":
      adversarial = losses.adversarial_loss(
          logits_fn, images[:num_labeled], jax.nn.one_hot(batch["label"], logits.shape[-1]),
          opts.adversarial_epsilon, opts.adversarial).mean()
      loss += opts.adversarial_weight * adversarial
      metrics["adversarial_loss"] = adversarial
    return loss, {"batch_stats": batch_stats, "metrics": metrics}

  return base.Method(loss_fn=loss_fn)
