#!/usr/bin/env bash
# test_viz.sh CONVNET [BUILD_DIR] — the "seeing inside" commands driven as a user would: filter
# (every named kernel, exactness through PNG, pooling, padding, kernel files, bad arguments),
# explain (the lecture's 1D example, 2D, a model's receptive fields), visualize (filters,
# activations, saliency on a small network trained on Fashion-MNIST: tests/fixtures/viz/run),
# plot (SVG and PNG), report (HTML opened in headless Chromium: no console errors, a
# screenshot saved as BUILD_DIR/viz_report.png; skipped with a message without chromium).
# Prints "N passed, M failed" and exits non-zero on any failure.
set -u
CN=${1:?usage: test_viz.sh path/to/convnet [build dir]}
OUTDIR=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
RUN="$HERE/../fixtures/viz/run"
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
check() { # NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; pass=$((pass+1)); else echo "FAIL $name"; fail=$((fail+1)); fi
}
json_ok() { # NAME -- CMD... : stdout must be exactly one JSON object
  local name=$1; shift 2
  local out
  out=$("$@" 2>/dev/null)
  if [ ! -x /usr/bin/python3 ]; then echo "skip $name: no /usr/bin/python3 to parse JSON"; return; fi
  if /usr/bin/python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); assert isinstance(o, dict)' <<<"$out" 2>/dev/null; then
    echo "ok   $name"; pass=$((pass+1))
  else
    echo "FAIL $name: stdout is not one JSON object:"; echo "$out" | head -5 | sed 's/^/    /'; fail=$((fail+1))
  fi
}
# dims FILE: "CxHxW" of an image, read back through the filter command (identity, raw .npy)
dims() { "$CN" filter "$1" "$T/dims.npy" --kernel identity --json 2>/dev/null | grep -Eo '"input_shape":\[[0-9,]+\]' | grep -Eo '[0-9]+,[0-9]+,[0-9]+' | tr , x; }

# ---- test images, written byte by byte: a 32x24 gray ramp (binary PGM) and a 20x16 colour PPM
{
  printf 'P5\n32 24\n255\n'
  for ((y = 0; y < 24; y++)); do for ((x = 0; x < 32; x++)); do printf "\\$(printf %03o $(( (x * 7 + y * 3) % 256 )))"; done; done
} > "$T/ramp.pgm"
{
  printf 'P6\n20 16\n255\n'
  for ((y = 0; y < 16; y++)); do for ((x = 0; x < 20; x++)); do
    printf "\\$(printf %03o $((x * 12)))\\$(printf %03o $((y * 15)))\\$(printf %03o $(( x > 8 && x < 14 ? 250 : 20 )))"
  done; done
} > "$T/colour.ppm"
printf 'not an image at all\n' > "$T/notes.txt"

# ---- filter
expect filter-list        0 'sobel_x .*vertical edges'            -- "$CN" filter --list
for k in identity edge1 laplacian edge2 edge3 sharpen box_blur gaussian_blur sobel_x sobel_y angle angle2; do
  expect "filter-$k"      0 "kernel [a-z_0-9]+ \(3x3\)"                         -- "$CN" filter "$T/ramp.pgm" "$T/$k.png" --kernel "$k" --normalize
  check  "filter-$k-valid-png" test "$(dims "$T/$k.png")" = "1x24x32"
done
json_ok filter-json       -- "$CN" filter "$T/ramp.pgm" "$T/j.png" --kernel sobel_x --json
# exactness: identity through an 8-bit PNG gives back the very same floats
"$CN" filter "$T/ramp.pgm" "$T/id.png" --kernel identity >/dev/null 2>&1
"$CN" filter "$T/ramp.pgm" "$T/a.npy" --kernel identity >/dev/null 2>&1
"$CN" filter "$T/id.png" "$T/b.npy" --kernel identity >/dev/null 2>&1
expect filter-identity-exact 0 ''                                 -- cmp "$T/a.npy" "$T/b.npy"
expect filter-max-pool    0 '"output_shape":\[1,12,16\]'          -- "$CN" filter "$T/ramp.pgm" "$T/p.png" --kernel angle --max-pool 2 --json
expect filter-valid       0 '"output_shape":\[1,22,30\]'          -- "$CN" filter "$T/ramp.pgm" "$T/v.png" --kernel edge3 --padding valid --json
expect filter-colour      0 '"output_shape":\[3,16,20\]'          -- "$CN" filter "$T/colour.ppm" "$T/c.png" --kernel sobel_x --abs --normalize --json
check  filter-colour-png  test "$(dims "$T/c.png")" = "3x16x20"
expect filter-gray        0 '"output_shape":\[1,16,20\]'          -- "$CN" filter "$T/colour.ppm" "$T/g.jpg" --kernel sharpen --gray --json
printf '# a Gaussian\nscale 1/16\n1 2 1\n2 4 2\n1 2 1\n' > "$T/k.txt"
"$CN" filter "$T/ramp.pgm" "$T/g1.npy" --kernel gaussian_blur >/dev/null 2>&1
"$CN" filter "$T/ramp.pgm" "$T/g2.npy" --kernel-file "$T/k.txt" >/dev/null 2>&1
expect filter-kernel-file 0 ''                                    -- cmp "$T/g1.npy" "$T/g2.npy"
printf '1 2 3\n4 5\n' > "$T/ragged.txt"
expect filter-ragged      1 'ragged.txt:2: row has 2 entries, the first row has 3' -- "$CN" filter "$T/ramp.pgm" "$T/r.png" --kernel-file "$T/ragged.txt"
expect filter-unknown     1 "unknown kernel 'sobelx' — did you mean 'sobel_x'"  -- "$CN" filter "$T/ramp.pgm" "$T/u.png" --kernel sobelx
expect filter-not-image   1 'notes.txt.*not (a recognised image|an image)'             -- "$CN" filter "$T/notes.txt" "$T/n.png" --kernel identity
expect filter-missing     1 'nope.png'                            -- "$CN" filter "$T/nope.png" "$T/n.png" --kernel identity
expect filter-both        2 'exactly one of --kernel'             -- "$CN" filter "$T/ramp.pgm" "$T/n.png" --kernel identity --kernel-file "$T/k.txt"
expect filter-neither     2 'exactly one of --kernel'             -- "$CN" filter "$T/ramp.pgm" "$T/n.png"
expect filter-padding     2 "--padding 'full': expected same or valid" -- "$CN" filter "$T/ramp.pgm" "$T/n.png" --kernel identity --padding full
expect filter-one-file    2 'expected an input image and an output file' -- "$CN" filter "$T/ramp.pgm" --kernel identity
expect filter-gif         1 "cannot write images of type '.gif'"  -- "$CN" filter "$T/ramp.pgm" "$T/n.gif" --kernel identity
expect filter-no-partial  1 ''                                    -- test -e "$T/n.png" -o -e "$T/n.gif" -o -e "$T/u.png" -o -e "$T/r.png"

# ---- explain
expect explain-lecture    0 'output size +4 = floor'              -- "$CN" explain conv --input 8 --kernel 3 --stride 2 --dilation 1 --padding 1
expect explain-matrix     0 'y1 +\. +\. +a +b +c +\. +\. +\. +\. +\.' -- "$CN" explain conv --input 8 --kernel 3 --stride 2 --dilation 1 --padding 1
expect explain-params     0 'parameters +4 = '                    -- "$CN" explain conv --input 8 --kernel 3 --stride 2 --padding 1
expect explain-mults      0 'multiplies +12 = '                   -- "$CN" explain conv --input 8 --kernel 3 --stride 2 --padding 1
expect explain-dilated-rf 0 'receptive field +5 inputs'           -- "$CN" explain conv --input 9 --kernel 3 --dilation 2
expect explain-json       0 '"matrix":\[\[0,1,2,-1,-1,-1,-1,-1,-1,-1\],\[-1,-1,0,1,2' -- "$CN" explain conv --input 8 --kernel 3 --stride 2 --padding 1 --json
json_ok explain-json-one  -- "$CN" explain conv --input 8 --kernel 3 --json
expect explain-2d         0 'output size \(W\) +5 = '             -- "$CN" explain conv --dims 2 --input 7x9 --kernel 3 --stride 2 --dilation 2 --padding same
expect explain-too-big    1 'kernel'                              -- "$CN" explain conv --input 4 --kernel 9
expect explain-bad-dims   2 '--dims 3: expected 1 or 2'           -- "$CN" explain conv --dims 3
expect explain-bad-axes   2 "--kernel '3x3x3': 3 values for 2"    -- "$CN" explain conv --dims 2 --kernel 3x3x3
expect explain-model      0 'p2 +max_pool +1x16x5x5 +16x16 +4x4'  -- "$CN" explain "$RUN/model.cfg"
expect explain-weights    0 "'p2' \(the deepest spatial map\) sees 16x16 of the input's 28x28" -- "$CN" explain "$RUN/weights.safetensors"
json_ok explain-model-json -- "$CN" explain "$RUN/model.cfg" --json
expect explain-no-model   1 'nope.cfg'                            -- "$CN" explain "$T/nope.cfg"

# ---- visualize (a network trained on Fashion-MNIST by tests/fixtures/gen_viz.py)
W="$RUN/weights.safetensors"
printf 'P5\n28 28\n255\n' > "$T/shirt.pgm"
for ((i = 0; i < 784; i++)); do y=$((i / 28)) x=$((i % 28)); v=$(( (x > 6 && x < 21 && y > 3 && y < 25) ? 200 : 0 )); printf "\\$(printf %03o $v)"; done >> "$T/shirt.pgm"
expect vis-filters        0 'wrote .*f1.png \(158 x 158\)'        -- "$CN" visualize filters "$W" --layer c1 --out "$T/f1.png"
check  vis-filters-png    test "$(dims "$T/f1.png")" = "3x158x158"
expect vis-filters-cfg    0 'wrote'                               -- "$CN" visualize filters "$RUN/model.cfg" --weights "$W" --layer c2 --out "$T/f2.png"
check  vis-filters2-png   test "$(dims "$T/f2.png")" = "3x834x418"
expect vis-act            0 'layer c1: output 1x8x28x28'          -- "$CN" visualize activations "$W" --layer c1 --input "$T/shirt.pgm" --out "$T/a.png"
check  vis-act-png        test "$(dims "$T/a.png")" = "3x176x176"
expect vis-act-colour-in  0 'layer r2: output 1x16x10x10'         -- "$CN" visualize activations "$W" --layer r2 --input "$T/colour.ppm" --out "$T/a2.png" --cmap gray
expect vis-saliency       0 'predicted class [0-9] \(p = '        -- "$CN" visualize saliency "$W" --input "$T/shirt.pgm" --out "$T/s.png"
check  vis-saliency-png   test "$(dims "$T/s.png")" = "3x232x912"
json_ok vis-saliency-json -- "$CN" visualize saliency "$W" --input "$T/shirt.pgm" --out "$T/s2.png" --class 3 --json
expect vis-no-layer       1 "no layer named 'c9' — did you mean 'c1'"  -- "$CN" visualize filters "$W" --layer c9 --out "$T/x.png"
expect vis-no-weights-layer 1 "layer 'p1' \(max_pool\) has no 'p1.weight'" -- "$CN" visualize filters "$W" --layer p1 --out "$T/x.png"
expect vis-act-no-layer   1 "no layer named 'conv1'"              -- "$CN" visualize activations "$W" --layer conv1 --input "$T/shirt.pgm" --out "$T/x.png"
expect vis-not-image      1 'notes.txt.*not (a recognised image|an image)'             -- "$CN" visualize activations "$W" --layer c1 --input "$T/notes.txt" --out "$T/x.png"
expect vis-cfg-no-weights 1 'holds no weights'                    -- "$CN" visualize filters "$RUN/model.cfg" --layer c1 --out "$T/x.png"
expect vis-bad-mode       2 "'weights': expected filters, activations or saliency" -- "$CN" visualize weights "$W" --out "$T/x.png"
expect vis-no-out         2 '--out FILE is required'              -- "$CN" visualize filters "$W" --layer c1
expect vis-no-input       2 'give one of --input FILE and --data SPEC' -- "$CN" visualize saliency "$W" --out "$T/x.png"
expect vis-bad-class      1 '--class 12: the model has classes 0..9' -- "$CN" visualize saliency "$W" --input "$T/shirt.pgm" --out "$T/x.png" --class 12
expect vis-bad-cmap       2 "unknown colour map 'jet'"            -- "$CN" visualize activations "$W" --layer c1 --input "$T/shirt.pgm" --out "$T/x.png" --cmap jet
expect vis-no-partial     1 ''                                    -- test -e "$T/x.png"
if [ -d /usr/share/datasets/fashion-mnist ]; then
  expect vis-data         0 'predicted class 9 .*right.*label 9'  -- "$CN" visualize saliency "$W" --data fashion-mnist --index 0 --out "$T/d.png"
else
  echo "skip vis-data: Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)"
fi

# ---- a 1D network trained here on MNIST-1D (generated in C), when this convnet can train
MODELS="$HERE/../../models"
if "$CN" train --help >/dev/null 2>&1 && [ -f "$MODELS/mnist1d-conv.cfg" ]; then
  "$CN" train "$MODELS/mnist1d-conv.cfg" --data mnist1d --epochs 1 --steps 30 --batch 64 --lr 0.05 --out "$T/m1d" >/dev/null 2>&1
  M1="$T/m1d/weights.safetensors"
  expect m1d-filters      0 'wrote'                               -- "$CN" visualize filters "$M1" --layer conv1 --out "$T/m1f.png"
  expect m1d-activations  0 'layer conv2: output 1x15x'           -- "$CN" visualize activations "$M1" --layer conv2 --data mnist1d --index 5 --out "$T/m1a.png"
  expect m1d-saliency     0 'predicted class [0-9]'               -- "$CN" visualize saliency "$M1" --data mnist1d --index 5 --out "$T/m1s.png"
  check  m1d-saliency-png test "$(dims "$T/m1s.png")" = "3x220x600"
  expect m1d-explain      0 "sees 15 of the input's 40"           -- "$CN" explain "$M1"
  expect m1d-report       0 'wrote'                               -- "$CN" report "$T/m1d" --out "$T/m1d.html"
  check  m1d-report-signals test "$(grep -c '<polyline fill="none" stroke="#1f77b4" stroke-width="1.5"' "$T/m1d.html")" -ge 16
else
  echo "skip m1d: this convnet has no 'train' command (or models/mnist1d-conv.cfg is missing)"
fi

# ---- plot
expect plot-svg           0 'wrote .*curves.svg \(6 epochs'       -- "$CN" plot "$RUN" --out "$T/curves.svg"
check  plot-svg-head      grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' "$T/curves.svg"
check  plot-svg-curves    test "$(grep -c '<polyline' "$T/curves.svg")" -ge 4
if [ -x /usr/bin/python3 ]; then
  check plot-svg-xml      /usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$T/curves.svg"
fi
expect plot-png           0 'wrote'                               -- "$CN" plot "$RUN/log.jsonl" --out "$T/curves.png" --width 800 --height 300
check  plot-png-size      test "$(dims "$T/curves.png")" = "3x300x800"
json_ok plot-json         -- "$CN" plot "$RUN" --out "$T/c2.svg" --json
printf '{"epoch": 1, "train_loss": 1}\n{"epoch": 2, "train_loss": \n' > "$T/bad.jsonl"
expect plot-bad-log       1 'bad.jsonl:2: not a JSON object'      -- "$CN" plot "$T/bad.jsonl" --out "$T/b.svg"
expect plot-no-log        1 'log.jsonl'                           -- "$CN" plot "$T" --out "$T/b.svg"
expect plot-no-out        2 '--out FILE is required'              -- "$CN" plot "$RUN"
expect plot-bad-size      1 'size 10 x 300'                       -- "$CN" plot "$RUN" --out "$T/b.png" --width 10 --height 300

# ---- report
# --data '': no example predictions (metrics.json names fashion-mnist, which would be opened)
expect report             0 'wrote .*report.html'                 -- "$CN" report "$RUN" --out "$T/report.html" --data ''
check  report-no-examples grep -q 'No dataset given' "$T/report.html"
check  report-sections    grep -q 'id="confusion"' "$T/report.html"
check  report-no-script   bash -c '! grep -q "<script" "$1"' _ "$T/report.html"
check  report-only-data-uris bash -c '! grep -Eo "src=\"[^\"]{0,12}" "$1" | grep -v "src=\"data:"' _ "$T/report.html"
json_ok report-json       -- "$CN" report "$RUN" --out "$T/r2.html" --json --data ''
mkdir -p "$T/empty"
expect report-empty       1 'not a run directory'                 -- "$CN" report "$T/empty" --out "$T/e.html"
expect report-not-dir     1 'not a directory'                     -- "$CN" report "$RUN/log.jsonl" --out "$T/e.html"
expect report-no-out      2 '--out FILE is required'              -- "$CN" report "$RUN"
if [ -d /usr/share/datasets/fashion-mnist ]; then
  expect report-data      0 'wrote'                               -- "$CN" report "$RUN" --out "$T/report.html" --data fashion-mnist --examples 12
  check  report-examples  test "$(grep -o 'class="ex ' "$T/report.html" | wc -l)" -eq 12
  check  report-class-names grep -q 'Ankle boot' "$T/report.html"
else
  echo "skip report-data: Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)"
fi

# ---- the report in a real browser: it loads without console messages, and looks like something
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
  echo "skip browser: no chromium (apt-get install chromium) — the report was not rendered"
else
  shot=${OUTDIR:-$T}/viz_report.png
  render() { # HTML PNG -> the browser's log on stdout
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
      --user-data-dir="$T/chrome" --enable-logging=stderr --v=0 --window-size=1100,3000 \
      --screenshot="$2" "file://$1" 2>&1
  }
  # the detector must see a console error when there is one
  printf '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>x<script>console.error("planted")</script></body></html>' > "$T/bad.html"
  check browser-detects-errors bash -c 'grep -q "CONSOLE.*planted" <<<"$1"' _ "$(render "$T/bad.html" "$T/bad.png")"
  log=$(render "$T/report.html" "$shot")
  if grep -q CONSOLE <<<"$log"; then
    echo "FAIL browser-console: the report logged to the console:"; grep CONSOLE <<<"$log" | head -5 | sed 's/^/    /'; fail=$((fail+1))
  else
    echo "ok   browser-console"; pass=$((pass+1))
  fi
  check browser-screenshot test "$(dims "$shot")" = "3x3000x1100"
  echo "     screenshot: $shot"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
