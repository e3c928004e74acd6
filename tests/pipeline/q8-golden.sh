#!/bin/bash
# Issue 5.3: the q8 copy of tiny-f32 (ocr2 model quantize) still gives the
# float32 reference's greedy ids on a real page. Only the decoder's matrices
# are quantized, so the image embeddings keep the f32 tolerance.
#   q8-golden.sh GOLDEN IMAGE
set -uo pipefail
: "${OCR2:?}" "${TESTDATA:?}"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$OCR2" model quantize -q -m "$TESTDATA/models/tiny-f32" -o "$d/q8" || { echo "FAIL: quantize"; exit 1; }
exec "$(dirname "$0")/scan-golden.sh" "$d/q8" "$1" "$2" 1e-4
