"""DeiT: data-efficient image transformers and distillation through attention.

Touvron, Cord, Douze, Massa, Sablayrolles & Jegou, "Training data-efficient
image transformers & distillation through attention", ICML 2021.

A (ViT) student learns from the labels and from a frozen teacher, with
Z_s, Z_t the student and teacher logits, psi the softmax and y the label:

  none:  L = L_CE(psi(Z_s), y)
  soft:  L = (1 - lambda) L_CE(psi(Z_s), y) + lambda tau^2 KL(psi(Z_s / tau), psi(Z_t / tau))
  hard:  L = 1/2 L_CE(psi(Z_s), y) + 1/2 L_CE(psi(Z_s), y_t),   y_t = argmax_c Z_t(c)

With a distillation token the student has two heads: the class head takes the
label term and the distillation head the teacher term (Sec. 4). The teacher
sees the same augmented images as the student and gets no gradient; the train
loop hands it in as `teacher_fn` (see jaxssl.finetune, which loads it with
jaxssl.teacher).

The training recipe is a set of toggles in `cfg.method`, one per column of
DeiT's ablation table (Table 8), applied in the order of DeiT's pipeline:
repeated augmentation (Hoffer et al., 2020), flip-and-shift (standing in for
random-resized-crop), RandAugment (Cubuk et al., 2020) or a simplified
AutoAugment (`AUTOAUGMENT_POLICY`), label smoothing (Szegedy et al., 2016),
random erasing (Zhong et al., 2020), then MixUp (Zhang et al., 2018) or
CutMix (Yun et al., 2019). Dropout, stochastic depth, EMA and the optimizer
are `cfg.method` fields that configs/deit.py links to the model, train-loop
and optimizer fields.
"""

import jax
import jax.numpy as jnp
import optax

from jaxssl import augment, losses
from jaxssl.errors import ConfigError
from jaxssl.methods import base

DISTILLATIONS = ("none", "soft", "hard")

# A simplified AutoAugment (Cubuk et al., 2019): not the 25 learned ImageNet
# sub-policies with their probabilities and magnitudes, but 2 ops per image
# drawn uniformly from the 9 ops those sub-policies use (Invert, the tenth, is
# not in jaxssl.augment), at the fixed magnitude `AUTOAUGMENT_MAGNITUDE`.
AUTOAUGMENT_POLICY = {name: augment.FIXMATCH_POLICY[name] for name in (
    "AutoContrast", "Color", "Contrast", "Equalize", "Posterize", "Rotate", "Sharpness",
    "ShearX", "Solarize")}
AUTOAUGMENT_MAGNITUDE = 0.5


def validate(cfg) -> None:
  """Refuses recipe settings the loss can't run with."""
  method = cfg.method
  if method.distillation not in DISTILLATIONS:
    raise ConfigError(f"config.method.distillation={method.distillation!r}; use one of "
                      f"{DISTILLATIONS}.")
  if method.randaugment and method.autoaugment:
    raise ConfigError("config.method.randaugment and config.method.autoaugment are both on; "
                      "DeiT uses one or the other, so turn one off.")
  if not 1 <= method.repeated_augmentation <= cfg.batch_size:
    raise ConfigError(
        f"config.method.repeated_augmentation={method.repeated_augmentation} must be between 1 "
        f"(off) and config.batch_size={cfg.batch_size}.")
  if not 0.0 <= method.label_smoothing < 1.0:
    raise ConfigError(f"config.method.label_smoothing={method.label_smoothing} must be in [0, 1).")


def repeat_images(images, labels, repeats: int):
  """Repeated augmentation: ceil(B / r) sampled images, r copies each, cut to B.

  The copies are augmented independently afterwards (Hoffer et al., 2020).
  """
  size, unique = images.shape[0], -(-images.shape[0] // repeats)
  return (jnp.repeat(images[:unique], repeats, axis=0)[:size],
          jnp.repeat(labels[:unique], repeats, axis=0)[:size])


def mix(key, images, targets, cfg):
  """MixUp or CutMix on the batch; with both on, one of them per step, each with probability 1/2."""
  method = cfg.method
  choice_key, mixup_key, cutmix_key = jax.random.split(key, 3)
  if method.mixup and method.cutmix:
    mixed_up = augment.mixup_batch(mixup_key, images, targets, method.mixup)
    cut_mixed = augment.cutmix_batch(cutmix_key, images, targets, method.cutmix)
    use_cutmix = jax.random.bernoulli(choice_key)
    return jax.tree.map(lambda a, b: jnp.where(use_cutmix, a, b), cut_mixed, mixed_up)
  if method.mixup:
    return augment.mixup_batch(mixup_key, images, targets, method.mixup)
  if method.cutmix:
    return augment.cutmix_batch(cutmix_key, images, targets, method.cutmix)
  return images, targets


def augment_batch(key, images_uint8, labels, cfg):
  """DeiT's training pipeline on uint8 images; returns float images and target distributions."""
  method = cfg.method
  weak_key, policy_key, erase_key, mix_key = jax.random.split(key, 4)
  images, labels = repeat_images(augment.to_float(images_uint8), labels,
                                 method.repeated_augmentation)
  images = augment.weak(weak_key, images, flip=cfg.data.flip)
  if method.randaugment:
    images = augment.randaugment(policy_key, images, num_ops=method.randaugment_num_ops,
                                 magnitude=method.randaugment_magnitude)
  if method.autoaugment:
    images = augment.randaugment(policy_key, images, num_ops=2,
                                 magnitude=AUTOAUGMENT_MAGNITUDE, policy=AUTOAUGMENT_POLICY)
  if method.random_erasing:
    images = augment.random_erasing(erase_key, images, probability=method.random_erasing)
  # Label smoothing: q = (1 - eps) onehot(y) + eps / K.
  targets = optax.smooth_labels(jax.nn.one_hot(labels, cfg.data.num_classes),
                                method.label_smoothing)
  return mix(mix_key, images, targets, cfg)


def loss_fn(params, extra, batch, key, step, apply_fn, cfg, teacher_fn=None):
  """DeiT's objective on one augmented labeled batch (Touvron et al., 2021, eqs. 2-3).

  soft: (1 - lambda) CE(psi(Z_s), y) + lambda tau^2 KL(psi(Z_t / tau) || psi(Z_s / tau));
  hard: 1/2 CE(psi(Z_s), y) + 1/2 CE(psi(Z_d), y_t); none: CE(psi(Z_s), y). Z_d is
  the distillation head (Z_s without a token); y the smoothed, mixed labels;
  `teacher_fn(images) -> Z_t` the frozen teacher.
  """
  del extra, step
  method = cfg.method
  augment_key, dropout_key = jax.random.split(key)
  images, targets = augment_batch(augment_key, batch["image"], batch["label"], cfg)
  outputs, batch_stats = apply_fn(params, images, True, dropout_key)
  class_logits, distill_logits = outputs if isinstance(outputs, tuple) else (outputs, None)
  metrics = {"train_accuracy": jnp.mean(jnp.argmax(class_logits, -1) ==
                                        jnp.argmax(targets, -1))}
  if method.distillation == "none":
    per_example = losses.softmax_cross_entropy(class_logits, targets)
    if distill_logits is not None:  # a token without a teacher learns the labels too
      per_example = (per_example + losses.softmax_cross_entropy(distill_logits, targets)) / 2
  else:
    if teacher_fn is None:
      raise ConfigError(
          f"DeiT with distillation={method.distillation!r} needs a teacher: run it through "
          "launch.py / jaxssl.train.run with config.method.teacher_workdir set to a finished "
          "run's workdir, or set config.method.distillation='none'.")
    teacher_logits = jax.lax.stop_gradient(teacher_fn(images))
    if method.distillation == "soft":
      per_example = losses.soft_distillation_loss(
          class_logits, teacher_logits, targets, method.tau, method.lam,
          distill_logits=distill_logits)
    else:
      per_example = losses.hard_distillation_loss(
          class_logits, teacher_logits, targets, distill_logits=distill_logits)
    student_logits = class_logits if distill_logits is None else distill_logits
    metrics["teacher_agreement"] = jnp.mean(
        jnp.argmax(student_logits, -1) == jnp.argmax(teacher_logits, -1))
  loss = per_example.mean()
  metrics["supervised_loss"] = loss
  return loss, {"batch_stats": batch_stats, "metrics": metrics}


METHOD = base.Method(init_extra=base.no_extra, loss_fn=loss_fn,
                     update_extra=base.keep_extra, eval_params=base.student_params)
