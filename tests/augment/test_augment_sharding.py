"""The batch functions run under jit on a batch sharded over 8 devices and give the unsharded result."""
import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl import augment


def _the_rest(key, images):
  """The batch functions that `strong` does not cover, in one compile."""
  keys = jax.random.split(key, 3)
  label_probs = images[:, 0, 0]
  return (augment.gaussian_noise(keys[0], images),
          augment.random_erasing(keys[1], images, probability=0.5),
          *augment.cutmix_batch(keys[2], images, label_probs, 1.0))


# strong covers weak, randaugment and cutout.
FUNCTIONS = {"strong": jax.jit(augment.strong), "the_rest": jax.jit(_the_rest)}

MESHES = {
    # jax.make_mesh gives explicit axes: shardings are part of the array types.
    "explicit": lambda: jax.make_mesh((8,), ("data",)),
    "auto": lambda: Mesh(np.asarray(jax.devices()), ("data",)),
}


@pytest.mark.parametrize("name,mesh", [("strong", "explicit"), ("the_rest", "explicit"),
                                       ("strong", "auto")])
def test_sharded_batch_matches_unsharded(name, mesh):
  assert jax.device_count() == 8
  sharding = NamedSharding(MESHES[mesh](), P("data"))
  images = jax.random.uniform(jax.random.key(0), (16, 8, 8, 3))
  sharded = FUNCTIONS[name](jax.random.key(1), jax.device_put(images, sharding))
  expected = FUNCTIONS[name](jax.random.key(1), images)
  for output in jax.tree.leaves(sharded):
    assert output.sharding.spec[0] == "data"
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), sharded, expected)
