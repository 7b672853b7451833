# Sourced by the *_device.sh scripts: readies a GPU machine lent for minutes.
#
# Installs the wheels of .whl/ (what the machine's image lacks: ml_collections,
# dm-pix, tensorboardX) into /tmp/site, unpacks .data/cifar10-jpeg.tar.gz
# (the JPEG copy of ../shared/data; both folders git-ignored and carried) into
# $DATA, and records the machine and library versions in $RESULTS/machine.txt.
# Needs RESULTS set; returns non-zero when a step fails.

device_env() {
  if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || return 1
    export PYTHONPATH=/tmp/site
  fi
  DATA=$(mktemp -d)
  tar xzf .data/cifar10-jpeg.tar.gz -C "$DATA" || return 1
  (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; python3 -c \
    "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, \
    'optax', optax.__version__, jax.devices())") > "$RESULTS/machine.txt" 2>&1
  export PYTHONUNBUFFERED=1
}
