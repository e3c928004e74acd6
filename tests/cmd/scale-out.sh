#!/bin/bash
# Issue 6.5: N parallel workers (GNU parallel) run `ocr2 scan --shard K/N` over
# one folder into one output folder; every document must be done exactly once
# (one output each, no worker touching another's slice), and a second round
# finds nothing left to do. Uses the stand-in model.
set -uo pipefail
: "${OCR2:?}" "${TESTCACHE:?}"
command -v parallel >/dev/null || { echo "FAIL: GNU parallel is not installed"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pdftocairo -png -r 10 -f 1 -l 8 "$TESTCACHE/bzip2-manual.pdf" "$T/pg" || { echo "FAIL: pdftocairo"; exit 1; }
mkdir -p "$T/in/x/y" "$T/in/z"
docs=0
for n in $(seq 1 97); do
	src=$(ls "$T"/pg-*.png | sed -n "$(((n % 8) + 1))p")
	case $((n % 3)) in 0) d=$T/in ;; 1) d=$T/in/x/y ;; 2) d=$T/in/z ;; esac
	cp "$src" "$d/doc-$n.png"
	docs=$((docs + 1))
done
printf '<|ref|>text<|/ref|><|det|>[[1, 1, 998, 998]]<|/det|>\nhello' >"$T/canned.txt"
export OCR2_STAND_IN=$T/canned.txt OCR2_STAND_IN_DELAY_MS=5
for N in 1 3 4 7; do
	out=$T/out-$N
	# each worker logs the inputs it wrote (-v prints one line per page)
	parallel --will-cite -j "$N" --halt never "$OCR2 scan -v -R -o $out --shard {}/$N $T/in 2>$T/log-$N-{}" \
		::: $(seq 1 "$N")
	rc=$?
	[ $rc -eq 0 ] || fail "N=$N: parallel exit $rc"
	got=$(find "$out" -name '*.md' | wc -l)
	[ "$got" -eq "$docs" ] || fail "N=$N: $got outputs for $docs documents"
	# every document is claimed by exactly one worker
	cat "$T"/log-"$N"-* | grep -o 'doc-[0-9]*\.png: page 1' | sort | uniq -c |
		awk '$1 != 1 {print}' >"$T/dup"
	[ -s "$T/dup" ] && fail "N=$N: documents processed more than once: $(head -3 "$T/dup")"
	claimed=$(cat "$T"/log-"$N"-* | grep -o 'doc-[0-9]*\.png: page 1' | sort -u | wc -l)
	[ "$claimed" -eq "$docs" ] || fail "N=$N: $claimed documents processed, expected $docs"
	# a second round does nothing
	before=$(find "$out" -name '*.md' -exec sha256sum {} + | sort)
	parallel --will-cite -j "$N" "$OCR2 scan -v -R -o $out --shard {}/$N $T/in 2>$T/again-$N-{}" ::: $(seq 1 "$N")
	again=$(cat "$T"/again-"$N"-* | grep -c 'page 1' || true)
	[ "$again" -eq 0 ] || fail "N=$N: second round processed $again pages"
	after=$(find "$out" -name '*.md' -exec sha256sum {} + | sort)
	[ "$before" = "$after" ] || fail "N=$N: second round changed outputs"
done
[ $fails -eq 0 ] && echo "scale-out: ok ($docs documents; N = 1, 3, 4, 7)"
exit $((fails > 0))
