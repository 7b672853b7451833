#!/usr/bin/env bash
# Issue 13's GPU figures in one call: the train step's speed and compile time,
# then where its time goes.
#
#   OUT=<folder> bash benchmarks/speed_device.sh
#
# Meant for a machine lent for minutes, like cifar10_curve_device.sh (the same
# .data/ tarball and .whl/ wheels, carried). On FixMatch's CIFAR-10 step
# (the JPEG copy, 250 labels, WRN-28-2, B = 64, mu = 7) it runs
# benchmarks/train_step.py for: bfloat16 with an empty compilation cache, the
# same again with that cache filled (the compile a resumed run pays),
# bfloat16 with 8 steps per dispatch, float32, and WRN-28-8 (CIFAR-100's
# network, here on CIFAR-10's images) in bfloat16; then
# benchmarks/profile_step.py on the bfloat16 step. Each command is cut at
# STEP_LIMIT seconds (default 150) so one that hangs cannot take the rest.
# CONFIG replaces the CIFAR-10 config (e.g. configs/fixmatch.py:digits to try
# the script on a CPU). Results (train_step.md with the new rows, the profile
# report, the logs) go to $OUT/results.tar.gz.
set -u
OUT=${OUT:?set OUT to the folder for the results}
STEP_LIMIT=${STEP_LIMIT:-150}
START=$SECONDS
RESULTS=$OUT/results
mkdir -p "$RESULTS"
source benchmarks/device_env.sh
device_env || exit 1
CONFIG=${CONFIG:-configs/fixmatch.py:folder=$DATA/cifar10,labels=250}
CACHE=$(mktemp -d)
LOG=$RESULTS/speed.log

step() {  # train_step.py flags
  echo "== train_step.py $*" >> "$LOG"
  timeout "$STEP_LIMIT" python3 benchmarks/train_step.py --config="$CONFIG" "$@" >> "$LOG" 2>&1 \
      || echo "(exit $?)" >> "$LOG"
}

step --set dtype=bfloat16 --compilation_cache="$CACHE"
step --set dtype=bfloat16 --compilation_cache="$CACHE"
step --set dtype=bfloat16 --set steps_per_dispatch=8 --set log_every=96 --set eval_every=2000 \
    --set checkpoint_every=2000  # (the cadences must be multiples of 8)
step --set dtype=float32
step --set dtype=bfloat16 --set model.kwargs.width=8
echo "== profile_step.py" >> "$LOG"
timeout "$STEP_LIMIT" python3 benchmarks/profile_step.py --config="$CONFIG" --set dtype=bfloat16 \
    --label=fixmatch_cifar10_gpu_bf16 >> "$LOG" 2>&1 || echo "(exit $?)" >> "$LOG"
cp benchmarks/results/train_step.md benchmarks/results/profile_*.md "$RESULTS"/
tar czf "$OUT/results.tar.gz" -C "$OUT" results && rm -rf "$RESULTS"
echo "done in $((SECONDS - START)) s"
