#!/usr/bin/env bash
# test_cli.sh CONVNET — drives the convnet CLI as a user would: help, version, JSON output,
# usage errors (exit 2), failures on bad files and shapes (exit 1, one clear line, no crash,
# no partial output). Prints "N passed, M failed" and exits non-zero on any failure.
set -u
CN=${1:?usage: test_cli.sh path/to/convnet}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# expect NAME WANT_RC PATTERN -- CMD...   (PATTERN is an extended regex matched against stdout+stderr; '' = any)
expect() {
  local name=$1 want=$2 pat=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; echo "$out" | sed 's/^/    /' | head -20; fail=$((fail+1)); return
  fi
  if [ "$rc" -ge 128 ]; then echo "FAIL $name: killed by a signal"; fail=$((fail+1)); return; fi
  if [ -n "$pat" ] && ! grep -Eq -- "$pat" <<<"$out"; then
    echo "FAIL $name: output lacks /$pat/"; echo "$out" | sed 's/^/    /' | head -20; fail=$((fail+1)); return
  fi
  echo "ok   $name"; pass=$((pass+1))
}

json_ok() { # NAME -- CMD... : stdout must be exactly one JSON object
  local name=$1; shift 2
  local out
  out=$("$@" 2>/dev/null)
  if [ ! -x /usr/bin/python3 ]; then echo "skip $name: no /usr/bin/python3 to parse JSON"; return; fi
  if /usr/bin/python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); assert isinstance(o, dict)' <<<"$out" 2>/dev/null; then
    echo "ok   $name"; pass=$((pass+1))
  else
    echo "FAIL $name: stdout is not one JSON object:"; echo "$out" | head -10 | sed 's/^/    /'; fail=$((fail+1))
  fi
}

expect help              0 'usage: convnet COMMAND'      -- "$CN" --help
expect help-short        0 'commands:'                    -- "$CN" -h
expect no-args           2 'usage: convnet'               -- "$CN"
expect version           0 '^convnet [0-9]+\.[0-9]+\.[0-9]+' -- "$CN" --version
expect version-json      0 '"version":"[0-9.]+"'        -- "$CN" --version --json
expect version-features  0 '"features":\['              -- "$CN" --version --json
expect version-isa       0 '"isa":"(generic|avx2|avx512)"' -- "$CN" version --json
json_ok version-is-json  -- "$CN" --version --json
expect cmd-help          0 'usage: convnet random'       -- "$CN" random --help
expect help-cmd          0 'usage: convnet inspect'      -- "$CN" help inspect
for c in version inspect random help; do
  expect "help-$c"       0 "usage: convnet $c"           -- "$CN" "$c" --help
done
expect unknown-cmd       2 "unknown command 'inpsect' — did you mean 'inspect'" -- "$CN" inpsect x
expect unknown-flag      2 "unknown option '--sead' — did you mean '--seed'" -- "$CN" random --sead 3
expect unknown-top-flag  2 "unknown option '--frobnicate'" -- "$CN" --frobnicate
expect missing-value     2 '--out needs a value'          -- "$CN" random --shape 2x2 --out
expect bad-int           2 "--seed expects an integer, got 'abc'" -- "$CN" random --shape 2 --out "$T/a.npy" --seed abc
expect bad-threads       2 '--threads 0?-?[0-9]+: expected a thread count' -- "$CN" --threads -3 version
expect bad-dist          2 "--dist 'gauss'"               -- "$CN" random --shape 2 --out "$T/a.npy" --dist gauss

# tensors: good, zero-sized, absurd
expect random-ok         0 ''                             -- "$CN" random --shape 2x3x4 --dist normal --seed 5 --out "$T/x.npy"
expect inspect-ok        0 'npy, float32, shape \(2, 3, 4\)' -- "$CN" inspect "$T/x.npy"
json_ok inspect-json     -- "$CN" inspect "$T/x.npy" --json
expect inspect-json-shape 0 '"shape":\[2,3,4\]'       -- "$CN" inspect --json "$T/x.npy"
"$CN" random --shape 2x3x4 --dist normal --seed 5 --out "$T/y.npy" --threads 1 >/dev/null 2>&1
"$CN" random --shape 2x3x4 --dist normal --seed 5 --out "$T/z.npy" --threads 2 >/dev/null 2>&1
expect same-seed-any-threads 0 '' -- cmp "$T/y.npy" "$T/z.npy"
expect zero-shape        1 'dimension 1 of shape 3x0 is 0' -- "$CN" random --shape 3x0 --out "$T/zero.npy"
expect absurd-shape      1 'shape 1048576x1048576 has 1099511627776 elements' -- "$CN" random --shape 1048576x1048576 --out "$T/big.npy"
expect absurd-json       1 '"status":"size limit"'      -- "$CN" random --shape 1048576x1048576 --out "$T/big.npy" --json
expect bad-shape-text    1 "shape '3xqx4'"               -- "$CN" random --shape 3xqx4 --out "$T/q.npy"
expect no-partial-output 1 ''                             -- test -e "$T/zero.npy" -o -e "$T/big.npy" -o -e "$T/q.npy"

# bad files
expect missing-file      1 'nope.npy: cannot open: No such file' -- "$CN" inspect "$T/nope.npy"
printf 'hello' > "$T/text.txt"
expect unknown-format    1 'unrecognized format'          -- "$CN" inspect "$T/text.txt"
head -c 100 "$T/x.npy" > "$T/trunc.npy"
expect truncated-header  1 'trunc.npy: offset 8: header claims 118 bytes' -- "$CN" inspect "$T/trunc.npy"
head -c 200 "$T/x.npy" > "$T/trunc2.npy"
expect truncated-data    1 'trunc2.npy: offset 128: shape and dtype need 96 bytes of data, the file has 72' -- "$CN" inspect "$T/trunc2.npy"
expect directory         1 'is a directory'              -- "$CN" inspect "$T"
expect unwritable-out    1 'cannot create'               -- "$CN" random --shape 2 --out /nonexistent-dir/x.npy
expect inspect-no-file   2 'expected one FILE'           -- "$CN" inspect

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
