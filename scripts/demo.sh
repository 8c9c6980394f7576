#!/usr/bin/env bash
# demo.sh CONVNET — the `make demo` job: the main experiment, convolution versus fully
# connected on MNIST-1D (UDL section 10.2.7 / figure 10.8, and the MNIST-1D paper's table),
# trained from scratch with the published recipes (about two minutes on two cores), then the
# training curves of the two book models as SVG.
set -eu
CN=${1:-build/convnet}
out=${DEMO_DIR:-runs/mnist1d-conv-vs-fc}
"$CN" version
"$CN" experiment mnist1d-conv-vs-fc --out "$out"
for run in udl-conv udl-fc; do
  "$CN" plot "$out/$run" --out "$out/$run/curves.svg" --title "MNIST-1D $run (book recipe)"
done
echo "curves: $out/udl-conv/curves.svg, $out/udl-fc/curves.svg; report: convnet report $out/udl-conv --out report.html"
