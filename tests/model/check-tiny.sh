#!/bin/bash
# `ocr2 model check` passes on every tiny model testdata/make-tiny.py wrote,
# and `model info` agrees with the tensor count check reports.
set -uo pipefail
models="$TESTDATA/models"
found=0
for dir in "$models"/tiny*/; do
	[ -f "$dir/config.json" ] || continue
	found=1
	out=$("$OCR2" model check -m "$dir") || { echo "FAIL: model check $dir"; exit 1; }
	n=$(echo "$out" | sed -n 's/^ok: \([0-9]*\) tensors$/\1/p')
	[ -n "$n" ] || { echo "FAIL: $dir: unexpected output: $out"; exit 1; }
	"$OCR2" model info -m "$dir" | grep -qx "tensors: $n" ||
		{ echo "FAIL: $dir: model info does not say $n tensors"; exit 1; }
	echo "$dir: $out"
done
if [ "$found" = 0 ]; then
	echo "no tiny models in $models: run /usr/bin/python3 testdata/make-tiny.py --out testdata/models"
	exit 1
fi
