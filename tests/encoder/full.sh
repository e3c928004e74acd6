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
# crc-p1: the whole page (one view); bzip2-p1: its global view and first crop
# only, as the 7-view page takes minutes on 2 cores
"$exe" "$OCR2_FULL_MODEL" "$OCR2_FULL_GOLDEN/full-crc-p1-60dpi.safetensors" \
	images/crc-p1-60dpi.png || rc=1
ENC_TEST_VIEWS_ONLY=1 "$exe" "$OCR2_FULL_MODEL" \
	"$OCR2_FULL_GOLDEN/full-bzip2-p1-72dpi.safetensors" images/bzip2-p1-72dpi.png || rc=1
exit $rc
