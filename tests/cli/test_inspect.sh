#!/usr/bin/env bash
# test_inspect.sh CONVNET [BUILD_DIR] — `convnet inspect` on good and bad files of every format
# it understands (.npy, safetensors with and without an embedded model, model text with and
# without --weights, IDX plain and gzip, MNIST-1D folders): what it prints for good files
# (text and --json), the precise reason and exit 1 for bad ones, exit 2 for usage errors, and
# no crash on any fuzz seed or fuzz regression input. Files are made here with printf, gzip
# and `convnet random`; nothing needs Python. Prints "N passed, M failed".
set -u
CN=${1:?usage: test_inspect.sh path/to/convnet}
[ -x "$CN" ] || { echo "test_inspect.sh: $CN is not an executable"; exit 1; }
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# expect NAME WANT_RC PATTERN -- CMD...   (PATTERN: extended regex on stdout+stderr; '' = any)
expect() {
  local name=$1 want=$2 pat=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; echo "$out" | sed 's/^/    /' | head -20; fail=$((fail+1)); return
  fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" <<<"$out"; then
    echo "FAIL $name: output lacks /$pat/"; echo "$out" | sed 's/^/    /' | head -20; fail=$((fail+1)); return
  fi
  echo "ok   $name"; pass=$((pass+1))
}

# one_json NAME -- CMD... : stdout is exactly one line holding one JSON object (checked with
# Python when /usr/bin/python3 exists, else by shape: one line, {...})
one_json() {
  local name=$1; shift 2
  local out
  out=$("$@" 2>/dev/null)
  if [ -x /usr/bin/python3 ]; then
    if /usr/bin/python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); assert isinstance(o, dict)' <<<"$out" 2>/dev/null; then
      echo "ok   $name"; pass=$((pass+1)); return
    fi
  elif [ "$(wc -l <<<"$out")" -eq 1 ] && [[ $out == \{*\} ]]; then
    echo "ok   $name"; pass=$((pass+1)); return
  fi
  echo "FAIL $name: stdout is not one JSON object:"; echo "$out" | head -5 | sed 's/^/    /'; fail=$((fail+1))
}

# ---- byte helpers ---------------------------------------------------------------------------
le64() { # N -> 8 bytes little-endian
  local n=$1 i
  for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf '%03o' $(( (n >> (8 * i)) & 255 )))"; done
}
be32() { # N -> 4 bytes big-endian
  local n=$1 i
  for i in 3 2 1 0; do printf "\\$(printf '%03o' $(( (n >> (8 * i)) & 255 )))"; done
}
zeros() { head -c "$1" /dev/zero; }
# mk_st FILE JSON DATA_BYTES: a safetensors file (u64 size, JSON, that many zero bytes of data)
mk_st() { { le64 ${#2}; printf '%s' "$2"; zeros "$3"; } >"$1"; }
# mk_idx FILE TYPE DIMS... -- VALUES... (values as bytes)
mk_idx() {
  local f=$1 type=$2; shift 2
  local dims=() vals=()
  while [ "$1" != "--" ]; do dims+=("$1"); shift; done; shift
  vals=("$@")
  { printf "\\x00\\x00\\x$type\\x$(printf '%02x' ${#dims[@]})"
    for d in "${dims[@]}"; do be32 "$d"; done
    for v in "${vals[@]}"; do printf "\\$(printf '%03o' "$v")"; done; } >"$f"
}
# mk_i64_npy FILE VALUES... : a 1-D int64 .npy (values 0..255)
mk_i64_npy() {
  local f=$1; shift
  local h="{'descr': '<i8', 'fortran_order': False, 'shape': ($#,), }"
  while [ $(( (10 + ${#h} + 1) % 64 )) -ne 0 ]; do h="$h "; done
  { printf '\x93NUMPY\x01\x00'; printf "\\$(printf '%03o' $(( (${#h} + 1) & 255 )))\\$(printf '%03o' $(( (${#h} + 1) >> 8 )))"
    printf '%s\n' "$h"
    for v in "$@"; do printf "\\$(printf '%03o' "$v")"; zeros 7; done; } >"$f"
}

# ---- .npy -----------------------------------------------------------------------------------
"$CN" random --shape 2x3 --seed 1 --out "$T/x.npy" >/dev/null 2>&1
expect npy-ok            0 'npy, float32, shape \(2, 3\), 6 elements' -- "$CN" inspect "$T/x.npy"
expect npy-stats         0 'min -?[0-9.e+-]+  max'             -- "$CN" inspect "$T/x.npy"
expect npy-json          0 '"format":"npy","dtype":"float32","shape":\[2,3\]' -- "$CN" inspect "$T/x.npy" --json
one_json npy-json-one    -- "$CN" inspect "$T/x.npy" --json
head -c 100 "$T/x.npy" >"$T/trunc.npy"
expect npy-pipe          1 'not a regular file \(a pipe or device\)' -- "$CN" inspect /dev/fd/3 3< <(cat "$T/x.npy")
expect npy-truncated     1 'trunc.npy: offset 8: header claims 118 bytes' -- "$CN" inspect "$T/trunc.npy"
{ printf '\x93NUMPY\x09\x00'; zeros 10; } >"$T/v9.npy"
expect npy-version       1 'v9.npy: offset 6: .npy format version 9.0 is not supported' -- "$CN" inspect "$T/v9.npy"
expect npy-fail-json     1 '"error":\{"status":"format error","message":".*trunc.npy' -- "$CN" inspect "$T/trunc.npy" --json

# ---- safetensors ----------------------------------------------------------------------------
mk_st "$T/a.st" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}' 8
expect st-ok             0 'a.st: safetensors, 1 tensors, 8 bytes of data, 1 metadata entries' -- "$CN" inspect "$T/a.st"
expect st-tensor-line    0 'a +F32 +2 +2 +min 0 max 0 mean 0'   -- "$CN" inspect "$T/a.st"
expect st-metadata       0 'metadata k = v'                      -- "$CN" inspect "$T/a.st"
expect st-json           0 '"tensors":\[\{"name":"a","dtype":"F32","shape":\[2\],"elements":2,"bytes":8' -- "$CN" inspect "$T/a.st" --json
one_json st-json-one     -- "$CN" inspect "$T/a.st" --json
mk_st "$T/empty.st" '{}' 0
expect st-empty          0 'safetensors, 0 tensors'              -- "$CN" inspect "$T/empty.st"
{ le64 1000; printf '{"a":1}'; } >"$T/short.st"
expect st-header-size    1 'short.st: offset 0: header size 1000 is larger than the rest of the file \(7 bytes' -- "$CN" inspect "$T/short.st"
mk_st "$T/overlap.st" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
expect st-overlap        1 "overlap.st: tensor 'b': data_offsets \[4, 8\] overlap those of tensor 'a'" -- "$CN" inspect "$T/overlap.st"
mk_st "$T/span.st" '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}' 8
expect st-span           1 "span.st: tensor 'a': data_offsets \[0, 8\] span 8 bytes, but shape 3 of F32 needs 12" -- "$CN" inspect "$T/span.st"
mk_st "$T/trail.st" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 9
expect st-trailing       1 'trail.st: offset [0-9]+: 1 trailing bytes'  -- "$CN" inspect "$T/trail.st"
mk_st "$T/dtype.st" '{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}' 8
expect st-dtype          1 "dtype.st: tensor 'a': unknown dtype 'F33'" -- "$CN" inspect "$T/dtype.st"
mk_st "$T/json.st" '{"a":{"dtype":"F32",,}}' 0
expect st-bad-json       1 'json.st: offset [0-9]+: header is not valid JSON' -- "$CN" inspect "$T/json.st"

# a self-describing model: model text in the metadata, its weights as the tensors
MODEL='[input]\nname = x\nshape = 1x4x4\n\n[conv]\nname = c1\nfilters = 2\nkernel = 3\n'
W='"c1.weight":{"dtype":"F32","shape":[2,1,3,3],"data_offsets":[0,72]},"c1.bias":{"dtype":"F32","shape":[2],"data_offsets":[72,80]}'
mk_st "$T/w.st" "{\"__metadata__\":{\"convnet.model\":\"$MODEL\"},$W}" 80
expect st-model          0 'model \(metadata convnet.model\)'     -- "$CN" inspect "$T/w.st"
expect st-model-layers   0 'c1 +conv +1x2x2x2 +20'                -- "$CN" inspect "$T/w.st"
expect st-model-match    0 "the file's tensors are exactly the model's 2 parameter tensors" -- "$CN" inspect "$T/w.st"
expect st-model-json     0 '"model":\{"layers":\[.*"total_params":20.*"weights_match":true' -- "$CN" inspect "$T/w.st" --json
one_json st-model-json-one -- "$CN" inspect "$T/w.st" --json
mk_st "$T/w3.st" "{\"__metadata__\":{\"convnet.model\":\"${MODEL/filters = 2/filters = 3}\"},$W}" 80
expect st-model-shape    1 "w3.st: tensor 'c1.weight': file has shape 2x1x3x3, model expects 3x1x3x3" -- "$CN" inspect "$T/w3.st"
mk_st "$T/wx.st" "{\"__metadata__\":{\"convnet.model\":\"$MODEL\"},$W,\"extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[80,84]}}" 84
expect st-model-extra    1 "wx.st: tensor 'extra' \(F32, shape 1\) is not a parameter of the model" -- "$CN" inspect "$T/wx.st"
mk_st "$T/wm.st" "{\"__metadata__\":{\"convnet.model\":\"$MODEL\"},\"c1.weight\":{\"dtype\":\"F32\",\"shape\":[2,1,3,3],\"data_offsets\":[0,72]}}" 72
expect st-model-missing  1 "wm.st: model parameter 'c1.bias' \(shape 2\) is not in the file" -- "$CN" inspect "$T/wm.st"
mk_st "$T/wt.st" "{\"__metadata__\":{\"convnet.model\":\"[input]\\nshape = 1x4x4\\nstrde = 2\\n\"}}" 0
expect st-model-text     1 "wt.st:convnet.model:[0-9]+: unknown option 'strde' in \[input\]" -- "$CN" inspect "$T/wt.st"
mk_st "$T/wi.st" "{\"__metadata__\":{\"convnet.model\":\"$MODEL\"},\"c1.weight\":{\"dtype\":\"I32\",\"shape\":[2,1,3,3],\"data_offsets\":[0,72]},\"c1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[72,80]}}" 80
expect st-model-int      1 "wi.st: tensor 'c1.weight': file has dtype I32, model expects a float dtype" -- "$CN" inspect "$T/wi.st"

# ---- model text (and --weights) -------------------------------------------------------------
printf "# a model\n$MODEL\n[act]\nkind = relu\n" >"$T/m.cfg"
expect model-ok          0 'm.cfg: convnet model text'            -- "$CN" inspect "$T/m.cfg"
expect model-layers      0 'act1 +act +1x2x2x2 +0'                -- "$CN" inspect "$T/m.cfg"
expect model-total       0 '3 layers, 20 parameters in 2 tensors, 72 MACs per sample' -- "$CN" inspect "$T/m.cfg"
expect model-json        0 '"format":"model","batch":1,"layers":\[\{"name":"x","type":"input","inputs":\[\],"output":\[1,1,4,4\],"params":0\}' -- "$CN" inspect --json "$T/m.cfg"
one_json model-json-one  -- "$CN" inspect "$T/m.cfg" --json
expect model-weights     0 'weights .*w.st: all 2 parameter tensors present' -- "$CN" inspect "$T/m.cfg" --weights "$T/w.st"
expect model-weights-json 0 '"weights":\{"file":".*w.st","tensors":2\}' -- "$CN" inspect "$T/m.cfg" --weights "$T/w.st" --json
printf "${MODEL/filters = 2/filters = 3}" >"$T/m3.cfg"
expect model-weights-shape 1 "w.st: tensor 'c1.weight': file has shape 2x1x3x3, model expects 3x1x3x3" -- "$CN" inspect "$T/m3.cfg" --weights "$T/w.st"
expect model-weights-missing 1 'nope.st: cannot open' -- "$CN" inspect "$T/m.cfg" --weights "$T/nope.st"
expect st-weights        0 'weights .*w.st: all 2 parameter tensors' -- "$CN" inspect "$T/w.st" --weights "$T/w.st"
expect weights-not-model 2 '--weights needs a model, but .*x.npy is NumPy .npy' -- "$CN" inspect "$T/x.npy" --weights "$T/w.st"
expect weights-no-model  2 "--weights needs a model: .*a.st holds no model text" -- "$CN" inspect "$T/a.st" --weights "$T/w.st"
printf '[input]\nshape = 1x4x4\n[conv]\nfilters = 2\nkernel = 3\nstrde = 2\n' >"$T/typo.cfg"
expect model-typo        1 "typo.cfg:[0-9]+: unknown option 'strde' in \[conv\] — did you mean 'stride'\?" -- "$CN" inspect "$T/typo.cfg"
printf '# comment\n\n[input]\nshape = 1x2x2\n[conv]\nname = c\nfilters = 1\nkernel = 5\n' >"$T/small.cfg"
expect model-plan        1 "small.cfg:5: conv 'c': kernel extent 5 .* is larger than the padded input 2" -- "$CN" inspect "$T/small.cfg"
printf '[input]\nname = x\nshape = 3\n[add]\nname = a\ninputs = x, b\n[add]\nname = b\ninputs = x, a\n' >"$T/cycle.cfg"
expect model-cycle       1 "cycle.cfg: the layers 'a', 'b' form a cycle" -- "$CN" inspect "$T/cycle.cfg"
printf '[input]\nshape = 3\n[input]\nshape = 4\n[dense]\nunits = 2\ninput = input9\n' >"$T/name.cfg"
expect model-input-name  1 "name.cfg:5: layer 'dense1' takes input 'input9', which no layer is named — did you mean 'input1'\?" -- "$CN" inspect "$T/name.cfg"
{ printf '[input]\nshape = 3\n# '; head -c 2000 /dev/zero | tr '\0' x; printf '\n'; } >"$T/long.cfg"
expect model-long-line   1 'long.cfg:3: line longer than 1023 characters' -- "$CN" inspect "$T/long.cfg"

# ---- checkpoints and run directories (written by `convnet train`) ---------------------------
printf '[input]\nname = x\nshape = 1x40\n[conv]\nname = c1\nfilters = 2\nkernel = 5\nstride = 4\n[flatten]\n[dense]\nname = d\nunits = 10\n' >"$T/tiny.cfg"
# --steps 2 stops inside the first epoch: the checkpoint resumes there, 2 batches into epoch 0
if "$CN" train "$T/tiny.cfg" --data mnist1d --epochs 1 --steps 2 --batch 8 --optimizer sgd --momentum 0.9 --out "$T/run" >/dev/null 2>&1; then
  expect ckpt-ok         0 'checkpoint.safetensors: convnet checkpoint \(safetensors\), 8 tensors' -- "$CN" inspect "$T/run/checkpoint.safetensors"
  expect ckpt-state      0 'checkpoint: epoch 0 \(2 batches into it\), step 2, 2 optimizer steps, seed 0, lr 0.01, 4 optimizer buffers, 1 epochs of history' -- "$CN" inspect "$T/run/checkpoint.safetensors"
  expect ckpt-json       0 '"format":"checkpoint".*"checkpoint":\{"epoch":0,"batch":2,"step":2' -- "$CN" inspect "$T/run/checkpoint.safetensors" --json
  one_json ckpt-json-one -- "$CN" inspect "$T/run/checkpoint.safetensors" --json
  expect ckpt-as-weights 0 'weights .*checkpoint.safetensors: all 4 parameter tensors' -- "$CN" inspect "$T/tiny.cfg" --weights "$T/run/checkpoint.safetensors"
  expect rundir          0 'run: convnet run directory' -- "$CN" inspect "$T/run"
  expect rundir-files    0 'checkpoint.safetensors +[0-9]+ layers, 202 parameters; epoch 0, step 2, 4 optimizer buffers' -- "$CN" inspect "$T/run"
  expect rundir-log      0 'log.jsonl +1 epochs; last: epoch 1, step 2' -- "$CN" inspect "$T/run"
  expect rundir-metrics  0 'metrics.json +1000 examples' -- "$CN" inspect "$T/run"
  one_json rundir-json   -- "$CN" inspect "$T/run" --json
  # edited checkpoints: the state, the optimizer buffers
  ck="$T/run/checkpoint.safetensors"
  hl=$(od -An -tu8 -N8 "$ck" | tr -d ' ')
  head -c $((8 + hl)) "$ck" | tail -c "$hl" >"$T/hdr.json"
  tail -c +$((9 + hl)) "$ck" >"$T/data.bin"
  sed 's/\\"step\\":2,/\\"step\\":-2,/' "$T/hdr.json" >"$T/hdr2.json"
  { le64 "$(stat -c %s "$T/hdr2.json")"; cat "$T/hdr2.json" "$T/data.bin"; } >"$T/negstep.st"
  expect ckpt-bad-state  1 'negstep.st: checkpoint state: negative epoch, batch or step' -- "$CN" inspect "$T/negstep.st"
  sed 's/optim\.c1\.weight\.momentum_buffer/optim.c9.weight.momentum_buffer/' "$T/hdr.json" >"$T/hdr3.json"
  { le64 "$(stat -c %s "$T/hdr3.json")"; cat "$T/hdr3.json" "$T/data.bin"; } >"$T/stray.st"
  expect ckpt-stray      1 "stray.st: tensor 'optim.c9.weight.momentum_buffer' is neither a model parameter nor optimizer state" -- "$CN" inspect "$T/stray.st"
  rm "$T/run/log.jsonl"; printf '{"epoch":1}\nnot json\n' >"$T/run/log.jsonl"
  expect rundir-bad-log  1 'log.jsonl:2: expected a JSON object with "epoch"' -- "$CN" inspect "$T/run"
else
  echo "FAIL ckpt: 'convnet train' could not make a run directory"; fail=$((fail+1))
fi

# ---- IDX, plain and gzip --------------------------------------------------------------------
mk_idx "$T/labels.idx" 08 6 -- 0 1 2 2 9 1
expect idx-ok            0 'labels.idx: IDX, ubyte, shape 6, 6 elements' -- "$CN" inspect "$T/labels.idx"
expect idx-counts        0 'count per value 0..9: 1 2 2 0 0 0 0 0 0 1' -- "$CN" inspect "$T/labels.idx"
expect idx-json          0 '"format":"idx","gzip":false,"type":"ubyte","shape":\[6\],"elements":6' -- "$CN" inspect "$T/labels.idx" --json
one_json idx-json-one    -- "$CN" inspect "$T/labels.idx" --json
mk_idx "$T/images.idx" 08 2 2 3 -- 0 10 20 30 40 50 60 70 80 90 100 255
expect idx-images        0 'IDX, ubyte, shape 2x2x3, 12 elements' -- "$CN" inspect "$T/images.idx"
expect idx-images-stats  0 'min 0  max 255'                       -- "$CN" inspect "$T/images.idx"
gzip -c "$T/images.idx" >"$T/images.idx.gz"
expect idx-gzip          0 'images.idx.gz: IDX \(gzip-compressed\), ubyte, shape 2x2x3' -- "$CN" inspect "$T/images.idx.gz"
expect idx-gzip-json     0 '"gzip":true'                          -- "$CN" inspect "$T/images.idx.gz" --json
head -c 20 "$T/images.idx" >"$T/trunc.idx"
expect idx-truncated     1 'trunc.idx: truncated data: the header describes 2x2x3 ubyte values \(12 bytes from offset 16\), but the file ends at offset 20' -- "$CN" inspect "$T/trunc.idx"
head -c 14 "$T/images.idx" >"$T/trunc-hdr.idx"
expect idx-truncated-header 1 'trunc-hdr.idx: truncated header: the data end at offset 14, expected 16 header bytes for 3 dimensions' -- "$CN" inspect "$T/trunc-hdr.idx"
{ cat "$T/labels.idx"; printf 'xy'; } >"$T/extra.idx"
expect idx-extra         1 'extra.idx: offset 14: 2 unexpected bytes after the 6 ubyte values' -- "$CN" inspect "$T/extra.idx"
mk_idx "$T/type.idx" 07 2 -- 1 2
expect idx-type          1 'type.idx: offset 2: unknown type code 0x07' -- "$CN" inspect "$T/type.idx"
mk_idx "$T/zero.idx" 08 2 0 -- 
expect idx-zero-dim      1 'zero.idx: offset 8: dimension 1 is 0' -- "$CN" inspect "$T/zero.idx"
mk_idx "$T/huge.idx" 0e 65536 65536 65536 -- 
expect idx-huge          1 'huge.idx: the header describes 65536x65536x65536 double values .*above the memory cap|overflow' -- "$CN" inspect "$T/huge.idx"
head -c 30 "$T/images.idx.gz" >"$T/trunc.idx.gz"
expect idx-gzip-truncated 1 'trunc.idx.gz: (gzip stream ends unexpectedly|truncated or corrupt)' -- "$CN" inspect "$T/trunc.idx.gz"
{ cat "$T/images.idx.gz"; printf 'junk'; } >"$T/junk.idx.gz"
expect idx-gzip-junk     1 'junk.idx.gz: ' -- "$CN" inspect "$T/junk.idx.gz"
printf '\x1f\x8bnot really gzip data' >"$T/corrupt.gz"
expect idx-gzip-corrupt  1 'corrupt.gz: corrupt gzip stream' -- "$CN" inspect "$T/corrupt.gz"

# ---- images, .npz, ONNX, Darknet (files from the fuzz seeds; an image seed's byte 0 is not
#      part of the file) ---------------------------------------------------------------------
FC="$SRC/fuzz/corpus"
tail -c +2 "$FC/image/rgb.png" >"$T/rgb.png"
expect image-png         0 'rgb.png: PNG image, 7 x 5, 3 channels \(RGB\)'  -- "$CN" inspect "$T/rgb.png"
expect image-channel     0 'channel 2: min [0-9]+  max [0-9]+  mean'         -- "$CN" inspect "$T/rgb.png"
expect image-json        0 '"format":"image","type":"PNG","width":7,"height":5,"channels":3,"channel_stats":\[\{"min"' -- "$CN" inspect "$T/rgb.png" --json
one_json image-json-one  -- "$CN" inspect "$T/rgb.png" --json
tail -c +2 "$FC/image/baseline.jpg" >"$T/photo.jpg"
expect image-jpeg        0 'photo.jpg: JPEG image, 7 x 5, 3 channels'      -- "$CN" inspect "$T/photo.jpg"
tail -c +2 "$FC/image/gray.pgm" >"$T/gray.pgm"
expect image-pgm         0 'gray.pgm: PGM image, 7 x 5, 1 channel \(gray\)' -- "$CN" inspect "$T/gray.pgm"
tail -c +2 "$FC/image/bad-truncated.png" >"$T/cut.png"
expect image-truncated   1 'cut.png .*PNG data is corrupt or truncated after a valid 7 x 5 header' -- "$CN" inspect "$T/cut.png"
tail -c +2 "$FC/image/bad-huge.png" >"$T/huge.png"
expect image-huge        1 'huge.png: the header says 100000 x 100000 pixels' -- "$CN" inspect "$T/huge.png"
expect npz-ok            0 'deflated.npz: NumPy .npz, 3 arrays'              -- "$CN" inspect "$FC/npz/deflated.npz"
expect npz-array         0 'labels +uint8 +3 +min 0 max 9'                   -- "$CN" inspect "$FC/npz/deflated.npz"
expect npz-json          0 '"format":"npz","arrays":\[\{"name":"x","dtype":"float32","shape":\[2,3\]' -- "$CN" inspect "$FC/npz/deflated.npz" --json
one_json npz-json-one    -- "$CN" inspect "$FC/npz/deflated.npz" --json
expect npz-truncated     1 'bad-truncated.npz: cannot open as an .npz archive' -- "$CN" inspect "$FC/npz/bad-truncated.npz"
if "$CN" inspect "$FC/onnx/test_relu.onnx" >/dev/null 2>&1; then
  expect onnx-model      0 'test_relu.onnx: ONNX model, IR version 7, opset 14' -- "$CN" inspect "$FC/onnx/test_relu.onnx"
  expect onnx-ports      0 'input  x +FLOAT +3x4x5 +layer x'                  -- "$CN" inspect "$FC/onnx/test_relu.onnx"
  expect onnx-layers     0 'dense1 +dense +1x10 +70'                          -- "$CN" inspect "$FC/onnx/convnet_lenet.onnx"
  expect onnx-json       0 '"format":"onnx","ir_version":7,"opset":13,"producer":"convnet' -- "$CN" inspect "$FC/onnx/convnet_lenet.onnx" --json
  one_json onnx-json-one -- "$CN" inspect "$FC/onnx/convnet_lenet.onnx" --json
  expect onnx-not-const  1 "input 1 'W' \(weights\) is computed at run time; convnet needs it constant" -- "$CN" inspect "$FC/onnx/bad-test_conv_with_strides_padding.onnx"
  expect onnx-truncated  1 'bad-truncated.onnx: ' -- "$CN" inspect "$FC/onnx/bad-truncated.onnx"
  expect onnx-tensor     0 'relu_input_0.pb: ONNX tensor \(TensorProto\), FLOAT, shape 3x4x5, 60 elements' -- "$CN" inspect "$FC/onnx_tensor/relu_input_0.pb"
  expect onnx-tensor-bad 1 'bad-truncated.pb: not a serialized ONNX TensorProto' -- "$CN" inspect "$FC/onnx_tensor/bad-truncated.pb"
  expect onnx-weights    2 '--weights needs a model, but .*test_relu.onnx is ONNX' -- "$CN" inspect "$FC/onnx/test_relu.onnx" --weights "$T/w.st"
else
  echo "skip onnx: this build reads no ONNX (protobuf-c missing)"
fi
expect darknet-ok        0 'small.cfg: Darknet cfg, as a convnet model'       -- "$CN" inspect "$FC/darknet/small.cfg"
expect darknet-total     0 '[0-9]+ layers, 76 parameters'                     -- "$CN" inspect "$FC/darknet/small.cfg"
one_json darknet-json    -- "$CN" inspect "$FC/darknet/small.cfg" --json
tail -c +$(($(stat -c %s "$FC/darknet/small.cfg") + 2)) "$FC/darknet/small+weights" >"$T/small.weights"
expect darknet-weights   0 'Darknet weights .*small.weights: exactly the floats the cfg needs' -- "$CN" inspect "$FC/darknet/small.cfg" --weights "$T/small.weights"
head -c 20 "$T/small.weights" >"$T/empty.weights"
expect darknet-short     1 'empty.weights: after the 20-byte header the file holds 0 floats; the cfg.s layers need 82' -- "$CN" inspect "$FC/darknet/small.cfg" --weights "$T/empty.weights"
expect darknet-section   1 'bad-section.cfg:5: section \[lstm\] is not supported' -- "$CN" inspect "$FC/darknet/bad-section.cfg"

# ---- MNIST-1D folder ------------------------------------------------------------------------
mkdir -p "$T/m1d"
"$CN" random --shape 4x10 --seed 1 --out "$T/m1d/x_train.npy" >/dev/null 2>&1
"$CN" random --shape 2x10 --seed 2 --out "$T/m1d/x_test.npy" >/dev/null 2>&1
"$CN" random --shape 10 --seed 3 --out "$T/m1d/t.npy" >/dev/null 2>&1
mk_i64_npy "$T/m1d/y_train.npy" 0 3 3 9
mk_i64_npy "$T/m1d/y_test.npy" 1 2
expect mnist1d-ok        0 'm1d: MNIST-1D dataset, 4 train and 2 test examples of length 10' -- "$CN" inspect "$T/m1d"
expect mnist1d-labels    0 'train labels per value 0..9: 1 0 0 2 0 0 0 0 0 1' -- "$CN" inspect "$T/m1d"
expect mnist1d-json      0 '"format":"mnist1d","train":4,"test":2,"length":10' -- "$CN" inspect "$T/m1d" --json
one_json mnist1d-json-one -- "$CN" inspect "$T/m1d" --json
mk_i64_npy "$T/m1d/y_test.npy" 1 12
expect mnist1d-bad-label 1 'y_test.npy: label \[1\] = 12, expected 0..9' -- "$CN" inspect "$T/m1d"
mk_i64_npy "$T/m1d/y_test.npy" 1 2 3
expect mnist1d-count     1 'x_test.npy has 2 examples but .*y_test.npy has 3 labels' -- "$CN" inspect "$T/m1d"
rm "$T/m1d/t.npy"
expect mnist1d-missing   1 't.npy: cannot open' -- "$CN" inspect "$T/m1d"

# ---- anything else --------------------------------------------------------------------------
mkdir -p "$T/dir"
expect directory         1 'dir: is a directory, expected a file \(or an MNIST-1D folder' -- "$CN" inspect "$T/dir"
: >"$T/empty"
expect empty-file        1 'empty: unrecognized format: the file is empty' -- "$CN" inspect "$T/empty"
printf 'hello\n' >"$T/hello.txt"
expect unknown-text      1 'hello.txt: unrecognized format \(first bytes 68 65 6c 6c 6f 0a\); inspect understands NumPy .npy, safetensors' -- "$CN" inspect "$T/hello.txt"
expect unknown-json      1 '"status":"unsupported"' -- "$CN" inspect "$T/hello.txt" --json
expect missing           1 'nope.bin: cannot open: No such file' -- "$CN" inspect "$T/nope.bin"
expect no-file           2 'expected one FILE' -- "$CN" inspect
expect two-files         2 '' -- "$CN" inspect "$T/x.npy" "$T/a.st"
expect weights-no-value  2 '--weights needs a value' -- "$CN" inspect "$T/m.cfg" --weights
expect help              0 'usage: convnet inspect FILE \[--weights W\]' -- "$CN" inspect --help

# ---- every fuzz seed and regression input: handled, never a crash ----------------------------
crashed=0 n=0
for f in "$SRC"/fuzz/corpus/*/* "$SRC"/tests/fuzz_regressions/*/*; do
  [ -f "$f" ] || continue
  n=$((n+1))
  "$CN" inspect "$f" >/dev/null 2>&1; rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then echo "FAIL inspect $f: exit $rc"; crashed=$((crashed+1)); fi
  "$CN" inspect --json "$f" >/dev/null 2>&1; rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then echo "FAIL inspect --json $f: exit $rc"; crashed=$((crashed+1)); fi
done
if [ "$n" -gt 0 ] && [ "$crashed" -eq 0 ]; then echo "ok   fuzz-inputs ($n files, exit 0 or 1 each)"; pass=$((pass+1))
else echo "FAIL fuzz-inputs: $crashed of $n files crashed or none found"; fail=$((fail+1)); fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
