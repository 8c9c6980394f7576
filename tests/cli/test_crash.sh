#!/usr/bin/env bash
# test_crash.sh CONVNET — crash safety: a training run killed with SIGKILL at random moments
# (20 times) always leaves a checkpoint that loads, and resuming from it — again and again —
# ends with the same weights as an uninterrupted run (1 thread, bit for bit); the temporaries
# killed writers leave are removed by the next run.
set -u
CN=${1:?usage: test_crash.sh path/to/convnet}
HERE=$(cd "$(dirname "$0")" && pwd)
FX=$HERE/../fixtures/bars
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
TR=(train "$FX/model.cfg" --data "npy:$FX" --batch 20 --lr 0.05 --momentum 0.9 --seed 11 --threads 1 --no-progress -q
    --epochs 400 --checkpoint-steps 3)

"$CN" "${TR[@]}" --out "$T/ref" >/dev/null 2>&1 || { echo "FAIL reference run"; exit 1; }

kills=0 loads=0 tmps=0
for i in $(seq 1 20); do
  args=("${TR[@]}" --out "$T/run")
  [ -f "$T/run/checkpoint.safetensors" ] && args+=(--resume "$T/run")
  "$CN" "${args[@]}" >/dev/null 2>&1 &
  pid=$!
  # a random moment: 50..450 ms (a whole run takes a few seconds)
  sleep "0.$(printf '%03d' $(( (RANDOM % 401) + 50 )))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills+1)); fi
  wait "$pid" 2>/dev/null
  ls "$T/run"/*.tmp.* >/dev/null 2>&1 && tmps=$((tmps+1))   # a killed writer's temporary: the next run removes it
  if [ -f "$T/run/checkpoint.safetensors" ]; then
    if "$CN" eval "$T/run/checkpoint.safetensors" --data "npy:$FX" -q >/dev/null 2>&1; then loads=$((loads+1))
    else echo "FAIL kill $i: the checkpoint does not load"; fail=$((fail+1)); fi
  fi
done
echo "ok   $kills kills at random moments; the checkpoint loaded after each of $loads"
pass=$((pass+1))
[ "$kills" -ge 15 ] && { echo "ok   at least 15 runs were killed mid-way"; pass=$((pass+1)); } || { echo "FAIL only $kills kills landed"; fail=$((fail+1)); }

args=("${TR[@]}" --out "$T/run")
[ -f "$T/run/checkpoint.safetensors" ] && args+=(--resume "$T/run")
if "$CN" "${args[@]}" >/dev/null 2>&1 && cmp -s "$T/ref/weights.safetensors" "$T/run/weights.safetensors"; then
  echo "ok   resumed to the end: the same weights as the uninterrupted run"; pass=$((pass+1))
else
  echo "FAIL the resumed run's weights differ from the uninterrupted run"; fail=$((fail+1))
fi
if ls "$T/run"/*.tmp.* >/dev/null 2>&1; then
  echo "FAIL temporaries left in the run directory: $(cd "$T/run" && ls *.tmp.*)"; fail=$((fail+1))
else
  echo "ok   no temporaries remain (killed writers left some after $tmps of the kills; resuming removed them)"; pass=$((pass+1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
