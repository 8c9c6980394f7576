#!/usr/bin/env bash
# test_data.sh CONVNET — the data commands as a user drives them: `convnet dataset mnist1d`
# (files, shapes, loading them back with npy:DIR), `convnet dataset info` on every kind of
# spec (text and JSON), `convnet augment` (a real PNG, one row per augmentation, masks and
# boxes, signals), and the failures: bad specs, corrupt images and archives (exit 1, one
# clear line naming the file), usage errors (exit 2).
# Prints "N passed, M failed" and exits non-zero on any failure.
set -u
CN=${1:?usage: test_data.sh path/to/convnet}
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$HERE/../fixtures/data
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

# json NAME PYEXPR -- CMD... : stdout must be one JSON object o for which PYEXPR holds
json() {
  local name=$1 cond=$2; shift 3
  local out
  out=$("$@" 2>/dev/null)
  if [ ! -x /usr/bin/python3 ]; then echo "skip $name: no /usr/bin/python3 to parse JSON"; return; fi
  if /usr/bin/python3 -c "import json,sys; o=json.loads(sys.stdin.read()); assert isinstance(o, dict); assert $cond, o" <<<"$out" 2>/dev/null; then
    echo "ok   $name"; pass=$((pass+1))
  else
    echo "FAIL $name: JSON fails '$cond':"; echo "$out" | head -c 600 | sed 's/^/    /'; echo; fail=$((fail+1))
  fi
}

# png NAME FILE: a PNG file (signature)
png() {
  if [ -f "$2" ] && [ "$(head -c 8 "$2" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; then
    echo "ok   $1"; pass=$((pass+1))
  else
    echo "FAIL $1: $2 is not a PNG file"; fail=$((fail+1))
  fi
}

# ---- convnet dataset mnist1d ----
expect mnist1d-write      0 ''                                 -- "$CN" dataset mnist1d --out "$T/m1d"
for f in x_train y_train x_test y_test t; do
  expect "mnist1d-$f"     0 ''                                 -- test -s "$T/m1d/$f.npy"
done
expect mnist1d-inspect    0 'float32.*4000.*40|4000.*40'       -- "$CN" inspect "$T/m1d/x_train.npy"
expect mnist1d-labels     0 'int64'                            -- "$CN" inspect "$T/m1d/y_train.npy"
expect mnist1d-back       0 'npy/train: 4000 samples of 1x40, 10 classes' -- "$CN" dataset info "npy:$T/m1d"
json   mnist1d-back-json  'o["train"]["n"]==4000 and o["test"]["n"]==1000 and o["train"]["sample"]==[1,40]' -- "$CN" dataset info "npy:$T/m1d" --json
json   mnist1d-write-json 'o["n_train"]==4000 and o["seed"]==42 and len(o["files"])==5' -- "$CN" dataset mnist1d --out "$T/m1d2" --json
expect mnist1d-seed       0 ''                                 -- "$CN" dataset mnist1d --out "$T/m1d7" --seed 7 --n 500
expect mnist1d-seed-n     0 '400 samples of 1x40'              -- "$CN" dataset info "npy:$T/m1d7"
expect mnist1d-no-out     2 'mnist1d: --out DIR is required'   -- "$CN" dataset mnist1d
expect mnist1d-bad-dir    1 'cannot create the folder|nonexistent' -- "$CN" dataset mnist1d --out /nonexistent/deeper/dir

# ---- convnet dataset info ----
expect info-mnist1d       0 'mnist1d/train: 4000 samples of 1x40, 10 classes' -- "$CN" dataset info mnist1d
json   info-json          'o["spec"]=="mnist1d:n=500" and o["train"]["target_kind"]=="class" and sum(o["train"]["class_counts"])==400' -- "$CN" dataset info mnist1d:n=500 --json
json   info-stats         'len(o["train"]["mean"])==3 and all(s>0 for s in o["train"]["std"])' -- "$CN" dataset info synthetic-seg:n=50,size=16 --stats --json
expect info-seg           0 'dense_class targets 32x32 \(4 classes\)' -- "$CN" dataset info synthetic-seg:n=20,test=4,size=32
expect info-seg-names     0 'class 3 triangle'                 -- "$CN" dataset info synthetic-seg:n=20,size=32
json   info-det           'o["train"]["target_kind"]=="boxes" and o["train"]["target"]==[8,5] and o["test"]["n"]==400' -- "$CN" dataset info synthetic-det --json
expect info-npz           0 'npz/train: 6 samples of 1x2x3, 3 classes' -- "$CN" dataset info "npz:$FIX/arrays_c.npz"
expect info-npz-layout    0 'npz/train: 6 samples of 2x3'      -- "$CN" dataset info "npz:$FIX/arrays.npz:layout=ncw"
if [ -d /usr/share/datasets/fashion-mnist ]; then
  expect info-fashion     0 'class 9 Ankle boot: 6000'         -- "$CN" dataset info fashion-mnist --scan 10
else
  echo "skip info-fashion: dataset-fashion-mnist is not installed"
fi
expect info-unknown       1 "data 'cifar': unknown dataset"    -- "$CN" dataset info cifar
expect info-bad-option    1 "unknown option 'sed' — did you mean 'seed'"  -- "$CN" dataset info mnist1d:sed=1
expect info-no-spec       2 'info: expected one dataset SPEC' -- "$CN" dataset info
expect info-sub-typo      2 "unknown subcommand 'inf' — did you mean 'info'" -- "$CN" dataset inf mnist1d
expect info-no-sub        2 'expected a subcommand'            -- "$CN" dataset
json   info-error-json    'o["error"]["status"]=="invalid argument"' -- "$CN" dataset info cifar --json

# corrupt and truncated archives
head -c 600 "$FIX/arrays.npz" > "$T/trunc.npz"
expect npz-truncated      1 "trunc.npz: cannot open as an .npz archive" -- "$CN" dataset info "npz:$T/trunc.npz"
echo "not a zip" > "$T/text.npz"
expect npz-not-zip        1 "text.npz: cannot open as an .npz archive: not a zip archive" -- "$CN" dataset info "npz:$T/text.npz"
expect npz-missing        1 "missing.npz"                      -- "$CN" dataset info "npz:$T/missing.npz"

# ---- convnet augment ----
expect aug-default-seg    0 'wrote .*augment.png'              -- "$CN" augment --data synthetic-seg:n=40,size=32 --out "$T/aug1" --n 6
png    aug-default-png    "$T/aug1/augment.png"
json   aug-json-rows      'o["rows"][0]=="original" and len(o["rows"])==6 and o["rows"][1].startswith("hflip=1") and len(o["samples"])==4' -- "$CN" augment --data synthetic-det:n=40 --out "$T/aug2" --n 4 --augment "hflip,rotate=15,jitter=0.2" --draws 0 --json
json   aug-json-draws     'len(o["rows"])==1+2+3 and o["width"]>0' -- "$CN" augment --data synthetic-seg:n=40,size=24 --out "$T/aug3" --n 3 --augment "crop=4,noise=0.1" --json
png    aug-det-png        "$T/aug2/augment.png"
expect aug-signal         0 'wrote .*augment.png'              -- "$CN" augment --data mnist1d:n=200 --out "$T/aug4" --n 5
png    aug-signal-png     "$T/aug4/augment.png"
expect aug-signal-rotate  1 'rotate needs images \(C x H x W\)' -- "$CN" augment --data mnist1d:n=200 --out "$T/aug5" --augment rotate=10
expect aug-bad-op         1 "unknown operation 'rotat' — did you mean 'rotate'" -- "$CN" augment --data synthetic-seg:n=10 --out "$T/aug6" --augment rotat=10
expect aug-bad-range      1 'rotate deg 400 is not in \[0, 180\]' -- "$CN" augment --data synthetic-seg:n=10 --out "$T/aug6" --augment rotate=400
expect aug-no-data        2 '--data is required'               -- "$CN" augment --out "$T/aug7"
expect aug-no-out         2 '--out is required'                -- "$CN" augment --data mnist1d
expect aug-bad-n          2 '--n 0: expected 1..256'           -- "$CN" augment --data mnist1d --out "$T/x" --n 0
expect aug-help           0 'usage: convnet augment'           -- "$CN" augment --help
expect aug-test-split     0 ''                                 -- "$CN" augment --data synthetic-seg:n=10,test=5,size=16 --split test --out "$T/aug8" --n 3

# ---- image folders, built from PNGs convnet wrote ----
mkdir -p "$T/f/train/cat" "$T/f/train/dog" "$T/f/test/cat" "$T/f/test/dog"
"$CN" augment --data synthetic-seg:n=10,size=16 --out "$T/pngs" --n 2 --augment hflip --draws 0 >/dev/null 2>&1
for d in train/cat train/dog test/cat test/dog; do cp "$T/pngs/augment.png" "$T/f/$d/a.png"; cp "$T/pngs/augment.png" "$T/f/$d/b.png"; done
expect folder-info        0 'folder/train: 4 samples of 3x[0-9]+x[0-9]+, 2 classes' -- "$CN" dataset info "folder:$T/f"
expect folder-names       0 'class 1 dog: 2'                   -- "$CN" dataset info "folder:$T/f"
expect folder-resize      0 'folder/train: 4 samples of 1x12x20' -- "$CN" dataset info "folder:$T/f:size=12x20,channels=1"
printf '\x89PNG\r\n\x1a\nbroken' > "$T/f/train/dog/c.png"
expect folder-corrupt     1 'train/dog/c.png.*PNG header is corrupt or truncated' -- "$CN" dataset info "folder:$T/f"
expect folder-skip        0 'skipped 1 of 5 image files'       -- "$CN" dataset info "folder:$T/f:bad=skip"
expect folder-augment     0 'wrote'                            -- "$CN" augment --data "folder:$T/f:bad=skip,size=16x16" --out "$T/aug9" --n 4
expect folder-missing     1 'not a folder'                     -- "$CN" dataset info "folder:$T/nowhere"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
