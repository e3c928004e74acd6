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
pdfseparate -f 1 -l 2 "$pdf" "$T/one-%d.pdf" && pdfunite "$T/one-1.pdf" "$T/one-2.pdf" "$T/two.pdf" 2>/dev/null
i=0
for n in $(seq 1 150); do # 150 PNG pages spread over three folders
	src=$(ls "$T"/pg-*.png | sed -n "$(((n % 6) + 1))p")
	case $((n % 3)) in 0) d=$IN ;; 1) d=$IN/a/b ;; 2) d=$IN/c ;; esac
	cp "$src" "$d/page-$n.png"
	i=$((i + 1))
done
for n in $(seq 1 40); do cp "$T/two.pdf" "$IN/a/doc-$n.pdf"; i=$((i + 1)); done
bad=()
for n in 1 2 3 4 5; do head -c 300 "$(ls "$T"/pg-*.png | head -1)" >"$IN/c/truncated-$n.png"; bad+=("truncated-$n.png"); done
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

# (--batch 1 where pages are counted against an interrupt or a full disk:
# a batch computes up to its size ahead of what is written)
# ---- 1: SIGINT in the middle ---------------------------------------------------
OCR2_STAND_IN_DELAY_MS=30 "$OCR2" scan -q --batch 1 -R -o "$OUT" "$IN" 2>"$T/err1" &
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
OCR2_STAND_IN_DELAY_MS=30 "$OCR2" scan -q --batch 1 -R -o "$OUT" "$IN" 2>"$T/err2" &
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
# The batch stops at the first write that finds the disk full: one line that
# says a re-run resumes, no more pages computed, nothing partial left, and what
# was finished (outputs, journaled pages) kept.
FULL=$T/full
mkdir -p "$FULL"
full_skipped=
if mount -t tmpfs -o size=64k tmpfs "$FULL" 2>/dev/null; then
	rm -f "$T/log3"
	OCR2_STAND_IN_DELAY_MS=0 OCR2_STAND_IN_LOG=$T/log3 "$OCR2" scan -q --batch 1 -R -o "$FULL" "$IN" 2>"$T/err3"
	rc=$?
	[ $rc -eq 1 ] || fail "full disk: exit $rc, expected 1"
	[ "$(grep -c 'No space left on device; stopping: finished outputs and journaled pages are kept, a re-run resumes' "$T/err3")" = 1 ] ||
		fail "full disk: not one line saying a re-run resumes: $(grep -i space "$T/err3" | head -3)"
	[ -z "$(find "$FULL" -name '.*.tmp.*')" ] || fail "full disk left partial files"
	nfull=$(find "$FULL" -name '*.md' | wc -l)
	njournal=$(cat $(find "$FULL" -name '.*.ocr2-journal') /dev/null | grep -ac '^page ')
	ncalls=$(grep -c . "$T/log3")
	# the pages computed: those kept, plus the one whose write found the disk full
	[ "$ncalls" -le $((nfull + njournal + 1)) ] ||
		fail "full disk: $ncalls pages computed for $nfull outputs and $njournal journaled pages"
	[ "$ncalls" -lt 100 ] || fail "full disk: the batch went on ($ncalls pages computed)"
	for f in $(find "$FULL" -name '*.md'); do
		tail -c 21 "$f" | grep -q "The end of the page." || fail "full disk: partial output $f"
	done
	# a full disk behind standard output: one line, exit 1
	dd if=/dev/zero of="$FULL/filler" bs=4k count=64 2>/dev/null
	"$OCR2" scan -q "$IN/c/page-2.png" >"$FULL/stdout.md" 2>"$T/err3b"
	rc=$?
	[ $rc -eq 1 ] || fail "stdout on a full disk: exit $rc, expected 1"
	grep -q '^ocr2 scan: standard output: write error: No space left on device$' "$T/err3b" ||
		fail "stdout on a full disk: $(cat "$T/err3b")"
	umount "$FULL"
elif [ "$(id -u)" = 0 ]; then
	fail "cannot mount a tmpfs as root"
else
	full_skipped="not root: no tmpfs for the full-disk case"
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

# ---- 5: a multi-page PDF interrupted in the middle (SIGINT, then SIGKILL) ------------------
# Each re-run computes only the pages not finished yet (the stand-in logs the
# pages it is asked for) and the result is byte-identical to an uninterrupted run.
pdfseparate -f 1 -l 8 "$pdf" "$T/eight-%d.pdf" 2>/dev/null &&
	pdfunite "$T"/eight-{1,2,3,4,5,6,7,8}.pdf "$T/eight.pdf" 2>/dev/null || fail "pdfunite"
printf '# Page {image}\n\nThe end of the page.' >"$T/pages.txt"
export OCR2_STAND_IN=$T/pages.txt
mkdir -p "$T/multi"
OCR2_STAND_IN_LOG=$T/ref.log "$OCR2" scan -q -r 20 "$T/eight.pdf" -o "$T/multi/ref.md" || fail "reference run"
ncalls() { [ -f "$1" ] && grep -c . "$1" || echo 0; }
for sig in INT KILL; do
	OCR2_STAND_IN_DELAY_MS=300 OCR2_STAND_IN_LOG=$T/m-$sig.log "$OCR2" scan -q --batch 1 -r 20 \
		"$T/eight.pdf" -o "$T/multi/doc.md" 2>/dev/null &
	pid=$!
	for _ in $(seq 200); do [ "$(ncalls "$T/m-$sig.log")" -ge 3 ] && break; sleep 0.05; done
	sleep 0.1
	kill -$sig $pid
	wait $pid 2>/dev/null
	[ -e "$T/multi/doc.md" ] && fail "SIG$sig: an output for an unfinished document"
done
OCR2_STAND_IN_LOG=$T/m-rerun.log "$OCR2" scan -q -r 20 "$T/eight.pdf" -o "$T/multi/doc.md" ||
	fail "re-run of the multi-page PDF"
cmp -s "$T/multi/ref.md" "$T/multi/doc.md" || fail "multi-page PDF: the re-run is not byte-identical"
# finished by the interrupted runs: every page each was asked for but its last
# (in flight at the signal); the re-run computes exactly the others
for sig in INT KILL; do sed '$d' "$T/m-$sig.log"; done | sort >"$T/finished"
[ "$(wc -l <"$T/finished")" -ge 4 ] || fail "the interrupted runs finished only $(wc -l <"$T/finished") pages"
comm -23 <(sort "$T/ref.log") "$T/finished" >"$T/missing"
cmp -s <(sort "$T/m-rerun.log") "$T/missing" ||
	fail "the re-run computed $(wc -l <"$T/m-rerun.log") pages, not exactly the $(wc -l <"$T/missing") missing ones"
[ -e "$T/multi/.doc.md.ocr2-journal" ] && fail "multi-page: the journal stayed"

if [ $fails -eq 0 ] && [ -n "$full_skipped" ]; then
	echo "SKIP: $full_skipped (the rest passed)"
	exit 77
fi
[ $fails -eq 0 ] && echo "batch faults: ok ($total files, $good outputs)"
exit $((fails > 0))
