"""Every batch function runs under jit on a batch sharded over 8 devices and gives the unsharded result."""
import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl import augment

# strong covers weak, randaugment and cutout.
FUNCTIONS = {
    "strong": augment.strong,
    "gaussian_noise": augment.gaussian_noise,
    "random_erasing": augment.random_erasing,
    "mixup": lambda key, images: augment.mixup_batch(key, images, images[:, 0, 0], 0.75),
    "cutmix": lambda key, images: augment.cutmix_batch(key, images, images[:, 0, 0], 1.0),
}

MESHES = {
    # jax.make_mesh gives explicit axes: shardings are part of the array types.
    "explicit": lambda: jax.make_mesh((8,), ("data",)),
    "auto": lambda: Mesh(np.asarray(jax.devices()), ("data",)),
}


CASES = [(name, "explicit") for name in FUNCTIONS] + [("strong", "auto")]


@pytest.mark.parametrize("name,mesh", CASES)
def test_sharded_batch_matches_unsharded(name, mesh):
  assert jax.device_count() == 8
  sharding = NamedSharding(MESHES[mesh](), P("data"))
  images = jax.random.uniform(jax.random.key(0), (16, 8, 8, 3))
  function = jax.jit(FUNCTIONS[name])
  sharded = function(jax.random.key(1), jax.device_put(images, sharding))
  expected = function(jax.random.key(1), images)
  assert jax.tree.leaves(sharded)[0].sharding.spec[0] == "data"
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), sharded, expected)
