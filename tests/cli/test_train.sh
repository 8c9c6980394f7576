#!/usr/bin/env bash
# test_train.sh CONVNET — training from the command line on .npy data (tests/fixtures/bars):
# the loss falls, accuracy is reported, checkpoints are written, an interrupted run resumes to
# the same weights as an uninterrupted one, eval and predict work on the saved weights, and
# bad models, weights, checkpoints and data give clear errors.
set -u
CN=${1:?usage: test_train.sh path/to/convnet}
HERE=$(cd "$(dirname "$0")" && pwd)
FX=$HERE/../fixtures/bars
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
expect() { # NAME WANT_RC PATTERN -- CMD...
  local name=$1 want=$2 pat=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, expected $want"; echo "$out" | head -15 | sed 's/^/    /'; return; fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" <<<"$out"; then bad "$name: output lacks /$pat/"; echo "$out" | head -15 | sed 's/^/    /'; return; fi
  ok "$name"
}
num() { sed -n "$2p" "$1" | sed -E "s/.*\"$3\":([-0-9.e]+).*/\1/"; }

TR=(train "$FX/model.cfg" --data "npy:$FX" --batch 20 --lr 0.1 --momentum 0.9 --seed 5 --threads 1 --no-progress)
expect train 0 'test \(npy/test\): loss [0-9.]+  top-1 [0-9.]+%' -- "$CN" "${TR[@]}" --epochs 6 --out "$T/a"
for f in log.jsonl checkpoint.safetensors weights.safetensors metrics.json model.cfg; do
  [ -s "$T/a/$f" ] && ok "run dir has $f" || bad "run dir lacks $f"
done
[ "$(wc -l < "$T/a/log.jsonl")" -eq 6 ] && ok "one log line per epoch" || bad "log.jsonl has $(wc -l < "$T/a/log.jsonl") lines"
first=$(num "$T/a/log.jsonl" 1 train_loss) last=$(num "$T/a/log.jsonl" 6 train_loss)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' && ok "loss falls ($first -> $last)" || bad "loss did not fall enough: $first -> $last"
acc=$(num "$T/a/log.jsonl" 6 val_acc)
awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }' && ok "validation accuracy $acc > 0.9" || bad "validation accuracy $acc"
grep -q '"confusion":' "$T/a/metrics.json" && ok "metrics.json has the confusion matrix" || bad "metrics.json lacks confusion"

# interrupted after 3 epochs, resumed to 6: the same weights, bit for bit (1 thread)
"$CN" "${TR[@]}" --epochs 3 --out "$T/b" -q >/dev/null 2>&1
expect resume 0 '' -- "$CN" "${TR[@]}" --epochs 6 --out "$T/b" --resume "$T/b"
cmp -s "$T/a/weights.safetensors" "$T/b/weights.safetensors" && ok "resumed run equals the uninterrupted one" || bad "resumed weights differ"
# mid-epoch checkpoints resume too
"$CN" "${TR[@]}" --epochs 2 --checkpoint-steps 7 --out "$T/c" -q >/dev/null 2>&1
cp "$T/c/checkpoint.safetensors" "$T/c_ck" 2>/dev/null
"$CN" "${TR[@]}" --epochs 1 --steps 22 --checkpoint-steps 11 --out "$T/d" -q >/dev/null 2>&1
expect resume-mid-epoch 0 '' -- "$CN" "${TR[@]}" --epochs 6 --out "$T/d" --resume "$T/d/checkpoint.safetensors"
cmp -s "$T/a/weights.safetensors" "$T/d/weights.safetensors" && ok "mid-epoch resume equals the uninterrupted run" || bad "mid-epoch resume differs"

# --out creates missing parents; a file in the way is an error that names it
expect out-parents 0 'run directory: .*/p/q/r ' -- "$CN" "${TR[@]}" --epochs 1 --out "$T/p/q/r"
touch "$T/file"
expect out-blocked 1 "cannot create directory '.*/file': a file of that name is in the way" -- "$CN" "${TR[@]}" --epochs 1 --out "$T/file/x"
expect train-json 0 '"history":\[\{"epoch":1' -- "$CN" "${TR[@]}" --epochs 1 --json
# --profile: a row per layer; the sums hold the training steps only (300 samples / batch 20 =
# 15 steps an epoch: as many forwards as backwards, the evaluations not counted)
expect train-profile 0 '^c1 +conv +[0-9.]+ +[0-9.]+ +[0-9.]+%' -- "$CN" "${TR[@]}" --epochs 2 --profile
prof=$("$CN" "${TR[@]}" --epochs 2 --profile --json 2>/dev/null | grep -o '"name":"c1","type":"conv","forward_calls":[0-9]*,"backward_calls":[0-9]*')
[ "$prof" = '"name":"c1","type":"conv","forward_calls":30,"backward_calls":30' ] && ok "profile counts 30 training steps" || bad "profile: $prof"

expect eval 0 'npy/test: 150 samples, loss [0-9.]+, top-1' -- "$CN" eval "$T/a/weights.safetensors" --data "npy:$FX"
expect eval-confusion 0 'confusion matrix' -- "$CN" eval "$FX/model.cfg" --weights "$T/a/weights.safetensors" --data "npy:$FX"
expect eval-json 0 '"top1":' -- "$CN" eval "$T/a/weights.safetensors" --data "npy:$FX" --json
expect eval-checkpoint 0 'top-1' -- "$CN" eval "$T/a/checkpoint.safetensors" --data "npy:$FX"
expect predict 0 'x_test.npy\[149\]:  [0-2] \([0-9.]+%\)' -- "$CN" predict "$T/a/weights.safetensors" "$FX/x_test.npy" --top 2
expect predict-image 0 'img_rgb.png\[0\]:  [0-2] \([0-9.]+%\)' -- "$CN" predict "$T/a/weights.safetensors" "$HERE/../fixtures/data/img_rgb.png"
expect predict-not-image 1 'not a recognised image' -- "$CN" predict "$T/a/weights.safetensors" "$FX/model.cfg"
expect predict-json 0 '"predictions":\[' -- "$CN" predict "$T/a/weights.safetensors" "$FX/x_test.npy" --json
expect transfer 0 '' -- "$CN" "${TR[@]}" --epochs 1 --init-from "$T/a/weights.safetensors" --init-layers c1 --freeze c1 --out "$T/e"

# augmentation on the fly: the same weights whatever the number of loader threads
"$CN" "${TR[@]}" --epochs 2 --augment "hflip,noise=0.05,crop=1" --workers 0 --out "$T/g0" -q >/dev/null 2>&1
"$CN" "${TR[@]}" --epochs 2 --augment "hflip,noise=0.05,crop=1" --workers 3 --out "$T/g3" -q >/dev/null 2>&1
[ -s "$T/g0/weights.safetensors" ] && cmp -s "$T/g0/weights.safetensors" "$T/g3/weights.safetensors" && ok "augmented training is identical with 0 and 3 loader workers" || bad "augmented runs differ with the worker count"
cmp -s "$T/g0/weights.safetensors" "$T/a/weights.safetensors" && bad "augmentation changed nothing" || ok "augmentation changes training"
expect bad-augment 1 "rotat" -- "$CN" "${TR[@]}" --epochs 1 --augment "rotat=3"
expect eval-tta 0 'npy/test: 150 samples, loss [0-9.]+, top-1' -- "$CN" eval "$T/a/weights.safetensors" --data "npy:$FX" --tta
expect eval-tta-json 0 '"top1":' -- "$CN" eval "$T/a/weights.safetensors" --data "npy:$FX" --tta --tta-pad 1 --tta-no-flip --json

# bad input
printf '[input]\nshape=1x8x8\n[cnov]\nfilters=2\n' > "$T/bad.cfg"
expect bad-layer 1 'bad.cfg:3: unknown layer type .cnov. — did you mean .conv.' -- "$CN" train "$T/bad.cfg" --data "npy:$FX"
printf '[input]\nshape=1x8x8\n[conv]\nfilters=2\nkernel=3\nstrde=2\n' > "$T/bad2.cfg"
expect bad-option 1 "unknown option 'strde' in \[conv\] — did you mean 'stride'" -- "$CN" train "$T/bad2.cfg" --data "npy:$FX"
printf '[input]\nshape=1x9x9\n[dense]\nunits=3\n' > "$T/shape.cfg"
expect wrong-input-shape 1 'samples of shape 1x8x8' -- "$CN" train "$T/shape.cfg" --data "npy:$FX"
expect missing-weights 1 'give --weights' -- "$CN" eval "$FX/model.cfg" --data "npy:$FX"
printf '[input]\nshape=1x8x8\n[conv]\nname=c1\nfilters=4\nkernel=3\n[flatten]\n[dense]\nname=fc\nunits=3\n' > "$T/other.cfg"
expect mismatched-weights 1 'c1.weight.*shape' -- "$CN" eval "$T/other.cfg" --weights "$T/a/weights.safetensors" --data "npy:$FX"
head -c 300 "$T/a/checkpoint.safetensors" > "$T/trunc.safetensors"
expect corrupt-checkpoint 1 'trunc.safetensors' -- "$CN" "${TR[@]}" --epochs 7 --resume "$T/trunc.safetensors"
expect not-a-checkpoint 1 'not a checkpoint' -- "$CN" "${TR[@]}" --epochs 7 --resume "$T/a/weights.safetensors"
expect wrong-seed 1 'seed 5, this run has seed 9' -- "$CN" train "$FX/model.cfg" --data "npy:$FX" --seed 9 --resume "$T/a" --no-progress
expect missing-data 1 'x_train.npy: cannot open' -- "$CN" train "$FX/model.cfg" --data "npy:$T/nowhere"
expect unknown-data 1 "unknown dataset" -- "$CN" train "$FX/model.cfg" --data "cifar"
expect bad-optimizer 2 "--optimizer 'adagrad'" -- "$CN" train "$FX/model.cfg" --data "npy:$FX" --optimizer adagrad
expect nan-stop 1 'is not finite .*output of layer .*; stopped' -- "$CN" "${TR[@]}" --lr 1e30 --epochs 2
expect freeze-unknown 1 "cannot freeze 'c9'" -- "$CN" "${TR[@]}" --freeze c9

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
