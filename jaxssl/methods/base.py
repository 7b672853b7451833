"""The method contract that the training loop is written against.

A method composes losses and augmentations into one pure `loss_fn`. It may
keep state of its own (an EMA teacher, a temporal-ensemble buffer) in `extra`,
a pytree that the train loop carries, shards and checkpoints with the rest of
the train state.
"""

from typing import Any, Callable, NamedTuple

import jax

Params = Any
Extra = Any
Batch = dict[str, jax.Array]
ApplyFn = Callable[..., tuple[jax.Array, Any]]


class Method(NamedTuple):
  """One SSL method.

  Attributes:
    init_extra: `(params, *, num_unlabeled, num_classes, cfg) -> extra`.
    loss_fn: `(params, extra, batch, key, step, apply_fn, cfg) -> (loss, aux)`;
      pure and differentiated with respect to `params`. `apply_fn(params, x,
      train, rng) -> (logits, new_batch_stats)` has the current batch
      statistics closed over. `aux` holds "batch_stats" and "metrics".
    update_extra: `(extra, params, step, aux, cfg) -> extra`, called after the
      optimizer update with the new parameters.
    eval_params: `(params, extra) -> params` that "raw" evaluation uses
      (Mean Teacher reports its teacher).
  """

  init_extra: Callable[..., Extra]
  loss_fn: Callable[..., tuple[jax.Array, dict[str, Any]]]
  update_extra: Callable[..., Extra]
  eval_params: Callable[[Params, Extra], Params]


def no_extra(params, *, num_unlabeled, num_classes, cfg) -> Extra:
  """`init_extra` for methods without state of their own."""
  del params, num_unlabeled, num_classes, cfg
  return {}


def keep_extra(extra, params, step, aux, cfg) -> Extra:
  """`update_extra` for methods without state of their own."""
  del params, step, aux, cfg
  return extra


def student_params(params, extra) -> Params:
  """`eval_params` that evaluates the trained parameters themselves."""
  del extra
  return params
