#!/usr/bin/env bash
# demo.sh CONVNET — the `make demo` job. Until the MNIST-1D experiment lands, a smoke run of
# what exists: the machine, seeded tensors that do not depend on the thread count, and
# validation of files.
set -eu
CN=${1:-build/convnet}
out=${DEMO_DIR:-runs/demo}
mkdir -p "$out"
echo "== convnet version"
"$CN" version
echo "== a seeded 8x3x32x32 normal tensor, drawn with 1 and with 2 threads"
"$CN" random --shape 8x3x32x32 --dist normal --seed 42 --threads 1 --out "$out/x1.npy"
"$CN" random --shape 8x3x32x32 --dist normal --seed 42 --threads 2 --out "$out/x2.npy"
cmp "$out/x1.npy" "$out/x2.npy" && echo "identical files: the seed alone decides the numbers"
"$CN" inspect "$out/x1.npy"
echo "== a bad request fails cleanly"
if "$CN" random --shape 1048576x1048576 --out "$out/huge.npy"; then echo "unexpected success" >&2; exit 1; fi
echo "demo done; files in $out"
