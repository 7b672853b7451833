"""Mean Teacher (Tarvainen & Valpola, 2017, "Mean teachers are better role models:
Weight-averaged consistency targets improve semi-supervised deep learning results").

The teacher's weights are an exponential moving average of the student's,

  theta'_t = alpha theta'_{t-1} + (1 - alpha) theta_t,

with alpha = `teacher_decay_rampup` while the consistency weight ramps up and
`teacher_decay` after (the paper: 0.99, then 0.999). The loss is

  L = -(1/|B_l|) sum_{i in B_l} log f(x_i, theta, eta)[y_i]
      + w(t) (1 / (C |B|)) sum_{i in B} ||f(x_i, theta, eta) - f(x_i, theta', eta')||^2,

where student and teacher see every image of the batch under independent
noise eta, eta' (shift, flip, Gaussian input noise, dropout), the teacher's
softmax is a `stop_gradient` target, and w(t) is the Gaussian ramp-up. "Raw"
evaluation reports the teacher (`eval_params`).

Batch norm: the teacher's forward pass is the same `apply_fn` in training
mode on its own parameters, so, as in the paper, it normalizes with the
statistics of its own batch. Its running-average update is discarded: the
batch statistics the step keeps are the student's, and since the train state
holds one set, the teacher is evaluated with the student's running averages
(close, as the teacher's weights track the student's).

Options: `common.CONSISTENCY_OPTIONS`, teacher_decay and teacher_decay_rampup.
"""

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.methods import base, common, options

OPTIONS = {**common.CONSISTENCY_OPTIONS,
           "teacher_decay": options.Number(0.0, 1.0, high_open=True),
           "teacher_decay_rampup": options.Number(0.0, 1.0, high_open=True)}


def teacher_decay(step: jax.Array, opts) -> jax.Array:
  """alpha: `teacher_decay_rampup` for step < rampup_steps, `teacher_decay` after."""
  return jnp.where(step < opts.rampup_steps, opts.teacher_decay_rampup, opts.teacher_decay)


def eval_params(params, extra):
  del params
  return extra["teacher"].ema


def make(method_config, *, num_classes, image_shape, flip) -> base.Method:
  del num_classes, image_shape
  opts = options.read(method_config, OPTIONS)

  def init_extra(params, *, num_unlabeled):
    del num_unlabeled
    return {"teacher": losses.init_teacher(params, opts.teacher_decay_rampup)}

  def loss_fn(params, extra, batch, key, step, apply_fn):
    student_key, teacher_key, student_dropout, teacher_dropout = jax.random.split(key, 4)
    images = jnp.concatenate([batch["image"], batch["unlabeled_image"]])
    logits, batch_stats = apply_fn(
        params, common.noisy_view(student_key, images, flip, opts.input_noise), True,
        student_dropout)
    teacher_logits, _ = apply_fn(
        eval_params(params, extra), common.noisy_view(teacher_key, images, flip,
                                                      opts.input_noise),
        True, teacher_dropout)
    teacher_probs = jax.lax.stop_gradient(jax.nn.softmax(teacher_logits))

    num_labeled = batch["label"].shape[0]
    loss, metrics = common.ramped_consistency(
        common.labeled_cross_entropy(logits[:num_labeled], batch["label"]),
        common.consistency_mse(jax.nn.softmax(logits), teacher_probs), step, opts,
        teacher_probs[num_labeled:], batch["unlabeled_label"])
    return loss, {"batch_stats": batch_stats, "metrics": metrics}

  def update_extra(extra, params, step, aux):
    """theta' <- alpha theta' + (1 - alpha) theta, with the new student parameters."""
    del aux
    _, teacher = losses.update_teacher(extra["teacher"], params, teacher_decay(step, opts))
    return {"teacher": teacher}

  return base.Method(loss_fn=loss_fn, init_extra=init_extra, update_extra=update_extra,
                     eval_params=eval_params)
