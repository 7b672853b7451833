#!/usr/bin/env bash
# CIFAR-10 curves of FixMatch (or ShrinkMatch), two variants side by side on one GPU, in one call.
#
#   OUT=<folder> bash benchmarks/cifar10_curve_device.sh [extra cifar10_curve.py flags]
#
# Meant for a machine lent for minutes (see benchmarks/README.md): it expects
# the CIFAR-10 JPEG tarball at .data/cifar10-jpeg.tar.gz and, where the machine
# lacks ml_collections, dm-pix or tensorboardX, their wheels in .whl/ (both
# folders git-ignored). It trains
#   shrinkmatch   configs/shrinkmatch.py's CIFAR-10 preset: the method of the
#                 reference curve's logs (FixMatch + DA over ~32 batches + the
#                 shrunk-class loss), to tell our pipeline's gap from the method's, and
#   fixmatch_da32  configs/fixmatch.py's CIFAR-10 preset + distribution alignment
#                 over the reference curve's horizon (its code divides by the mean
#                 prediction of the last 32 batches; an average at momentum 0.97),
# (VARIANTS, a list of names, picks others: fixmatch_da32_refview is fixmatch_da32
# with the reference code's whole strong view: each RandAugment op kept with
# probability 0.5, Cutout always half the side, and its PIL geometry (nearest
# pixel, shears about the corner, whole-pixel shifts); fixmatch_da32_cta has
# CTAugment as the strong view (the reference repository's main FixMatch);
# fixmatch_da is alignment at the preset's momentum 0.999, fixmatch_da_refview
# adds the reference code's RandAugment probability and Cutout, fixmatch_da_f32 is
# fixmatch_da in float32; those three ran on 2026-11-30),
# 250 labels, split seed 0, bfloat16, STEPS steps (default 20k) of the 2^20-step
# schedule. The first runs alone until it has logged LEAD_STEPS steps, so its
# first steps/s figures are those of one run on the GPU. Each run is stopped
# at DEADLINE seconds after this script starts; whatever it reached is
# reported. Results (the two curve reports and plots, logs, metrics) go to
# $OUT/results.tar.gz.
set -u
OUT=${OUT:?set OUT to the folder for the results}
STEPS=${STEPS:-20000}
DEADLINE=${DEADLINE:-520}
LEAD_STEPS=${LEAD_STEPS:-1000}
START=$SECONDS
RESULTS=$OUT/results
RUNS=${RUNS:-/tmp/cifar10_curve_runs}
mkdir -p "$RESULTS" "$RUNS"

source benchmarks/device_env.sh
device_env || exit 1
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.45

curve() {  # name, then cifar10_curve.py flags
  local name=$1; shift
  python3 benchmarks/cifar10_curve.py --source="folder:$DATA/cifar10" --steps="$STEPS" \
      --dtype=bfloat16 --workdir="$RUNS/$name" --name="$name" --out_dir="$RESULTS" "$@"
}

logged_steps() {  # the last train step in a run's metrics, 0 before the first
  tail -n 50 "$RUNS/$1/metrics.jsonl" 2>/dev/null | python3 -c "
import json, sys
records = [json.loads(line) for line in sys.stdin if line.strip()]
print(max([r['step'] for r in records if r['kind'] == 'train'] or [0]))"
}

run_until_deadline() {  # name, then flags: trains in the background until DEADLINE
  local name=$1; shift
  timeout $((DEADLINE - (SECONDS - START))) python3 benchmarks/cifar10_curve.py \
      --source="folder:$DATA/cifar10" --steps="$STEPS" --dtype=bfloat16 \
      --workdir="$RUNS/$name" --name="$name" --out_dir="$RESULTS" "$@" \
      > "$RESULTS/$name.log" 2>&1 &
}

DA32="--set method.distribution_alignment=True --set method.alignment_momentum=0.97"
declare -A FLAGS=([shrinkmatch]="--method=shrinkmatch"
  [fixmatch_da]="--set method.distribution_alignment=True"
  [fixmatch_da_refview]="--set method.distribution_alignment=True \
  --set method.strong_op_probability=0.5 --set method.cutout_min_fraction=0.5"
  [fixmatch_da_f32]="--set method.distribution_alignment=True --dtype=float32"
  [fixmatch_da32]="$DA32"
  [fixmatch_da32_cta]="$DA32 --set method.strong_augment=ctaugment"
  [fixmatch_da32_refview]="$DA32 --set method.strong_op_probability=0.5 \
  --set method.cutout_min_fraction=0.5 --set method.strong_geometry=reference")
read -r -a NAMES <<< "${VARIANTS:-shrinkmatch fixmatch_da32}"
run_until_deadline "${NAMES[0]}" ${FLAGS[${NAMES[0]}]} "$@"
while [ "$(logged_steps "${NAMES[0]}")" -lt "$LEAD_STEPS" ] && [ $((SECONDS - START)) -lt 240 ] \
    && jobs %1 > /dev/null 2>&1; do
  sleep 5
done
for name in "${NAMES[@]:1}"; do
  run_until_deadline "$name" ${FLAGS[$name]} "$@"
done
wait
for name in "${NAMES[@]}"; do  # the report of a run stopped at the deadline
  [ -f "$RESULTS/cifar10_curve_$name.md" ] || curve "$name" ${FLAGS[$name]} --report_only "$@" >> "$RESULTS/$name.log" 2>&1
  cp "$RUNS/$name/metrics.jsonl" "$RESULTS/$name.metrics.jsonl" 2>/dev/null
done
tar czf "$OUT/results.tar.gz" -C "$OUT" results && rm -rf "$RESULTS"
echo "done in $((SECONDS - START)) s"
