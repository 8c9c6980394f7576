#!/usr/bin/env bash
# test_experiment.sh CONVNET — every experiment runs end to end in its --quick form.
set -u
CN=${1:?usage: test_experiment.sh path/to/convnet}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
run() { # NAME PATTERN
  local out rc
  out=$("$CN" experiment "$1" --quick --out "$T/$1" 2>&1); rc=$?
  if [ $rc -ne 0 ] || ! grep -Eq -- "$2" <<<"$out" || [ ! -s "$T/$1/results.json" ] || [ ! -s "$T/$1/results.txt" ]; then
    echo "FAIL $1 (exit $rc)"; echo "$out" | tail -15 | sed 's/^/    /'; fail=$((fail+1))
  else echo "ok   $1"; pass=$((pass+1)); fi
}
run conv-arithmetic '^0 mismatches'
run mnist1d-conv-vs-fc 'shuffled-cnn +mnist1d-cnn +5210'
run mnist1d-best 'best-seed0 +mnist1d-best +48170 +186 '
run fashion-mnist 'resnet-small +174970 +2 +sgd-nesterov'
run transfer '^fine-tune +everything: source convs \+ new head +[0-9]+\.[0-9]{2}'
run segmentation 'unet-tiny +121060 +1x32x32 +[0-9.]+ +0\.[89][0-9]* +0\.[3-9][0-9]* '
[ -s "$T/segmentation/segmentation.png" ] && { echo "ok   segmentation picture"; pass=$((pass+1)); } || { echo "FAIL no segmentation picture"; fail=$((fail+1)); }
run detection 'yolo-conv +228925 +1x32x32 +[0-9.]+ +0\.(0[1-9]|[1-9])[0-9]* '
[ -s "$T/detection/detection.png" ] && { echo "ok   detection picture"; pass=$((pass+1)); } || { echo "FAIL no detection picture"; fail=$((fail+1)); }
run inductive-bias '^ +1 +(0\.00e\+00|[0-9]\.[0-9]{2}e-(0[6-9]|[1-9][0-9])) '
run random-features 'cnn25-random +mnist1d-cnn +5210 +1260 +0 '
run tta '^5 crops \+ mirrors, pad 2 +10 +[0-9]+\.[0-9]{2}'
[ -s "$T/mnist1d-conv-vs-fc/udl-conv/log.jsonl" ] && { echo "ok   per-run logs"; pass=$((pass+1)); } || { echo "FAIL no per-run log"; fail=$((fail+1)); }
"$CN" experiment conv-arithmetic --out "$T/new/parents/dir" >/dev/null 2>&1 && [ -s "$T/new/parents/dir/results.json" ] && { echo "ok   creates missing parent directories"; pass=$((pass+1)); } || { echo "FAIL --out with missing parents"; fail=$((fail+1)); }
out=$("$CN" experiment nosuch 2>&1); [ $? -eq 2 ] && grep -q "unknown experiment 'nosuch'" <<<"$out" && { echo "ok   unknown experiment"; pass=$((pass+1)); } || { echo "FAIL unknown experiment"; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
