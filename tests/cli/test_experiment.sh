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
[ -s "$T/mnist1d-conv-vs-fc/udl-conv/log.jsonl" ] && { echo "ok   per-run logs"; pass=$((pass+1)); } || { echo "FAIL no per-run log"; fail=$((fail+1)); }
"$CN" experiment conv-arithmetic --out "$T/new/parents/dir" >/dev/null 2>&1 && [ -s "$T/new/parents/dir/results.json" ] && { echo "ok   creates missing parent directories"; pass=$((pass+1)); } || { echo "FAIL --out with missing parents"; fail=$((fail+1)); }
out=$("$CN" experiment nosuch 2>&1); [ $? -eq 2 ] && grep -q "unknown experiment 'nosuch'" <<<"$out" && { echo "ok   unknown experiment"; pass=$((pass+1)); } || { echo "FAIL unknown experiment"; fail=$((fail+1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
