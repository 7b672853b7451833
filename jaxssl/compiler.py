"""XLA compiler options that the library's compiled programs pass to `jax.jit`.

On CPU, XLA (jaxlib 0.10) hands convolutions and elementwise fusions to
YNNPACK; for the small convolutions of the digits networks XLA's own kernels
are faster (FixMatch's digits step on 2 cores: see
benchmarks/results/train_step.md). `jit_options()` keeps YNNPACK for dots and
reductions only. Other backends get no options.
"""

import functools

import jax
import jax.numpy as jnp

_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type":
                "LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_REDUCE"}


@functools.cache
def jit_options() -> dict[str, str]:
  """`compiler_options` for `jax.jit` on the default backend.

  A jaxlib that does not know an option refuses it when compiling; such a
  jaxlib gets no options (checked once by compiling a one-line program).
  """
  if jax.default_backend() != "cpu":
    return {}
  try:
    jax.jit(jnp.sum, compiler_options=_CPU_OPTIONS).lower(jnp.zeros(2)).compile()
  except jax.errors.JaxRuntimeError:
    return {}
  return dict(_CPU_OPTIONS)
