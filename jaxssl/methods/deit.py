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
sees the same augmented images as the student and gets no gradient; it is the
frozen input "teacher" (a `base.FrozenModel`), which jaxssl.stages loads with
jaxssl.teacher from a finished run, or trains first.

The training recipe is a set of options, one per augmentation column of
DeiT's ablation table (Table 8), applied in the order of DeiT's pipeline:
repeated augmentation (Hoffer et al., 2020), flip-and-shift (standing in for
random-resized-crop), RandAugment (Cubuk et al., 2020) or a simplified
AutoAugment (`AUTOAUGMENT_POLICY`), label smoothing (Szegedy et al., 2016),
random erasing (Zhong et al., 2020), then MixUp (Zhang et al., 2018) or
CutMix (Yun et al., 2019). The table's other columns (optimizer, dropout,
stochastic depth, EMA) are the run's own fields (configs/deit.py).
"""

import jax
import jax.numpy as jnp
import optax

from jaxssl import augment, losses
from jaxssl.errors import ConfigError
from jaxssl.methods import base, options

DISTILLATIONS = ("none", "soft", "hard")
OPTIONS = {
    "distillation": options.Choice(DISTILLATIONS),
    "tau": options.Number(low=0.0, low_open=True),       # soft distillation temperature
    "lam": options.Number(0.0, 1.0),                      # soft distillation weight lambda
    "label_smoothing": options.Number(0.0, 1.0, high_open=True),
    "randaugment": options.Flag(),
    "randaugment_num_ops": options.Number(low=0, integer=True),
    "randaugment_magnitude": options.Number(0.0, 1.0),
    "autoaugment": options.Flag(),
    "mixup": options.Number(low=0.0),                     # Beta alpha; 0: off
    "cutmix": options.Number(low=0.0),                    # Beta alpha; 0: off
    "random_erasing": options.Number(0.0, 1.0),           # probability; 0: off
    "repeated_augmentation": options.Number(low=1, integer=True),  # copies; 1: off
}

# A simplified AutoAugment (Cubuk et al., 2019): not the 25 learned ImageNet
# sub-policies with their probabilities and magnitudes, but 2 ops per image
# drawn uniformly from the 9 ops those sub-policies use (Invert, the tenth, is
# not in jaxssl.augment), at the fixed magnitude `AUTOAUGMENT_MAGNITUDE`.
AUTOAUGMENT_POLICY = {name: augment.FIXMATCH_POLICY[name] for name in (
    "AutoContrast", "Color", "Contrast", "Equalize", "Posterize", "Rotate", "Sharpness",
    "ShearX", "Solarize")}
AUTOAUGMENT_MAGNITUDE = 0.5


def repeat_images(images, labels, repeats: int):
  """Repeated augmentation: ceil(B / r) sampled images, r copies each, cut to B.

  The copies are augmented independently afterwards (Hoffer et al., 2020).
  """
  size, unique = images.shape[0], -(-images.shape[0] // repeats)
  return (jnp.repeat(images[:unique], repeats, axis=0)[:size],
          jnp.repeat(labels[:unique], repeats, axis=0)[:size])


def mix(key, images, targets, mixup_alpha, cutmix_alpha):
  """MixUp or CutMix on the batch; with both on, one of them per step, each with probability 1/2."""
  choice_key, mixup_key, cutmix_key = jax.random.split(key, 3)
  if mixup_alpha and cutmix_alpha:
    mixed_up = losses.mixup_shuffled(mixup_key, images, targets, mixup_alpha)
    cut_mixed = augment.cutmix_batch(cutmix_key, images, targets, cutmix_alpha)
    use_cutmix = jax.random.bernoulli(choice_key)
    return jax.tree.map(lambda a, b: jnp.where(use_cutmix, a, b), cut_mixed, mixed_up)
  if mixup_alpha:
    return losses.mixup_shuffled(mixup_key, images, targets, mixup_alpha)
  if cutmix_alpha:
    return augment.cutmix_batch(cutmix_key, images, targets, cutmix_alpha)
  return images, targets


def augment_batch(key, images_uint8, labels, opts, num_classes, flip):
  """DeiT's training pipeline on uint8 images; returns float images and target distributions."""
  weak_key, policy_key, erase_key, mix_key = jax.random.split(key, 4)
  images, labels = repeat_images(augment.to_float(images_uint8), labels,
                                 opts.repeated_augmentation)
  images = augment.weak(weak_key, images, flip=flip)
  if opts.randaugment:
    images = augment.randaugment(policy_key, images, num_ops=opts.randaugment_num_ops,
                                 magnitude=opts.randaugment_magnitude)
  if opts.autoaugment:
    images = augment.randaugment(policy_key, images, num_ops=2,
                                 magnitude=AUTOAUGMENT_MAGNITUDE, policy=AUTOAUGMENT_POLICY)
  if opts.random_erasing:
    images = augment.random_erasing(erase_key, images, probability=opts.random_erasing)
  # Label smoothing: q = (1 - eps) onehot(y) + eps / K.
  targets = optax.smooth_labels(jax.nn.one_hot(labels, num_classes), opts.label_smoothing)
  return mix(mix_key, images, targets, opts.mixup, opts.cutmix)


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del image_shape
  opts = options.read(method_config, OPTIONS)
  if opts.randaugment and opts.autoaugment:
    raise ConfigError("config.method.randaugment and config.method.autoaugment are both on; "
                      "DeiT uses one or the other, so turn one off.")

  def loss_fn(params, extra, batch, key, step, apply_fn):
    """DeiT's objective on one augmented labeled batch (Touvron et al., 2021, eqs. 2-3).

    soft: (1 - lambda) CE(psi(Z_s), y) + lambda tau^2 KL(psi(Z_t / tau) || psi(Z_s / tau));
    hard: 1/2 CE(psi(Z_s), y) + 1/2 CE(psi(Z_d), y_t); none: CE(psi(Z_s), y). Z_d is
    the distillation head (Z_s without a token); y the smoothed, mixed labels;
    Z_t the frozen teacher's logits (`batch["teacher"]`).
    """
    del extra, step
    augment_key, dropout_key = jax.random.split(key)
    images, targets = augment_batch(augment_key, batch["image"], batch["label"], opts,
                                    num_classes, flip)
    outputs, batch_stats = apply_fn(params, images, True, dropout_key)
    class_logits, distill_logits = outputs if isinstance(outputs, tuple) else (outputs, None)
    metrics = {"train_accuracy": jnp.mean(jnp.argmax(class_logits, -1) ==
                                          jnp.argmax(targets, -1))}
    if opts.distillation == "none":
      per_example = losses.softmax_cross_entropy(class_logits, targets)
      if distill_logits is not None:  # a token without a teacher learns the labels too
        per_example = (per_example + losses.softmax_cross_entropy(distill_logits, targets)) / 2
    else:
      teacher_logits = batch["teacher"].logits(images)
      if opts.distillation == "soft":
        per_example = losses.soft_distillation_loss(
            class_logits, teacher_logits, targets, opts.tau, opts.lam,
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

  frozen = () if opts.distillation == "none" else ("teacher",)
  return base.Method(loss_fn=loss_fn, frozen_inputs=frozen)
