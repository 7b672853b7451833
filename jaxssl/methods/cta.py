"""CTAugment as a method's strong view: its weights in `extra`, its probe in the compiled step.

The methods that take `strong_augment = "ctaugment"` (FixMatch, ReMixMatch)
keep the bin weights of `augment.ctaugment` as `extra["ctaugment"]` (float32
[ops, bins], checkpointed and replicated with the train state), draw their
strong views from them in `loss_fn`, and update them in `update_extra` from
the step's probes.

The probe is a separate eval-mode forward pass of the labeled batch's probe
views (weak flip-and-shift, then 2 ops at uniform magnitudes), with the
current parameters and the running batch-norm statistics, without gradient.
Not a view in the joint training-mode pass: there the probe images would
enter the batch-norm statistics the training views are normalized with, and
the loss would depend on them. The reference code classifies its probes the
same way, in evaluation mode beside the training step (with the EMA weights,
which `loss_fn` does not see).
"""

import jax

from jaxssl import augment
from jaxssl.augment import ctaugment

STRONG_AUGMENTS = ("randaugment", "ctaugment")


def strong_view(weights, flip, cutout_fraction):
  """A(u) = Cutout(CTAugment(weak(u))) as a function `(key, images) -> images`.

  The weak flip-and-shift, 2 ops with bins drawn from `weights`
  (`ctaugment.augment`), then Cutout of at most `cutout_fraction` of the side.
  """
  def view(key, images):
    weak_key, ops_key, cutout_key = jax.random.split(key, 3)
    images = augment.weak(weak_key, images, flip=flip)
    images = ctaugment.augment(ops_key, images, weights)
    return augment.cutout(cutout_key, images, max_size_fraction=cutout_fraction)
  return view


def probe(params, batch, key, apply_fn, flip):
  """The step's probes of the labeled batch: {"ops", "bins", "match"} for `update`.

  match_b = 1 - (1/2) sum_c |p_model(c | probe(x_b)) - 1(c = y_b)|, from an
  eval-mode forward pass without gradient (see the module docstring).
  """
  weak_key, probe_key = jax.random.split(key)
  images = augment.weak(weak_key, augment.to_float(batch["image"]), flip=flip)
  images, ops, bins = ctaugment.probe(probe_key, images)
  logits, _ = apply_fn(jax.lax.stop_gradient(params), images, False, None)
  return {"ops": ops, "bins": bins,
          "match": ctaugment.match(jax.nn.softmax(logits), batch["label"])}


def add_probes(aux, params, batch, key, apply_fn, flip):
  """`aux` with the step's probes (for `update`) and their mean match as a metric."""
  probes = probe(params, batch, key, apply_fn, flip)
  metrics = {**aux["metrics"], "probe_match": probes["match"].mean()}
  return {**aux, "probes": probes, "metrics": metrics}


def update(weights, probes):
  """The weights after the step's probes (`ctaugment.update_weights`)."""
  return ctaugment.update_weights(weights, probes["ops"], probes["bins"], probes["match"])
