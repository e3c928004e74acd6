#!/bin/bash
# Issue 6.4: a folder of >= 200 documents with corrupt, empty, encrypted and
# unreadable files mixed in; SIGINT and SIGKILL in the middle of a batch; a
# full disk for the output; then re-runs. Asserts: no finished output is lost
# or rewritten, no partial file is left once a run completes, every failure is
# reported with its file, and the last re-run completes exactly the rest.
# Uses the stand-in model (meson -Dstand_in=true), so it tests the batch
# machinery, not the model.
set -uo pipefail
: "${OCR2:?}" "${TESTCACHE:?}"
T=$(mktemp -d)
cleanup() { mountpoint -q "$T/full" 2>/dev/null && umount "$T/full"; rm -rf "$T"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- the corpus ------------------------------------------------------------
IN=$T/in
mkdir -p "$IN/a/b" "$IN/c"
pdf=$TESTCACHE/bzip2-manual.pdf
[ -f "$pdf" ] || { echo "FAIL: $pdf missing (run testdata/fetch.sh)"; exit 1; }
pdftocairo -png -r 12 -f 1 -l 6 "$pdf" "$T/pg" || { echo "FAIL: pdftocairo"; exit 1; }
pdfseparate -f 1 -l 2 "$pdf" "$T/one-%d.pdf" && pdfunite "$T/one-1.pdf" "$T/one-2.pdf" "$T/two.pdf"
i=0
for n in $(seq 1 150); do # 150 PNG pages spread over three folders
	src=$(ls "$T"/pg-*.png | sed -n "$(((n % 6) + 1))p")
	case $((n % 3)) in 0) d=$IN ;; 1) d=$IN/a/b ;; 2) d=$IN/c ;; esac
	cp "$src" "$d/page-$n.png"
	i=$((i + 1))
done
for n in $(seq 1 40); do cp "$T/two.pdf" "$IN/a/doc-$n.pdf"; i=$((i + 1)); done
bad=()
for n in 1 2 3 4 5; do head -c 300 "$T/pg-1.png" >"$IN/c/truncated-$n.png"; bad+=("truncated-$n.png"); done
for n in 1 2 3; do head -c 2000 /dev/urandom >"$IN/garbage-$n.pdf"; bad+=("garbage-$n.pdf"); done
for n in 1 2 3; do : >"$IN/a/empty-$n.png"; bad+=("empty-$n.png"); done
if [ -f "$TESTDATA/docs/pdf-encrypted.pdf" ]; then
	for n in 1 2; do cp "$TESTDATA/docs/pdf-encrypted.pdf" "$IN/c/encrypted-$n.pdf"; bad+=("encrypted-$n.pdf"); done
fi
ln -s "$T/nowhere.png" "$IN/dangling.png" # unreadable, even for root
bad+=("dangling.png")
total=$(find "$IN" \( -type f -o -type l \) | wc -l)
[ "$total" -ge 200 ] || fail "corpus has only $total files"
good=190

canned=$T/canned.txt
printf '<|ref|>title<|/ref|><|det|>[[10, 10, 500, 40]]<|/det|>\n# A page\n\n<|ref|>text<|/ref|><|det|>[[10, 50, 900, 900]]<|/det|>\nThe end of the page.' >"$canned"
export OCR2_STAND_IN=$canned
OUT=$T/out

outputs() { find "$OUT" -name '*.md' -type f 2>/dev/null | sort; }
partials() { find "$OUT" -name '.*.tmp.*' 2>/dev/null; }
snapshot() { find "$OUT" -name '*.md' -type f -exec sha256sum {} + 2>/dev/null | sort -k2; }
complete_ok() { # every output is a whole document: ends with the last line
	local f
	for f in $(outputs); do
		tail -c 21 "$f" | grep -q "The end of the page." || fail "incomplete output $f"
	done
}

# ---- 1: SIGINT in the middle ---------------------------------------------------
OCR2_STAND_IN_DELAY_MS=30 "$OCR2" scan -q -R -o "$OUT" "$IN" 2>"$T/err1" &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "SIGINT: exit $rc, expected 130"
[ -z "$(partials)" ] || fail "SIGINT left partial files: $(partials)"
n1=$(outputs | wc -l)
[ "$n1" -gt 0 ] && [ "$n1" -lt $good ] || fail "SIGINT run finished $n1 outputs (expected some, not all)"
complete_ok
snapshot >"$T/snap1"

# ---- 2: SIGKILL in the middle --------------------------------------------------
OCR2_STAND_IN_DELAY_MS=30 "$OCR2" scan -q -R -o "$OUT" "$IN" 2>"$T/err2" &
pid=$!
sleep 3
kill -KILL $pid
wait $pid 2>/dev/null
n2=$(outputs | wc -l)
[ "$n2" -gt "$n1" ] || fail "SIGKILL run added nothing ($n1 -> $n2)"
complete_ok # a killed run may leave .tmp files, never a partial file under a final name
# nothing finished before was rewritten
join -j 2 -o 1.1,2.1,0 "$T/snap1" <(snapshot) | awk '$1 != $2 {print "rewritten: " $3}' >"$T/rewritten"
[ -s "$T/rewritten" ] && fail "$(cat "$T/rewritten")"
snapshot >"$T/snap2"

# ---- 3: a full disk for the output ----------------------------------------------
FULL=$T/full
mkdir -p "$FULL"
if mount -t tmpfs -o size=64k tmpfs "$FULL" 2>/dev/null; then
	OCR2_STAND_IN_DELAY_MS=0 "$OCR2" scan -q -R -o "$FULL" "$IN" 2>"$T/err3"
	rc=$?
	[ $rc -eq 1 ] || fail "full disk: exit $rc, expected 1"
	grep -qi "no space" "$T/err3" || fail "full disk: no 'No space' message"
	[ -z "$(find "$FULL" -name '.*.tmp.*')" ] || fail "full disk left partial files"
	for f in $(find "$FULL" -name '*.md'); do
		tail -c 21 "$f" | grep -q "The end of the page." || fail "full disk: partial output $f"
	done
	umount "$FULL"
else
	echo "note: cannot mount a tmpfs here; full-disk case not run"
fi

# ---- 4: the re-run completes exactly the rest ----------------------------------------
"$OCR2" scan -R -o "$OUT" "$IN" 2>"$T/err4"
rc=$?
[ $rc -eq 1 ] || fail "re-run: exit $rc, expected 1 (bad files present)"
n4=$(outputs | wc -l)
[ "$n4" -eq $good ] || fail "re-run: $n4 outputs, expected $good"
[ -z "$(partials)" ] || fail "re-run left partial files: $(partials)"
complete_ok
join -j 2 -o 1.1,2.1,0 "$T/snap2" <(snapshot) | awk '$1 != $2 {print "rewritten: " $3}' >"$T/rewritten"
[ -s "$T/rewritten" ] && fail "re-run rewrote finished outputs: $(cat "$T/rewritten")"
for b in "${bad[@]}"; do
	grep -q "$b" "$T/err4" || fail "re-run did not report $b"
done
nerr=$(grep -c . "$T/err4")
[ "$nerr" -ge ${#bad[@]} ] || fail "re-run reported $nerr errors for ${#bad[@]} bad files"
# a third run has nothing left to do
"$OCR2" scan -R -o "$OUT" "$IN" 2>/dev/null
snapshot >"$T/snap5"
cmp -s <(snapshot) "$T/snap5" || fail "a run with nothing to do changed outputs"

[ $fails -eq 0 ] && echo "batch faults: ok ($total files, $good outputs)"
exit $((fails > 0))
