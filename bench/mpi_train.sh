#!/usr/bin/env bash
# mpi_train.sh [CONVNET] — data-parallel training throughput (issue 11): samples/s of the
# Fashion-MNIST CNN (models/lenet5.cfg, global batch 64) on 1 process and on 2 processes of
# 1 thread each (mpirun -np 2), the speed-up, and the share of step time spent in gradient
# communication. Environment: STEPS (default 300), BATCH (64), MODEL, DATA (fashion-mnist;
# Debian's dataset-fashion-mnist), NP (2), BUCKET_KB (gradient bucket size, default convnet's),
# MPIRUN_ARGS (extra mpirun options).
# Run on a quiet machine: the load average is printed because other work skews the numbers.
set -eu
CN=${1:-build/convnet}
HERE=$(cd "$(dirname "$0")" && pwd)
STEPS=${STEPS:-300} BATCH=${BATCH:-64} NP=${NP:-2}
MODEL=${MODEL:-$HERE/../models/lenet5.cfg} DATA=${DATA:-fashion-mnist}
command -v mpirun >/dev/null || { echo "mpirun not found (Debian: openmpi-bin)"; exit 1; }
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TR=(train "$MODEL" --data "$DATA" --batch "$BATCH" --lr 0.05 --momentum 0.9 --seed 1 --epochs 1 --steps "$STEPS"
    --threads 1 --no-progress --json)
field() { sed -E "s/.*\"$2\":([-0-9.e]+).*/\1/" "$1"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mpi: $(mpirun --version 2>/dev/null | head -1)"
echo "model: $(basename "$MODEL"), data: $DATA, global batch $BATCH, $STEPS steps, 1 thread per process"
"$CN" "${TR[@]}" --out "$T/one" > "$T/one.json"
one=$(field "$T/one/log.jsonl" samples_per_s)
mpirun -np "$NP" --bind-to core ${MPIRUN_ARGS:-} "$CN" "${TR[@]}" ${BUCKET_KB:+--bucket-kb "$BUCKET_KB"} --out "$T/many" > "$T/many.json"
many=$(field "$T/many/log.jsonl" samples_per_s)
frac=$(field "$T/many.json" comm_fraction) step=$(field "$T/many.json" step_ms) wait=$(field "$T/many.json" comm_wait_ms)
work=$(field "$T/many.json" comm_work_ms) buckets=$(field "$T/many.json" buckets)
printf '%-28s %12s\n' "processes x threads" "samples/s"
printf '%-28s %12.0f\n' "1 x 1" "$one"
printf '%-28s %12.0f\n' "$NP x 1" "$many"
awk -v a="$one" -v b="$many" -v n="$NP" 'BEGIN { printf "speed-up: %.2fx with %d processes (target >= %.1fx)\n", b / a, n, 0.9 * n }'
awk -v f="$frac" -v s="$step" -v w="$wait" -v k="$work" -v nb="$buckets" \
  'BEGIN { printf "communication: %.1f%% of step time (%.2f ms waiting + %.2f ms packing/polling of %.2f ms per step, %d bucket(s))\n", 100 * f, w, k, s, nb }'
echo "test accuracy: 1 process $(field "$T/one.json" top1), $NP processes $(field "$T/many.json" top1)"
