#!/usr/bin/env bash
# test_interop.sh CONVNET — ONNX and Darknet from the command line:
#   onnx-test (one line per case, the closing "N passed, M failed, K skipped", --json, exit codes),
#   export (models and Darknet cfgs to ONNX, each checked with Debian's python3-onnx checker
#   when /usr/bin/python3 has onnx; no file left behind on failure), import (ONNX and Darknet to
#   a convnet weights file), malformed files (exit 1, one line naming the file and the problem),
#   and the PyTorch round trip: a small ResNet built and exported by PyTorch (/usr/bin/python3
#   with torch), imported and compared on random inputs with max |diff| < 1e-4 (skipped
#   without torch). Prints "N passed, M failed" and exits non-zero on any failure.
set -u
CN=${1:?usage: test_interop.sh path/to/convnet}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
FX=$HERE/tests/fixtures/onnx
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

expect() { # NAME WANT_RC PATTERN -- CMD...
  local name=$1 want=$2 pat=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; echo "$out" | sed 's/^/    /' | tail -20; fail=$((fail+1)); return
  fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" <<<"$out"; then
    echo "FAIL $name: output lacks /$pat/"; echo "$out" | sed 's/^/    /' | tail -20; fail=$((fail+1)); return
  fi
  echo "ok   $name"; pass=$((pass+1))
}
skip() { echo "skip $1: $2"; }

if ! "$CN" version --json 2>/dev/null | grep -q .; then echo "FAIL: $CN does not run"; exit 1; fi
# `onnx-test`; a dispatcher that does not map '-' to '_' knows it as onnx_test
OT=onnx-test
"$CN" onnx-test --help >/dev/null 2>&1 || OT=onnx_test

PY=/usr/bin/python3
have_onnx_py=0
[ -x $PY ] && $PY -c 'import onnx' 2>/dev/null && have_onnx_py=1
check_onnx() { # NAME FILE: Debian's ONNX checker (full_check runs shape inference too)
  if [ $have_onnx_py -eq 0 ]; then skip "$1" "no python3-onnx at $PY"; return; fi
  expect "$1" 0 '' -- $PY -c 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' "$2"
}

ONNX_ON=1
if "$CN" import "$FX/small_cnn.onnx" --out "$T/probe.safetensors" 2>&1 | grep -q 'built without ONNX'; then
  ONNX_ON=0; skip onnx "this convnet was built without ONNX support"
fi

if [ $ONNX_ON -eq 1 ]; then
  # ---- onnx-test ----
  NODE=/usr/share/libonnx-testdata/data/node
  expect onnx-test-usage   2 'expected one or more test DIRs' -- "$CN" $OT
  expect onnx-test-nodir   1 'not a test case'                -- "$CN" $OT "$T/nowhere"
  if [ -d "$NODE/test_relu" ]; then
    expect onnx-test-one   0 '^1 passed, 0 failed, 0 skipped$' -- "$CN" $OT "$NODE/test_relu"
    expect onnx-test-lines 0 'ok   test_conv_with_strides_padding' -- "$CN" $OT "$NODE/test_conv_with_strides_padding" "$NODE/test_relu"
    expect onnx-test-skip  0 'skip test_acos: .*Acos.*not supported' -- "$CN" $OT "$NODE/test_acos"
    expect onnx-test-json  0 '"cases":\[\{"name":"test_relu","status":"pass"' -- "$CN" $OT "$NODE/test_relu" --json
    # a case whose expected output is wrong must fail (exit 1): copy one and corrupt its output
    cp -r "$NODE/test_relu" "$T/test_relu_wrong"
    cp "$NODE/test_sigmoid/test_data_set_0/output_0.pb" "$T/test_relu_wrong/test_data_set_0/output_0.pb"
    expect onnx-test-fails 1 'FAIL test_relu_wrong: data set 0, output 0' -- "$CN" $OT "$T/test_relu_wrong"
    printf 'test_relu run\n' > "$T/list.txt"
    expect onnx-test-unlisted 1 'FAIL test_acos: not in the case list' -- "$CN" $OT "$NODE/test_relu" "$NODE/test_acos" --cases "$T/list.txt"
  else
    skip onnx-test "libonnx-testdata is not installed ($NODE)"
  fi

  # ---- export: models of many layer types, each through the ONNX checker and back ----
  cat > "$T/cnn.model" <<'EOF'
[input]
shape = 3x16x16
[conv]
filters = 8
kernel = 3
padding = same
[batch_norm]
[act]
kind = relu
[max_pool]
kernel = 2
[conv]
name = res
filters = 8
kernel = 3
padding = 1
pad_mode = reflect
[add]
input = res, max_pool1
[avg_pool]
kernel = 2
count_include_pad = true
[dropout]
[flatten]
[dense]
units = 10
[softmax]
EOF
  expect export-cnn      0 'wrote .*cnn.onnx' -- "$CN" export "$T/cnn.model" --onnx "$T/cnn.onnx"
  check_onnx checker-cnn "$T/cnn.onnx"
  expect export-dynamic  0 '"opset":15'        -- "$CN" export "$T/cnn.model" --onnx "$T/cnn_dyn.onnx" --dynamic-batch --opset 15 --json
  check_onnx checker-dyn "$T/cnn_dyn.onnx"
  expect reimport        0 'learnable parameters' -- "$CN" import "$T/cnn.onnx" --out "$T/cnn.safetensors"
  expect export-opset    2 'opsets 13 to 17'   -- "$CN" export "$T/cnn.model" --onnx "$T/x.onnx" --opset 9
  expect export-no-out   2 '--onnx OUT is required' -- "$CN" export "$T/cnn.model"
  printf '[input]\nshape=1x6x6\n[locally_connected]\nname=lc\nfilters=2\nkernel=3\n' > "$T/lc.model"
  expect export-unsup    1 "layer 'lc' \[locally_connected\]" -- "$CN" export "$T/lc.model" --onnx "$T/lc.onnx"
  if [ -e "$T/lc.onnx" ]; then echo "FAIL export-unsup-nofile: $T/lc.onnx was left behind"; fail=$((fail+1)); else echo "ok   export-unsup-nofile"; pass=$((pass+1)); fi
  # Darknet layers export too: a crop, a strided shortcut that adds fewer channels, connected layers
  printf '[net]\nheight=20\nwidth=20\nchannels=3\n[crop]\ncrop_height=16\ncrop_width=16\n%b%b%b%b%b\n' \
    '[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n' \
    '[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=2\npad=1\nactivation=linear\n' \
    '[shortcut]\nfrom=-2\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n' \
    '[connected]\noutput=10\nactivation=relu\n[dropout]\nprobability=.5\n' \
    '[connected]\noutput=4\nactivation=linear\n[softmax]\ngroups=1' > "$T/dn.cfg"
  expect export-darknet  0 'wrote .*dn.onnx' -- "$CN" export "$T/dn.cfg" --onnx "$T/dn.onnx" -q
  check_onnx checker-darknet "$T/dn.onnx"
  expect reimport-darknet 0 'learnable parameters' -- "$CN" import "$T/dn.onnx" --out "$T/dn.safetensors"

  # ---- import: ONNX, malformed ONNX ----
  expect import-onnx     0 'wrote .*: 12 layers' -- "$CN" import "$FX/small_cnn.onnx" --out "$T/small.safetensors"
  expect import-json     0 '"layers":12'         -- "$CN" import "$FX/small_cnn.onnx" --out "$T/small2.safetensors" --json
  expect bad-dims        1 'bad_dims.onnx: initializer .w.: shape needs 1000000000000 values' -- "$CN" import "$FX/bad_dims.onnx" --out "$T/bad.safetensors"
  expect bad-op          1 "operator 'Hardmax' is not supported" -- "$CN" import "$FX/bad_op.onnx" --out "$T/bad.safetensors"
  head -c 3000 "$FX/small_cnn.onnx" > "$T/truncated.onnx"
  expect bad-truncated   1 'truncated.onnx: ' -- "$CN" import "$T/truncated.onnx" --out "$T/bad.safetensors"
  if [ -e "$T/bad.safetensors" ]; then echo "FAIL bad-nofile: an output was written for a bad input"; fail=$((fail+1)); else echo "ok   bad-nofile"; pass=$((pass+1)); fi

  # ---- the PyTorch round trip ----
  if [ -x $PY ] && $PY -c 'import torch, onnx' 2>/dev/null; then
    if $PY "$HERE/tests/onnx/torch_roundtrip.py" "$T/torch_resnet" 0 >"$T/torch.log" 2>&1; then
      expect torch-roundtrip 0 '^1 passed, 0 failed, 0 skipped$' -- "$CN" $OT "$T/torch_resnet" --rtol 0 --atol 1e-4
    else
      echo "FAIL torch-roundtrip: the PyTorch script failed:"; tail -5 "$T/torch.log" | sed 's/^/    /'; fail=$((fail+1))
    fi
  else
    skip torch-roundtrip "no python3-torch and python3-onnx at $PY"
  fi
fi

# ---- Darknet import ----
if [ -f /usr/share/darknet/cfg/yolov3-tiny.cfg ]; then
  expect import-darknet  0 'wrote .*learnable parameters' -- "$CN" import /usr/share/darknet/cfg/yolov3-tiny.cfg --out "$T/yolo.safetensors" -q
  expect darknet-noweights 0 'no --weights' -- "$CN" import /usr/share/darknet/cfg/darknet19.cfg --out "$T/d19.safetensors"
else
  skip import-darknet "darknet's cfg files are not installed"
fi
printf '[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n' > "$T/tiny.cfg"
head -c 30 /dev/zero > "$T/tiny.weights"
expect darknet-short-weights 1 'tiny.weights: after the 16-byte header the file holds 3 floats and a partial one; the cfg.s layers need 112' -- "$CN" import "$T/tiny.cfg" --weights "$T/tiny.weights" --out "$T/tiny.safetensors"
printf '[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=plse\n' > "$T/bad.cfg"
expect darknet-bad-cfg 1 "bad.cfg:9: \[convolutional\] activation 'plse' is not supported" -- "$CN" import "$T/bad.cfg" --out "$T/x.safetensors"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
