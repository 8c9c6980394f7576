#!/usr/bin/env bash
# test_zoo.sh CONVNET — every model file under models/ summarizes from the command line with its
# parameter count (the numbers of tests/unit/test_zoo.c and models/README.md), as text and as
# JSON, and a fully convolutional one at another input size. Prints "N passed, M failed" and
# exits non-zero on any failure.
set -u
CN=${1:?usage: test_zoo.sh path/to/convnet}
MODELS=$(cd "$(dirname "$0")/../../models" && pwd)
pass=0 fail=0

# model file, parameters
while read -r file params; do
  [ -z "$file" ] && continue
  out=$("$CN" summary "$MODELS/$file" 2>&1); rc=$?
  if [ $rc -ne 0 ] || ! grep -q "^total: $params parameters" <<<"$out"; then
    echo "FAIL $file: exit $rc, want 'total: $params parameters'"; echo "$out" | tail -3 | sed 's/^/    /'; fail=$((fail+1))
  else
    echo "ok   $file $params"; pass=$((pass+1))
  fi
done <<'EOF'
mnist1d-conv.cfg 2050
mnist1d-fc.cfg 59065
mnist1d-cnn.cfg 5210
mnist1d-mlp.cfg 15210
mnist1d-logistic.cfg 410
lenet5.cfg 61706
alexnet.cfg 62378344
vgg11.cfg 132863336
vgg16.cfg 138357544
vgg19.cfg 143667240
resnet18.cfg 11689512
resnet34.cfg 21797672
resnet50.cfg 25557032
preact-resnet18.cfg 11687720
preact-resnet34.cfg 21795880
preact-resnet50.cfg 25549352
resnet-small.cfg 174970
unet.cfg 31030658
unet-small.cfg 482500
fcn.cfg 94186
deconvnet.cfg 730340
hourglass.cfg 6570400
hourglass-small.cfg 116672
yolo.cfg 2577709
autoencoder.cfg 210369
mobilenet.cfg 4231976
EOF

# JSON: the same total, and the prediction's shape
out=$("$CN" summary "$MODELS/mnist1d-conv.cfg" --json 2>/dev/null)
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.stdin.read())
assert o["total_params"] == 2050, o["total_params"]
assert [l["output"] for l in o["layers"] if l["name"] == "fc"] == [[1, 10]]
# reusing memory at inference: at least the largest output and its input, less than all of them
assert 2 * 15 * 19 * 4 <= o["activation_bytes_reuse"] < o["activation_bytes"], o
' <<<"$out" 2>/dev/null; then
  echo "ok   json"; pass=$((pass+1))
else
  echo "FAIL json: no total of 2050 parameters, fc output [1, 10] or smaller reused activations in:"; echo "$out" | head -c 600 | sed 's/^/    /'; echo; fail=$((fail+1))
fi

# any input size: the FCN at 1x40x56 keeps its weights; its class maps are 10x10x14
out=$("$CN" summary "$MODELS/fcn.cfg" --input-shape 1x40x56 2>&1)
if grep -q "^total: 94186 parameters" <<<"$out" && grep -Eq "^classes +conv +1x10x10x14 " <<<"$out"; then
  echo "ok   fcn-any-size"; pass=$((pass+1))
else
  echo "FAIL fcn-any-size"; echo "$out" | tail -5 | sed 's/^/    /'; fail=$((fail+1))
fi

# --profile N: a timed table of N inference forwards, one row per layer; bad counts are usage errors
out=$("$CN" summary "$MODELS/lenet5.cfg" --profile 3 --batch 4 2>&1)
if grep -q "^profile (mean ms per forward of batch 4" <<<"$out" && grep -Eq "^c1 +conv +[0-9.]+ +0\.000 " <<<"$out" &&
   grep -Eq "^total .* ms per forward of batch 4 in the layers" <<<"$out"; then
  echo "ok   summary-profile"; pass=$((pass+1))
else
  echo "FAIL summary-profile"; echo "$out" | tail -8 | sed 's/^/    /'; fail=$((fail+1))
fi
out=$("$CN" summary "$MODELS/lenet5.cfg" --profile 2 --json 2>/dev/null)
if grep -q '"profile":\[{"name":"image","type":"input","forward_calls":2,' <<<"$out"; then
  echo "ok   summary-profile-json"; pass=$((pass+1))
else
  echo "FAIL summary-profile-json"; echo "$out" | head -c 400 | sed 's/^/    /'; echo; fail=$((fail+1))
fi
"$CN" summary "$MODELS/lenet5.cfg" --profile -1 >/dev/null 2>&1; rc=$?
if [ "$rc" -eq 2 ]; then echo "ok   summary-profile-bad"; pass=$((pass+1)); else echo "FAIL summary-profile-bad: exit $rc"; fail=$((fail+1)); fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
