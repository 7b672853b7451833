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

Options in `cfg.method`:
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
from jaxssl.errors import ConfigError
from jaxssl.methods import base, common

ADVERSARIAL_NORMS = ("none", "l2", "linf")


def init_extra(params, *, num_unlabeled, num_classes, cfg):
  """No state; checks the options when the train state is created."""
  del params, num_unlabeled, num_classes
  if cfg.method.adversarial not in ADVERSARIAL_NORMS:
    raise ConfigError(f"config.method.adversarial={cfg.method.adversarial!r}; "
                      f"use one of {ADVERSARIAL_NORMS}.")
  return {}


def loss_fn(params, extra, batch, key, step, apply_fn, cfg):
  del extra
  augment_key, dropout_key, vat_key = jax.random.split(key, 3)
  images = augment.weak(
      augment_key,
      augment.to_float(jnp.concatenate([batch["image"], batch["unlabeled_image"]])),
      flip=cfg.data.flip)
  logits, batch_stats = apply_fn(params, images, True, dropout_key)

  def logits_fn(x):
    return apply_fn(params, x, True, dropout_key)[0]

  lds = losses.vat_loss(logits_fn, images, vat_key, cfg.method.epsilon, xi=cfg.method.xi,
                        num_iterations=cfg.method.num_power_iterations,
                        clean_logits=jax.lax.stop_gradient(logits))
  num_labeled = batch["label"].shape[0]
  supervised = common.labeled_cross_entropy(logits[:num_labeled], batch["label"])
  unsupervised = lds.mean()
  weight = common.rampup_weight(step, cfg.method.max_weight, cfg.method.rampup_steps)
  loss = supervised + weight * unsupervised
  metrics = {
      "supervised_loss": supervised,
      "unsupervised_loss": unsupervised,
      "unsupervised_weight": weight,
      "pseudo_label_accuracy": common.pseudo_label_accuracy(
          jax.nn.softmax(jax.lax.stop_gradient(logits[num_labeled:])),
          batch["unlabeled_label"]),
  }
  if cfg.method.entmin:
    entropy = losses.entropy_with_logits(logits[num_labeled:]).mean()
    loss += cfg.method.entmin_weight * entropy
    metrics["entropy_loss"] = entropy
  if cfg.method.adversarial != "none":
    adversarial = losses.adversarial_loss(
        logits_fn, images[:num_labeled],
        jax.nn.one_hot(batch["label"], logits.shape[-1]),
        cfg.method.adversarial_epsilon, cfg.method.adversarial).mean()
    loss += cfg.method.adversarial_weight * adversarial
    metrics["adversarial_loss"] = adversarial
  return loss, {"batch_stats": batch_stats, "metrics": metrics}


METHOD = base.Method(init_extra=init_extra, loss_fn=loss_fn, update_extra=base.keep_extra,
                     eval_params=base.student_params)
