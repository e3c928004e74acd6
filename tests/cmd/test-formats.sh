#!/bin/bash
# ocr2 scan output bytes: Markdown = page comments + the official conversion
# (re-run in Python by markdown_ref.py), text, raw, --images crops and links,
# --dump pass-through, -v timings.
. "$CMD_TESTS/lib.sh"
need_stand_in
stand_in "$CANNED/doc.raw"

# ref FILE [drop_images] [pdf_page]: the official conversion of FILE in Python
ref() {
	python3 - "$OUTPUT_TESTS" "$@" <<'X'
import sys
sys.path.insert(0, sys.argv[1])
import markdown_ref
# bytes that are not UTF-8 pass through both sides untouched
raw = open(sys.argv[2], encoding='utf-8', errors='surrogateescape', newline='').read()
drop = len(sys.argv) > 3 and sys.argv[3] == 'drop'
page = int(sys.argv[4]) if len(sys.argv) > 4 else None
link = (lambda i: 'images/%d_%d.jpg' % (page, i)) if page is not None else (lambda i: 'images/%d.jpg' % i)
sys.stdout.buffer.write(markdown_ref.convert(raw, link, drop).encode('utf-8', 'surrogateescape'))
X
}

# markdown of one image: "<!-- page 1 -->\n\n" + conversion + "\n"; without
# --images a figure leaves no link (the official images/0.jpg is never written)
expect_rc 0 "markdown" -- "$OCR2" scan "$FIX/page.png"
{ printf '<!-- page 1 -->\n\n'; ref "$CANNED/doc.raw" drop; echo; } >"$T/want"
cmp -s "$T/out" "$T/want" || { fail "markdown bytes"; diff "$T/want" "$T/out" | head; }
grep -q '!\[' "$T/out" && fail "markdown without --images links a figure: $(grep '!\[' "$T/out")"
# --image-links official: the official script's link text, byte for byte
expect_rc 0 "markdown --image-links official" -- "$OCR2" scan --image-links official "$FIX/page.png"
{ printf '<!-- page 1 -->\n\n'; ref "$CANNED/doc.raw"; echo; } >"$T/want"
cmp -s "$T/out" "$T/want" || { fail "markdown --image-links official bytes"; diff "$T/want" "$T/out" | head; }
# --images with a format that cannot link is a usage error that says so
expect_rc 2 "--images -f text" -- "$OCR2" scan --images "$T/nofigs" -f text "$FIX/page.png"
grep -q -- "--images: -f text has no figure links" "$T/err" || fail "--images -f text: $(cat "$T/err")"
[ -e "$T/nofigs" ] && fail "--images -f text created its directory"
expect_rc 2 "--images with --image-links official" -- "$OCR2" scan --images "$T/nofigs" --image-links official "$FIX/page.png"
# text: the same conversion with image tags dropped, no page comment
expect_rc 0 "text" -- "$OCR2" scan -f text "$FIX/page.png"
{ ref "$CANNED/doc.raw" drop; echo; } >"$T/want"
cmp -s "$T/out" "$T/want" || { fail "text bytes"; diff "$T/want" "$T/out" | head; }
# md alias and -o FILE give the same bytes as stdout
expect_rc 0 "-f md -o FILE" -- "$OCR2" scan -f md -o "$T/page.md" "$FIX/page.png"
{ printf '<!-- page 1 -->\n\n'; ref "$CANNED/doc.raw" drop; echo; } | cmp -s - "$T/page.md" || fail "-o FILE differs from stdout"
# a truncated page is marked in its comment
expect_rc 1 "truncated markdown" -- "$OCR2" scan --max-tokens 100 "$FIX/page.png"
head -1 "$T/out" | grep -qx '<!-- page 1: truncated -->' || fail "truncated page comment: $(head -1 "$T/out")"
# a failed page keeps its place, with the error in the comment
expect_rc 1 "failed page markdown" -- env OCR2_STAND_IN_FAIL=1 "$OCR2" scan "$FIX/page.png"
head -1 "$T/out" | grep -q '^<!-- page 1: error: .* -->$' || fail "failed page comment: $(head -1 "$T/out")"

# --images: the figure (label image) cropped from the page, linked relative to the output
expect_rc 0 "--images" -- "$OCR2" scan --images "$T/figs" -o "$T/md/doc.md" "$FIX/page.png"
[ -f "$T/figs/page-1-0.png" ] || fail "--images: figs/page-1-0.png missing ($(ls -R "$T/figs" 2>&1))"
python3 - "$T/figs/page-1-0.png" <<'X' || fail "--images: crop size is not the box (100,60)-(299,179)"
import struct, sys
d = open(sys.argv[1], 'rb').read()
assert d[:8] == b'\x89PNG\r\n\x1a\n'
w, h = struct.unpack('>II', d[16:24])
# int(250/999*400), int(200/999*300), int(749/999*400), int(598/999*300)
assert (w, h) == (299 - 100, 179 - 60), (w, h)
X
grep -qx '!\[\](../figs/page-1-0.png)' "$T/md/doc.md" || fail "--images: link not relative to the Markdown: $(grep '!\[' "$T/md/doc.md")"
(cd "$T/md" && [ -f ../figs/page-1-0.png ]) || fail "--images: link does not resolve"
ls -a "$T/figs" | grep -q '\.tmp\.' && fail "--images: temporary file left"
# to stdout the link is relative to the current directory
(cd "$T" && "$OCR2" scan --images figs2 "$FIX/page.png" >"$T/out2") || fail "--images to stdout failed"
grep -qx '!\[\](figs2/page-1-0.png)' "$T/out2" || fail "--images to stdout: link $(grep '!\[' "$T/out2")"

# --dump: the model gets one folder per page
expect_rc 0 "--dump" -- "$OCR2" scan --dump "$T/dump" "$FIX/page.png"
[ -s "$T/dump/page/page-1/tokens.txt" ] || fail "--dump: dump/page/page-1/tokens.txt missing"

# what reaches the model: the stand-in records its parameters in dump.json
params() { # params DESCRIPTION EXPECTED-PYTHON-DICT SCAN-ARGS...
	local what=$1 want=$2
	shift 2
	rm -rf "$T/pd"
	"$OCR2" scan -q --dump "$T/pd" "$@" "$FIX/page.png" >/dev/null || { fail "$what: scan failed"; return; }
	python3 - "$T/pd/page/page-1/dump.json" "$want" <<'X' || fail "$what: parameters"
import ast, json, sys
got = json.load(open(sys.argv[1]))
for k, v in ast.literal_eval(sys.argv[2]).items():
    assert got[k] == v, (k, got[k], v)
X
}
params defaults "{'prompt': '<image>\n<|grounding|>Convert the document to markdown.', 'max_tokens': 8192, 'ngram': 20, 'ngram_window': 50, 'no_crop': False, 'width': 400, 'height': 300}"
params "--mode free" "{'prompt': '<image>\nFree OCR.'}" --mode free
params "--prompt" "{'prompt': '<image>\nParse \"the\" figure.'}" --prompt 'Parse "the" figure.'
params "--prompt with <image>" "{'prompt': 'Look: <image>\nDescribe.'}" --prompt $'Look: <image>\nDescribe.'
params "generation flags" "{'max_tokens': 5000, 'ngram': 0, 'ngram_window': 90, 'no_crop': True}" --max-tokens 5000 --ngram 0 --ngram-window 90 --no-crop

# -v: a timing line per page naming the stages
expect_rc 0 "-v" -- "$OCR2" scan -v "$FIX/page.png"
grep -qE 'page 1: render .*encode .*prefill .*decode [0-9.]+s \([0-9]+ tokens' "$T/err" || fail "-v: no stage timings: $(cat "$T/err")"
expect_rc 0 "-q" -- "$OCR2" scan -q "$FIX/page.png"
[ -s "$T/err" ] && fail "-q printed: $(cat "$T/err")"

# a PDF: one comment per page, the PDF script's image names, form feeds in text
if have_pdf; then
	expect_rc 0 "PDF markdown" -- "$OCR2" scan --image-links official "$FIX/three.pdf"
	{ for p in 1 2 3; do
		[ $p -gt 1 ] && printf '\n\n'
		printf '<!-- page %d -->\n\n' $p
		ref "$CANNED/doc.raw" keep $((p - 1))
	done; echo; } >"$T/want"
	cmp -s "$T/out" "$T/want" || { fail "PDF markdown bytes"; diff "$T/want" "$T/out" | head; }
	expect_rc 0 "PDF text" -- "$OCR2" scan -f text -p 1,3 "$FIX/three.pdf"
	[ "$(grep -c $'^\f$' "$T/out")" = 1 ] || fail "PDF text: not one form feed between two pages"
	# over the pixel limit at -r: drawn at the largest dpi that fits (a 4x3 in
	# page: 91 dpi is 364x273 = 99372 pixels, 92 would be 101568), one notice
	# naming the file and the page once, and the JSON says the dpi it got
	expect_rc 0 "PDF over the pixel limit" -- env OCR2_MAX_PIXELS=100000 "$OCR2" scan -f json -p 1 -r 2400 "$FIX/three.pdf"
	[ "$(sed '$d' "$T/err")" = "ocr2 scan: notice: $FIX/three.pdf: page 1: drawn at 91 dpi, the most that fits the limit of 100000 pixels (-r 2400)" ] &&
		grep -q '^ocr2 scan: 1 input; pages: 1 ok' <(tail -1 "$T/err") || # and the summary
		fail "pixel limit notice: $(cat "$T/err")"
	python3 -c "import json, sys; p = json.load(open(sys.argv[1]))['pages'][0]; assert (p['width'], p['height'], p['dpi']) == (364, 273, 91), p" "$T/out" ||
		fail "pixel limit: page not 364x273 at 91 dpi"
	expect_rc 0 "PDF --images" -- "$OCR2" scan -p 2 --images "$T/pdfimg" -o "$T/pdf.md" "$FIX/three.pdf"
	[ -f "$T/pdfimg/three-2-0.png" ] || fail "PDF --images: three-2-0.png missing"
else
	echo "note: PDF checks skipped (lib/document/doc.c not in this build)"
fi
finish
