#!/bin/bash
# ocr2_blocks_parse on the corpus (expected blocks written from the grounding
# format of MODEL.md §9: tag, boxes, content up to the next tag; malformed tags
# stay text and are counted) and ocr2_grid_to_pixel against Python's
# int(v / 999 * size), the official scripts' mapping.
. "$CMD_TESTS/lib.sh"

check() {
	local name=$1
	"$MD_TOOL" blocks "$OUTPUT_TESTS/md/$name.raw" >"$T/got"
	if ! cmp -s "$T/got" "$T/want"; then
		fail "blocks of $name.raw"
		diff "$T/want" "$T/got" | head -20
	fi
}

cat >"$T/want" <<'X'
malformed 0
[title] 330,198,558,230 |# R&D QUALITY IMPROVEMENT|
[text] 102,250,897,300 |The quick brown fox jumps over the lazy dog.|
[table] 100,320,900,600 |<table><tr><td>a</td><td rowspan="2">b</td></tr><tr><td>c</td></tr></table>|
[table_caption] 100,610,500,640 |Table 1: results|
X
check simple
cat >"$T/want" <<'X'
malformed 0
[text] 10,20,300,40 10,45,280,70 |A paragraph split over two boxes\nthat continues here.|
[sub_title] 10,80,500,100 |## Section 2|
X
check multibox
cat >"$T/want" <<'X'
malformed 0
[image] 100,100,500,400 ||
[image_caption] 100,410,500,430 |<center>Figure 1: a cat</center>|
[image] 520,100,900,250 520,260,900,400 ||
[text] 100,450,900,500 |See the figures above.|
X
check images
cat >"$T/want" <<'X'
malformed 1
[title] 50,40,950,80 |# Report|
[text] 50,100,950,200 |First paragraph is complete.\n\n<|ref|>text<|/ref|><|det|>[[50, 210, 9|
X
check truncated
cat >"$T/want" <<'X'
malformed 6
[] |stray text before any tag <|/det|> and a closing ref <|/ref|>\n<|ref|>a|
[b] 1,2,3,4 |nested ref content\n<|ref|>text<|/ref|><|det|>oops not a list<|/det|>\nbad boxes content\n<|ref|>text<|/ref|>missing det\n<|det|>[[5, 6, 7, 8]]<|/det|> det without ref\n<|ref|>multi\nline<|/ref|><|det|>[[1, 1, 2, 2]]<|/det|>\nlabel spans a line\n<|ref|>text<|/ref|>junk|
[image] 10,10,20,20 |spanning match that counts as an image\n<|ref|>text<|/ref|><|det|>[[1, 2, 3]]<|/det|>\nthree numbers|
X
check junk
printf 'malformed 0\n' >"$T/want"
check empty
cat >"$T/want" <<'X'
malformed 0
[text] 0,0,999,999 |full page|
X
# "middle EOS kept" is untagged text; the EOS at the very end is not followed by a newline
"$MD_TOOL" blocks "$OUTPUT_TESTS/md/eosmid.raw" | grep -q '^\[text\] 0,0,999,999 |full page' ||
	fail "eosmid: tagged block not parsed"

# grid -> pixel against Python on a sweep (0..999, odd sizes, clamping)
python3 - "$MD_TOOL" <<'X' || fail "ocr2_grid_to_pixel differs from int(v/999*size)"
import subprocess, sys
pairs = [(v, size) for size in (1, 7, 300, 400, 576, 999, 1000, 1224, 4961)
         for v in list(range(0, 1000)) + [-5, 1200]]
out = subprocess.run([sys.argv[1], 'pixels'], input=''.join('%d %d\n' % p for p in pairs),
                     capture_output=True, text=True).stdout.split()
bad = 0
for (v, size), got in zip(pairs, out):
    want = min(max(int(v / 999 * size), 0), size)
    if int(got) != want:
        print('v=%d size=%d: got %s want %d' % (v, size, got, want))
        bad += 1
sys.exit(1 if bad or len(out) != len(pairs) else 0)
X
finish
