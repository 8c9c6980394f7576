#!/usr/bin/env bash
# test_valgrind.sh CONVNET BUILD_DIR — valgrind memcheck over the command-line tool: every
# command below, on success and on its error paths, must report no invalid reads or writes,
# no use of uninitialised values and no leaks (definite, indirect or possible) and leave the
# exit status it has without valgrind. Runs in the plain build; the sanitizer build
# (CONVNET_SANITIZE=ON) checks the same with ASan/LSan instead, so there it only says so.
set -u
CN=${1:?usage: test_valgrind.sh path/to/convnet [build-dir]}
BUILD=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
FX=$HERE/../fixtures
if [ -n "$BUILD" ] && grep -q '^CONVNET_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "skipped: sanitizer build (ASan/LSan cover it); valgrind runs in the Release build"
  exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "FAIL valgrind is not installed (make deps installs it: Debian package valgrind)"
  exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
# NAME WANT_RC -- CMD...: run CMD under memcheck; 99 is memcheck's own verdict
vg() {
  local name=$1 want=$2; shift 3
  local rc
  CONVNET_NUM_THREADS=1 valgrind -q --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --error-exitcode=99 \
    --log-file="$T/vg.log" "$CN" "$@" >"$T/out.log" 2>&1
  rc=$?
  if [ "$rc" -eq 99 ] || [ -s "$T/vg.log" ]; then
    echo "FAIL $name: memcheck reports errors"; sed 's/^/    /' "$T/vg.log" | head -40; fail=$((fail+1))
  elif [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; sed 's/^/    /' "$T/out.log" | head -10; fail=$((fail+1))
  else
    echo "ok   $name"; pass=$((pass+1))
  fi
}
B=$FX/bars
vg version 0 -- version
vg summary 0 -- summary "$ROOT/models/lenet5.cfg"
vg summary-bad-option 2 -- summary "$ROOT/models/lenet5.cfg" --no-such-option
vg train 0 -- train "$B/model.cfg" --data "npy:$B" --batch 50 --epochs 2 --lr 0.1 --seed 1 --no-progress --out "$T/run"
vg train-resume 0 -- train "$B/model.cfg" --data "npy:$B" --batch 50 --epochs 3 --lr 0.1 --seed 1 --no-progress --out "$T/run" --resume "$T/run"
vg train-bad-data 1 -- train "$B/model.cfg" --data "npy:$T/nowhere" --no-progress
vg eval 0 -- eval "$T/run/weights.safetensors" --data "npy:$B"
vg eval-tta 0 -- eval "$T/run/weights.safetensors" --data "npy:$B" --tta --json
vg predict 0 -- predict "$T/run/weights.safetensors" "$B/x_test.npy" --top 2
vg predict-image 0 -- predict "$T/run/weights.safetensors" "$FX/data/img_rgb.png"
vg export-onnx 0 -- export "$T/run/weights.safetensors" --onnx "$T/m.onnx"
vg import-onnx 0 -- import "$T/m.onnx" --out "$T/m.safetensors"
vg inspect-onnx 0 -- inspect "$T/m.onnx"
vg inspect-npz 0 -- inspect "$FX/data/arrays.npz"
vg inspect-checkpoint 0 -- inspect "$T/run/checkpoint.safetensors"
vg inspect-bad-onnx 1 -- inspect "$ROOT/tests/fuzz_regressions/onnx/Cast_empty_input.onnx"
vg inspect-bad-darknet 1 -- inspect "$ROOT/tests/fuzz_regressions/darknet/route_1e96.cfg"
vg filter 0 -- filter "$FX/data/img_rgb.png" "$T/f.png" --kernel sobel_x
vg visualize 0 -- visualize filters "$T/run/weights.safetensors" --layer c1 --out "$T/filters.png"
vg experiment 0 -- experiment conv-arithmetic --out "$T/arith"
vg dataset-info 0 -- dataset info "npy:$B" --stats
vg dataset-mnist1d 0 -- dataset mnist1d --out "$T/m1d"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
