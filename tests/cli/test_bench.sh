#!/usr/bin/env bash
# test_bench.sh CONVNET [BUILD_DIR] — `convnet bench` as a user meets it, without running the
# benchmark itself (benchmarks never run under ctest): help, and every usage error exits 2 with
# a line naming the bad value. The Darknet section runs in a tiny form (32x32 inputs, one
# repetition, one thread, no convolutions, networks or PyTorch): with the darknet_bench helper
# (built beside convnet when Debian's darknet is installed) both sides give a time and a ratio;
# without it, or with a missing or failing helper, or missing cfgs, a note and exit 0.
# Prints "N passed, M failed" and exits non-zero on any failure.
set -u
CN=${1:?usage: test_bench.sh path/to/convnet [build dir]}
BUILD=${2:-$(dirname "$CN")}
pass=0 fail=0

# expect NAME WANT_RC PATTERN -- CMD...   (PATTERN: extended regex on stdout+stderr)
expect() {
  local name=$1 want=$2 pat=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; echo "$out" | sed 's/^/    /' | head -10; fail=$((fail+1)); return
  fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" <<<"$out"; then
    echo "FAIL $name: output lacks /$pat/"; echo "$out" | sed 's/^/    /' | head -10; fail=$((fail+1)); return
  fi
  echo "ok   $name"; pass=$((pass+1))
}

expect "help"              0 "PyTorch"                 -- "$CN" bench --help
expect "listed in --help"  0 "bench"                   -- "$CN" --help
expect "unknown shape"     2 "no shape 'z'"            -- "$CN" bench --shapes b,z
expect "unknown network"   2 "names none of"           -- "$CN" bench --nets alexnet
expect "bad thread list"   2 "not a list of 1..256"    -- "$CN" bench --threads-list 1,x
expect "zero threads"      2 "not a list of 1..256"    -- "$CN" bench --threads-list 0
expect "bad repetitions"   2 "--reps 0 is not in 1..101" -- "$CN" bench --reps 0
expect "unknown option"    2 "unknown option|did you mean" -- "$CN" bench --shape b
expect "darknet in --help" 0 "--no-darknet"            -- "$CN" bench --help
expect "bad darknet size"  2 "--darknet-size 100 is not a multiple of 32" -- "$CN" bench --darknet-size 100
expect "unknown darknet net" 2 "names none of resnet18, yolov3-tiny" -- "$CN" bench --darknet-nets alexnet

# the Darknet section alone, as small as it gets
TINY=(bench --no-torch --shapes none --nets none --threads-list 1 --reps 1 --darknet-size 32)
CFGS=/usr/share/darknet/cfg
ROW='yolov3-tiny +1 +[0-9.]+ +[0-9.]+ +[0-9.]+ \|'
export CONVNET_NUM_THREADS=1
empty=$(mktemp -d) || exit 1
trap 'rm -rf "$empty"' EXIT
expect "darknet: no cfgs"  0 "skipped: $empty/yolov3-tiny.cfg not found" -- "$CN" "${TINY[@]}" --darknet-cfgs "$empty"
expect "--no-darknet"      0 "^notes:"                 -- "$CN" "${TINY[@]}" --no-darknet
out=$("$CN" "${TINY[@]}" --no-darknet 2>&1)
if grep -q "darknet cfgs" <<<"$out"; then echo "FAIL --no-darknet: the section still ran"; fail=$((fail+1)); else echo "ok   --no-darknet skips the section"; pass=$((pass+1)); fi
if [ -r "$CFGS/yolov3-tiny.cfg" ] && [ -r "$CFGS/resnet18.cfg" ]; then
  # convnet's side runs without Darknet; the Darknet columns say why they are empty
  expect "darknet: no helper"   0 "skipped: --darknet-bench $empty/none: not an executable file" -- \
    "$CN" "${TINY[@]}" --darknet-nets yolov3-tiny --darknet-bench "$empty/none"
  expect "darknet: convnet row" 0 "$ROW +nan +nan \| +nan +nan \| >=8x +n/a" -- \
    "$CN" "${TINY[@]}" --darknet-nets yolov3-tiny --darknet-bench "$empty/none"
  expect "darknet: bad helper in env" 0 "skipped: CONVNET_DARKNET_BENCH=$empty/none: not an executable" -- \
    env CONVNET_DARKNET_BENCH="$empty/none" "$CN" "${TINY[@]}" --darknet-nets yolov3-tiny
  expect "darknet: failing helper" 0 "darknet failed: /bin/false .*exit status 1" -- \
    env CONVNET_DARKNET_BENCH=/bin/false "$CN" "${TINY[@]}" --darknet-nets yolov3-tiny
  if [ -x "$BUILD/darknet_bench" ]; then
    H=$BUILD/darknet_bench
    expect "darknet_bench usage" 2 "--size is not in 16..4096" -- "$H" "$CFGS/yolov3-tiny.cfg" --size 8
    expect "darknet_bench missing cfg" 1 "$empty/x.cfg: No such file" -- "$H" "$empty/x.cfg"
    expect "darknet_bench result" 0 '^DARKNET_BENCH_JSON \{.*"w": 32, "h": 32, .*"median_ms": [0-9.]+, .*"outputs": 1020, "finite_outputs": 1020\}$' -- \
      "$H" "$CFGS/yolov3-tiny.cfg" --size 32 --reps 1 --warmup 0
    for net in resnet18 yolov3-tiny; do
      expect "darknet: $net vs Darknet" 0 "^$net +1 +[0-9.]+ +[0-9.]+ +[0-9.]+ \| +[0-9.]+ +[0-9.]+ \| +[0-9.]+ +[0-9.]+ \| >=8x +n/a \(the target is at 224x224\)" -- \
        "$CN" "${TINY[@]}" --darknet-nets "$net" --darknet-bench "$H"
    done
    expect "darknet: --json" 0 '"darknet_fwd_s":.*"ratio":.*"outputs":[[:space:]]*1020,.*"darknet_outputs":[[:space:]]*1020' -- \
      "$CN" "${TINY[@]}" --json --darknet-nets yolov3-tiny --darknet-bench "$H"
    out=$("$CN" "${TINY[@]}" --json --darknet-nets yolov3-tiny --darknet-bench "$H" 2>/dev/null)
    if [ -x /usr/bin/python3 ]; then
      if /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.stdin.read())["darknet"]; r=d["nets"][0]; assert d["size"]==32 and r["ratio"]>0 and r["ratio_cpu"]>0 and r["verdict"].startswith("n/a (the target")' <<<"$out" 2>/dev/null; then
        echo "ok   darknet: --json parses"; pass=$((pass+1))
      else echo "FAIL darknet: --json does not parse or lacks the ratio"; echo "$out" | sed 's/^/    /' | head -10; fail=$((fail+1)); fi
    fi
  else
    echo "skip darknet vs Darknet: no $BUILD/darknet_bench (built when Debian's darknet is installed)"
    expect "darknet: no helper note" 0 "skipped: no darknet_bench helper" -- env -u CONVNET_DARKNET_BENCH "$CN" "${TINY[@]}"
  fi
else
  echo "skip darknet rows: no $CFGS (Debian's darknet package)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
