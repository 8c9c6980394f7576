#!/usr/bin/env bash
# test_bench.sh CONVNET — `convnet bench` as a user meets it, without running the benchmark
# itself (benchmarks never run under ctest): help, and every usage error exits 2 with a line
# naming the bad value. Prints "N passed, M failed" and exits non-zero on any failure.
set -u
CN=${1:?usage: test_bench.sh path/to/convnet}
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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
