"""The method contract that the training loop is written against.

Each module `jaxssl/methods/<name>.py` has

    make(method_config, *, num_classes, image_shape, flip) -> Method

which reads and checks every option once (`jaxssl.methods.options`) and
closes the loss over plain values: no function of a `Method` sees a
ConfigDict. A method may keep state of its own (an EMA teacher, a
temporal-ensemble buffer) in `extra`, a pytree that the train loop carries,
replicates and checkpoints with the rest of the train state.

Frozen inputs: arrays a loss reads but never trains, such as a distillation
teacher's variables or Noisy Student's pseudo-label of every unlabeled
example. A method names them in `frozen_inputs`; the run supplies exactly
those (jaxssl.stages builds them), they are arguments of the compiled step,
and they reach `loss_fn` in the batch under their names.
"""

import dataclasses
from typing import Any, Callable, NamedTuple

import jax

Params = Any
Extra = Any
Batch = dict[str, Any]
ApplyFn = Callable[..., tuple[jax.Array, Any]]


def no_extra(params, *, num_unlabeled) -> Extra:
  """`init_extra` for methods without state of their own."""
  del params, num_unlabeled
  return {}


def keep_extra(extra, params, step, aux) -> Extra:
  """`update_extra` for methods without state of their own."""
  del params, step, aux
  return extra


def student_params(params, extra) -> Params:
  """`eval_params` that evaluates the trained parameters themselves."""
  del extra
  return params


class Method(NamedTuple):
  """One SSL method, its options already read.

  Attributes:
    loss_fn: `(params, extra, batch, key, step, apply_fn) -> (loss, aux)`;
      pure and differentiated with respect to `params`. `apply_fn(params, x,
      train, rng) -> (logits, new_batch_stats)` has the current batch
      statistics closed over. `aux` holds "batch_stats" and "metrics" (and
      whatever `update_extra` needs).
    init_extra: `(params, *, num_unlabeled) -> extra`.
    update_extra: `(extra, params, step, aux) -> extra`, called after the
      optimizer update with the new parameters.
    eval_params: `(params, extra) -> params` that "raw" evaluation uses
      (Mean Teacher reports its teacher).
    frozen_inputs: names of the frozen inputs the loss reads from the batch.
  """

  loss_fn: Callable[..., tuple[jax.Array, dict[str, Any]]]
  init_extra: Callable[..., Extra] = no_extra
  update_extra: Callable[..., Extra] = keep_extra
  eval_params: Callable[[Params, Extra], Params] = student_params
  frozen_inputs: tuple[str, ...] = ()


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FrozenModel:
  """A trained classifier a loss reads and never trains (a distillation teacher).

  A pytree: the variables are arrays (arguments of the compiled step); the
  model function and its image size are static.

  Attributes:
    variables: {"params", "batch_stats"}.
    apply_fn: `(params, batch_stats, x, train, rng) -> (logits, batch_stats)`.
    image_size: (H, W) of the images the model was trained on.
  """

  variables: Any
  apply_fn: Callable = dataclasses.field(metadata={"static": True})
  image_size: tuple[int, int] = dataclasses.field(metadata={"static": True})

  def logits(self, images: jax.Array) -> jax.Array:
    """Eval-mode logits of float images in [0, 1], with no gradient.

    Images of another size are first resized to the model's (a student
    fine-tuned at a higher resolution keeps its base-resolution teacher).
    """
    if images.shape[1:3] != self.image_size:
      images = jax.image.resize(
          images, (images.shape[0], *self.image_size, images.shape[-1]), method="linear")
    logits, _ = self.apply_fn(self.variables["params"], self.variables["batch_stats"], images,
                              False, None)
    return jax.lax.stop_gradient(logits)
