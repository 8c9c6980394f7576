#!/usr/bin/env bash
# run_conformance.sh CONVNET DATA CASES — ONNX's own backend test cases, as Debian's
# libonnx-testdata installs them under DATA (/usr/share/libonnx-testdata/data), run through
# `convnet onnx-test` against the checked-in classification CASES (tests/onnx/cases.txt):
# every case listed `run` must pass, every `skip` carries its reason, and a case found in the
# folders but not listed (or listed but not found) fails. Folders: node/ (the operator
# conformance cases) and pytorch-converted/, pytorch-operator/, simple/ (small models).
# Exits 77 (ctest: skipped) when the package is absent.
set -u
CN=${1:?usage: run_conformance.sh path/to/convnet DATA CASES}
DATA=${2:?}
CASES=${3:?}
if [ ! -d "$DATA/node" ]; then
  echo "skip: $DATA/node not found (Debian package libonnx-testdata; 'make deps' installs it)"
  exit 77
fi
# the command is `onnx-test`; builds whose dispatcher does not map '-' to '_' know it as onnx_test
CMD=onnx-test
"$CN" onnx-test --help >/dev/null 2>&1 || CMD=onnx_test
dirs=()
for d in node pytorch-converted pytorch-operator simple; do
  [ -d "$DATA/$d" ] && dirs+=("$DATA/$d")
done
"$CN" "$CMD" "${dirs[@]}" --cases "$CASES"
