#!/bin/bash
# OCR2_MATMUL (man ocr2): a value ocr2 does not honour gets a one-line notice
# naming it, and the page is still read (in f32); -v names the mode that runs.
set -uo pipefail
: "${OCR2:?}" "${TESTDATA:?}"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
run() {
	"$OCR2" scan "$@" -m "$TESTDATA/models/tiny" --max-tokens 2 -f raw -t 2 \
		"$TESTDATA/images/crc-p1-60dpi.png" >"$d/out" 2>"$d/err"
	rc=$?
	[ $rc -le 1 ] || { echo "FAIL: exit $rc: $(cat "$d/err")"; exit 1; }
	[ -s "$d/out" ] || { echo "FAIL: no output"; exit 1; }
}
OCR2_MATMUL=fast run
grep -q 'notice: OCR2_MATMUL=fast ignored: the values are f32 and bf16' "$d/err" ||
	{ echo "FAIL: no notice for an unknown value: $(cat "$d/err")"; exit 1; }
OCR2_MATMUL=fast run -q
grep -q 'OCR2_MATMUL' "$d/err" && { echo "FAIL: -q still prints the notice"; exit 1; }
OCR2_MATMUL=f32 run -v
grep -q 'encoder matrix products in f32' "$d/err" || { echo "FAIL: -v does not name f32"; exit 1; }
OCR2_MATMUL=bf16 run -v
grep -qE 'encoder matrix products in bf16|OCR2_MATMUL=bf16 ignored: this CPU has no avx512_bf16' \
	"$d/err" || { echo "FAIL: bf16 neither used nor refused: $(cat "$d/err")"; exit 1; }
echo "ok"
