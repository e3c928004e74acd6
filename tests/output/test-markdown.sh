#!/bin/bash
# ocr2_markdown_from_raw against the official conversion re-run in Python
# (markdown_ref.py wrote md/NAME.md and md/NAME.p3.md from md/NAME.raw).
set -u
fail=0
for raw in "$OUTPUT_TESTS"/md/*.raw; do
	stem=${raw%.raw}
	if ! "$MD_TOOL" markdown "$raw" | cmp -s - "$stem.md"; then
		echo "FAIL: $(basename "$raw") (default links) differs from $(basename "$stem").md"
		diff <("$MD_TOOL" markdown "$raw") "$stem.md" | head -20
		fail=1
	fi
	if ! "$MD_TOOL" markdown "$raw" 3 'img/p%p-%n.png' | cmp -s - "$stem.p3.md"; then
		echo "FAIL: $(basename "$raw") (template links) differs from $(basename "$stem").p3.md"
		fail=1
	fi
done
n=$(ls "$OUTPUT_TESTS"/md/*.raw | wc -l)
[ "$n" -ge 10 ] || { echo "FAIL: only $n corpus files"; fail=1; }
exit $fail
