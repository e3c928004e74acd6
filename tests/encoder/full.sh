#!/bin/bash
# Full-size encoder check (suite slow, not in CI): the C encoder on a full-size
# random checkpoint against tests/encoder/full-encoder-ref.py's float32 output.
#   OCR2_FULL_MODEL=DIR   testdata/make-tiny.py --full --out X  ->  X/full
#   OCR2_FULL_GOLDEN=DIR  holding full-bzip2-p1-72dpi.safetensors and
#                         full-crc-p1-60dpi.safetensors (full-encoder-ref.py)
# Skips (77) when either is unset.
set -u
exe=$1
if [ -z "${OCR2_FULL_MODEL:-}" ] || [ -z "${OCR2_FULL_GOLDEN:-}" ]; then
	echo "OCR2_FULL_MODEL / OCR2_FULL_GOLDEN not set: skipped"
	exit 77
fi
rc=0
for img in bzip2-p1-72dpi crc-p1-60dpi; do
	"$exe" "$OCR2_FULL_MODEL" "$OCR2_FULL_GOLDEN/full-$img.safetensors" "images/$img.png" || rc=1
done
exit $rc
