#!/bin/bash
# Bad inputs through ocr2 scan (the documents of testdata/docs): each gets
# exactly one stderr line naming the file, no output file, and the batch goes
# on (the good file is written, exit 1, no temporary files left).
. "$CMD_TESTS/lib.sh"
need_stand_in
stand_in "$CANNED/doc.raw"
D="$TESTDATA/docs"
[ -f "$D/pdf-encrypted.pdf" ] || { echo "SKIP: testdata/docs fixtures missing"; exit 77; }

mkdir -p "$T/in"
bad="pdf-encrypted.pdf pdf-truncated.pdf pdf-zero-pages.pdf png-bomb.png
png-corrupt.png png-truncated.png jpeg-bomb.jpg jpeg-truncated.jpg jpeg-corrupt.jpg
tiff-bomb.tif tiff-truncated.tif tiff-short-strip.tif image.gif empty.png text-named.pdf"
for f in $bad; do cp "$D/$f" "$T/in/"; done
cp "$FIX/small.png" "$T/in/good.png"
: >"$T/in/zero-bytes.pdf"
n_bad=$(($(echo $bad | wc -w) + 1))

expect_rc 1 "bad inputs among a good one" -- "$OCR2" scan -q -o "$T/res" "$T"/in/*
[ "$(find "$T/res" -type f -not -name '.*' | sed "s|$T/res/||" | tr '\n' ' ')" = "good.md " ] ||
	fail "outputs: $(find "$T/res" -type f | tr '\n' ' ') (only good.md wanted)"
[ "$(wc -l <"$T/err")" = "$n_bad" ] || fail "$(wc -l <"$T/err") stderr lines for $n_bad bad files"
for f in $bad zero-bytes.pdf; do
	[ "$(grep -c "/in/$f: " "$T/err")" = 1 ] || fail "$f: not named on exactly one line"
done
grep -q 'ocr2 scan: .*encrypted' "$T/err" || fail "encrypted PDF: reason not given"
grep -q 'pdf-zero-pages.pdf: .*no pages' "$T/err" || fail "zero-page PDF: reason not given"
grep -q 'png-bomb.png: .*pixels' "$T/err" || fail "PNG bomb: reason not given"
grep -q 'image.gif: .*not a PDF, TIFF, PNG or JPEG' "$T/err" || fail "GIF: reason not given"
# a page's error names the file and the page once
grep -q 'tiff-short-strip.tif: page 1: corrupt TIFF data' "$T/err" || fail "page error: $(grep short-strip "$T/err")"
grep -E 'page ([0-9]+): page \1:' "$T/err" && fail "a page named twice in one message"

# on stdout as JSON Lines, a page that could not be rendered keeps its place
expect_rc 1 "bad page in jsonl" -- "$OCR2" scan -q -f jsonl "$T/in/good.png" "$T/in/png-corrupt.png"
python3 - "$T/out" <<'X' || fail "jsonl: failed page not reported in its place"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l['status'] for l in lines] == ['ok', 'error'], lines
assert lines[1]['message'] and lines[1]['blocks'] == [] and lines[1]['markdown'] is None
X
# a directory given twice over the same files, and an unreadable directory
expect_rc 1 "missing directory entry" -- "$OCR2" scan -q -R -o "$T/res2" "$T/in" "$T/no-such-dir"
grep -q 'no-such-dir' "$T/err" || fail "missing input not named"
finish
