#!/usr/bin/env bash
# fuzz.sh [TARGET...] — build the libFuzzer targets (fuzz/targets.h) with clang and run each
# for a bounded time. This is `make fuzz`.
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_JOBS     targets run at once (default 1)
#   FUZZ_BUILD    build directory (default build-fuzz), configured with CC=$FUZZ_CC
#   FUZZ_CC       the compiler (default clang; libFuzzer needs clang)
#   FUZZ_OUT      where results go (default $FUZZ_BUILD/fuzz-out): corpus/<target>/ (what the
#                 fuzzer learned, kept between runs), crashes/<target>/ (findings),
#                 logs/<target>.log, history.tsv (one line per run: date, target, seconds,
#                 executions, findings)
#   FUZZ_ARGS     extra libFuzzer options for every target (e.g. "-only_ascii=1")
#
# Each target starts from its checked-in seeds (fuzz/corpus/<target>/, read only) and the
# corpus it grew in earlier runs, with its dictionary fuzz/fuzz_<target>.dict if there is one.
# A finding (crash, sanitizer report, broken invariant, leak, an input slower than 25 s or
# using more than 2 GB) stops that target; the script lists every finding with the command
# that reproduces it and exits 1. A finding that is fixed becomes a regression test: copy
# the input to tests/fuzz_regressions/<target>/ (tests/unit/test_fuzz_regressions.c replays
# that folder in every build).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
BUILD=${FUZZ_BUILD:-build-fuzz}
CC_FUZZ=${FUZZ_CC:-clang}
OUT=${FUZZ_OUT:-$BUILD/fuzz-out}
EXTRA=${FUZZ_ARGS:-}

case "$SECONDS_EACH" in '' | *[!0-9]*) echo "fuzz.sh: FUZZ_SECONDS='$SECONDS_EACH' is not a number of seconds" >&2; exit 2 ;; esac
case "$JOBS" in '' | *[!0-9]* | 0) echo "fuzz.sh: FUZZ_JOBS='$JOBS' is not a positive number" >&2; exit 2 ;; esac
if ! command -v "$CC_FUZZ" >/dev/null 2>&1; then
  echo "fuzz.sh: '$CC_FUZZ' not found; libFuzzer needs clang (Debian: apt-get install clang)" >&2
  exit 2
fi

all_targets=$(sed -n 's/^#include "fuzz_\([a-z0-9_]*\)\.c".*/\1/p' fuzz/targets.h)
targets=${*:-$all_targets}
for t in $targets; do
  if ! grep -qx "$t" <<<"$all_targets"; then
    echo "fuzz.sh: unknown target '$t' (fuzz/targets.h lists: $(echo $all_targets))" >&2
    exit 2
  fi
done

echo "== building fuzz targets in $BUILD with $CC_FUZZ (log: $OUT/logs/build.log)"
mkdir -p "$OUT/logs"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  CC=$CC_FUZZ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVNET_FUZZ=ON -DCONVNET_BUILD_TESTS=OFF >/dev/null
else
  cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
  case "$("$cc" --version 2>/dev/null | head -1)" in
    *clang*) ;;
    *) echo "fuzz.sh: $BUILD was configured with '$cc', not clang; remove it or set FUZZ_BUILD to another folder" >&2; exit 2 ;;
  esac
  cmake -S . -B "$BUILD" -DCONVNET_FUZZ=ON >/dev/null
fi
if ! cmake --build "$BUILD" --target fuzz_all -j "$(nproc 2>/dev/null || echo 2)" >"$OUT/logs/build.log" 2>&1; then
  tail -30 "$OUT/logs/build.log" >&2
  echo "fuzz.sh: the build failed (the whole log: $OUT/logs/build.log)" >&2
  exit 1
fi

run_one() { # TARGET
  local t=$1 dict=() start
  start=$(date +%s)
  mkdir -p "$OUT/corpus/$t" "$OUT/crashes/$t"
  touch "$OUT/logs/$t.start"
  [ -f "fuzz/fuzz_$t.dict" ] && dict=("-dict=fuzz/fuzz_$t.dict")
  # -max_total_time bounds the run; timeout(1) is a backstop if the fuzzer itself hangs
  # shellcheck disable=SC2086
  timeout --signal=KILL $((SECONDS_EACH + 120)) "$BUILD/fuzz/fuzz_$t" "$OUT/corpus/$t" "fuzz/corpus/$t" \
    -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$OUT/crashes/$t/" "${dict[@]}" $EXTRA >"$OUT/logs/$t.log" 2>&1 || true
  echo $(($(date +%s) - start)) >"$OUT/logs/$t.seconds"
}

echo "== running: $(echo $targets), ${SECONDS_EACH}s each, $JOBS at a time (logs in $OUT/logs)"
running=0
for t in $targets; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-14s %10s %12s %10s %8s  %s\n' target seconds executions "exec/s" corpus findings
for t in $targets; do
  log="$OUT/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(cat "$OUT/logs/$t.seconds" 2>/dev/null || echo 0)
  execs=${execs:-0}
  rate=$((execs / (secs > 0 ? secs : 1)))
  corpus=$(find "$OUT/corpus/$t" -type f | wc -l)
  # findings: crash-*, leak-*, timeout-* (over 25 s), oom-*; slow-unit-* (over 10 s) are only reported
  found=$(find "$OUT/crashes/$t" -type f -newer "$OUT/logs/$t.start" ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$OUT/crashes/$t" -type f -newer "$OUT/logs/$t.start" -name 'slow-unit-*' | wc -l)
  [ "$slow" -gt 0 ] && echo "  $t: $slow slow inputs (over 10 s each, not failures) in $OUT/crashes/$t/slow-unit-*"
  printf '%-14s %10s %12s %10s %8s  %s\n' "$t" "$secs" "$execs" "$rate" "$corpus" "$found"
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$secs" "$execs" "$found" >>"$OUT/history.tsv"
  if [ "$found" -gt 0 ] || ! grep -q '^Done [0-9]* runs' "$log"; then
    status=1
    echo "  $t: FINDING — see $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: invariant|.*runtime error)' "$log" | head -5 | sed 's/^/    /' || true
    for f in "$OUT/crashes/$t"/*; do
      [ -f "$f" ] && [ "$f" -nt "$OUT/logs/$t.start" ] && [[ $f != */slow-unit-* ]] && echo "    reproduce: $BUILD/fuzz/fuzz_$t $f   (then: cp $f tests/fuzz_regressions/$t/)"
    done
  fi
done
if [ -s "$OUT/history.tsv" ]; then
  echo "== total executions so far (all runs in $OUT/history.tsv):"
  awk -F'\t' '{s[$2]+=$3; e[$2]+=$4; f[$2]+=$5; if ($5 == 0) c[$2]+=$3}
    END {for (t in s) printf "  %-14s %8d s %14d executions %4d findings  (%d s in runs without a finding)\n", t, s[t], e[t], f[t], c[t]}' \
    "$OUT/history.tsv" | sort
fi
exit $status
