"""jaxssl: semi-supervised learning methods in JAX/Flax."""

__version__ = "0.1.0"
