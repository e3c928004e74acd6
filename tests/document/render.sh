#!/bin/bash
# `ocr2 render`: every exit code, the output names, each kind of bad input
# (one line naming the file, the batch goes on), stdin, atomic output.
# Needs OCR2 and TESTDATA (meson sets both); TESTCACHE is optional.
set -u
D=$TESTDATA/docs
T=$(mktemp -d)
trap 'chmod -R u+w "$T"; rm -rf "$T"' EXIT
fail=0
ok() { echo "ok $*"; }
bad() { echo "FAIL $*"; fail=1; }

# run NAME EXPECTED-EXIT ARGS... : runs ocr2 render, keeps stdout/stderr
run() {
	local name=$1 want=$2
	shift 2
	"$OCR2" render "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" = "$want" ]; then ok "$name: exit $rc"; else
		bad "$name: exit $rc, expected $want; stderr: $(cat "$T/err")"
	fi
}
# err_has NAME PATTERN: stderr has exactly one line per failure and matches
err_is() {
	local name=$1 lines=$2 pat=$3
	local n
	n=$(wc -l <"$T/err")
	[ "$n" = "$lines" ] || bad "$name: $n stderr lines, expected $lines: $(cat "$T/err")"
	grep -qE -- "$pat" "$T/err" && ok "$name: message" || bad "$name: stderr '$(cat "$T/err")' does not match '$pat'"
}
no_temps() {
	if ls -A "$1" | grep -q '^\.'; then bad "$2: temporary files left in $1: $(ls -A "$1")"; else ok "$2: no temporaries"; fi
}

# ---- help and usage (exit 0 / 2) ----
run help 0 --help
grep -q "usage: ocr2 render" "$T/out" && ok "help text" || bad "help text on stdout"
[ -s "$T/err" ] && bad "help wrote to stderr"
run no-args 2
run no-output 2 "$D/png-rgb.png"
err_is no-output 1 "^ocr2 render: .*-o DIR"
run no-input 2 -o "$T/o"
run bad-pages 2 -p 3-1 -o "$T/o" "$D/png-rgb.png"
err_is bad-pages 1 'invalid page selection "3-1"'
run zero-page 2 -p 0 -o "$T/o" "$D/png-rgb.png"
run bad-dpi 2 -r abc -o "$T/o" "$D/png-rgb.png"
run zero-dpi 2 -r 0 -o "$T/o" "$D/png-rgb.png"
run unknown-option 2 --frobnicate -o "$T/o" "$D/png-rgb.png"
run missing-value 2 "$D/png-rgb.png" -o
run two-stdin 2 -o "$T/o" - -

# ---- good inputs: names, page numbering, selection ----
O=$T/good
run good 0 -o "$O" "$D/png-rgb.png" "$D/tiff-multi.tif" "$D/jpeg-orient-6.jpg" "$D/pdf-page.pdf"
[ ! -s "$T/err" ] && ok "good: silent" || bad "good: stderr $(cat "$T/err")"
for f in png-rgb-1.png tiff-multi-1.png tiff-multi-2.png tiff-multi-3.png jpeg-orient-6-1.png pdf-page-1.png; do
	[ -f "$O/$f" ] && ok "wrote $f" || bad "missing $O/$f (have: $(ls "$O"))"
done
[ "$(ls "$O" | wc -l)" = 6 ] || bad "good: unexpected files: $(ls "$O")"
no_temps "$O" good
# output is a plain RGB PNG: rendering it again gives the same pixels,
# so the same bytes
run re-render 0 -o "$T/again" "$O/png-rgb-1.png"
cmp -s "$O/png-rgb-1.png" "$T/again/png-rgb-1-1.png" && ok "re-render identical" || bad "re-render differs"
# EXIF orientation 6 turns 64x40 into 40x64: the PNG header says so
size=$(od -An -tx1 -j16 -N8 "$O/jpeg-orient-6-1.png" | tr -d ' \n')
[ "$size" = "0000002800000040" ] && ok "orientation applied (40x64)" || bad "jpeg-orient-6 size bytes $size"
# PDF at 144 dpi: 144x96 pt -> 288x192
size=$(od -An -tx1 -j16 -N8 "$O/pdf-page-1.png" | tr -d ' \n')
[ "$size" = "00000120000000c0" ] && ok "pdf 288x192 at 144 dpi" || bad "pdf size bytes $size"
run dpi-72 0 -r 72 -o "$T/r72" "$D/pdf-page.pdf"
size=$(od -An -tx1 -j16 -N8 "$T/r72/pdf-page-1.png" | tr -d ' \n')
[ "$size" = "0000009000000060" ] && ok "pdf 144x96 at 72 dpi" || bad "pdf -r 72 size bytes $size"
# selection: -p 2 of a 3-frame TIFF; a PNG has no page 2
run select 1 -p 2 -o "$T/sel" "$D/tiff-multi.tif" "$D/png-rgb.png"
[ "$(ls "$T/sel")" = "tiff-multi-2.png" ] && ok "select: only page 2" || bad "select: $(ls "$T/sel")"
err_is select 1 "^ocr2 render: .*png-rgb.png: no page selected \(the document has 1 page\)$"
run select-open 0 -p 2- -o "$T/sel2" "$D/tiff-multi.tif"
[ "$(ls "$T/sel2" | tr '\n' ' ')" = "tiff-multi-2.png tiff-multi-3.png " ] && ok "select 2-" || bad "select 2-: $(ls "$T/sel2")"
# zero-padding to the width of the page count (as pdftoppm)
if [ -f "${TESTCACHE:-/nonexistent}/bzip2-manual.pdf" ]; then
	run padded 0 -p 3,38 -r 20 -o "$T/pad" "$TESTCACHE/bzip2-manual.pdf"
	[ "$(ls "$T/pad" | tr '\n' ' ')" = "bzip2-manual-03.png bzip2-manual-38.png " ] && ok "padded names" ||
		bad "padded names: $(ls "$T/pad")"
fi

# ---- stdin ----
run stdin-png 0 -o "$T/in" - <"$D/png-rgb.png"
cmp -s "$T/in/stdin-1.png" "$O/png-rgb-1.png" && ok "stdin png = file png" || bad "stdin png differs"
rm -f "$T/in/stdin-1.png"
run stdin-pdf 0 -o "$T/in" - <"$D/pdf-page.pdf"
cmp -s "$T/in/stdin-1.png" "$O/pdf-page-1.png" && ok "stdin pdf = file pdf" || bad "stdin pdf differs"
run stdin-multi 0 -o "$T/in2" - <"$D/tiff-multi.tif"
[ -f "$T/in2/stdin-3.png" ] && ok "stdin tiff frames" || bad "stdin tiff: $(ls "$T/in2")"
run stdin-text 1 -o "$T/in3" - </dev/null
err_is stdin-empty 1 "^ocr2 render: -: empty file$"

# ---- bad inputs: one line each naming the file, the good file still written ----
check_bad() { # name file pattern
	local name=$1 file=$2 pat=$3
	rm -rf "$T/b"
	run "$name" 1 -o "$T/b" "$file" "$D/png-gray.png"
	err_is "$name" 1 "^ocr2 render: $file: $pat"
	[ -f "$T/b/png-gray-1.png" ] && ok "$name: batch went on" || bad "$name: next input not written"
	[ "$(ls "$T/b" | wc -l)" = 1 ] || bad "$name: partial output $(ls "$T/b")"
	no_temps "$T/b" "$name"
}
check_bad missing "$D/no-such.pdf" "cannot open: No such file or directory$"
check_bad directory "$D/expected" "is a directory$"
check_bad truncated-pdf "$D/pdf-truncated.pdf" "corrupt or truncated PDF"
check_bad encrypted-pdf "$D/pdf-encrypted.pdf" "encrypted PDF"
check_bad zero-page-pdf "$D/pdf-zero-pages.pdf" "document has no pages$"
check_bad png-bomb "$D/png-bomb.png" "100000x100000 pixels is more than the limit"
check_bad tiff-bomb "$D/tiff-bomb.tif" "100000x100000 pixels is more than the limit"
check_bad jpeg-bomb "$D/jpeg-bomb.jpg" "65000x65000 pixels is more than the limit"
check_bad truncated-png "$D/png-truncated.png" "corrupt PNG"
check_bad corrupt-png "$D/png-corrupt.png" "corrupt PNG"
check_bad truncated-jpeg "$D/jpeg-truncated.jpg" "corrupt JPEG"
check_bad corrupt-jpeg "$D/jpeg-corrupt.jpg" "corrupt JPEG"
check_bad truncated-tiff "$D/tiff-truncated.tif" "corrupt TIFF"
check_bad short-strip-tiff "$D/tiff-short-strip.tif" "page 1: corrupt TIFF data"
check_bad unsupported "$D/image.gif" "not a PDF, TIFF, PNG or JPEG file$"
check_bad lying-extension "$D/text-named.pdf" "not a PDF, TIFF, PNG or JPEG file$"
check_bad empty "$D/empty.png" "empty file$"
# a standard fax, 204 x 98 dpi: 1728x1100 pixels twice as tall as wide are
# resampled to square ones, 1728x2290, as a viewer shows the page
run fax-page 0 -o "$T/fax" "$D/tiff-fax-page.tif"
size=$(od -An -tx1 -j16 -N8 "$T/fax/tiff-fax-page-1.png" | tr -d ' \n')
[ "$size" = "000006c0000008f2" ] && ok "fax 1728x1100 at 204x98 dpi -> 1728x2290" || bad "fax page size bytes $size"

# a PDF page over the pixel limit (OCR2_MAX_PIXELS, 4 Mpx here; 200 inches
# square at 144 dpi would be 28800x28800) is drawn at the largest whole dpi
# that fits, 10 (2000x2000; 11 would be 2200x2200), with a one-line notice
OCR2_MAX_PIXELS=4194304 run huge-pdf-fits 0 -o "$T/fit" "$D/pdf-huge.pdf"
err_is huge-pdf-fits 1 "^ocr2 render: notice: $D/pdf-huge.pdf: page 1: drawn at 10 dpi, the most that fits the limit of 4194304 pixels \(-r 144\)$"
size=$(od -An -tx1 -j16 -N8 "$T/fit/pdf-huge-1.png" | tr -d ' \n')
[ "$size" = "000007d0000007d0" ] && ok "huge pdf drawn 2000x2000" || bad "huge pdf size bytes $size"
# under the limit nothing changes and nothing is said
OCR2_MAX_PIXELS=4194304 run small-pdf-fits 0 -r 300 -o "$T/fit2" "$D/pdf-page.pdf"
[ -s "$T/err" ] && bad "small-pdf-fits: stderr $(cat "$T/err")" || ok "small-pdf-fits: silent"
# raster pages cannot be drawn smaller: still refused
OCR2_MAX_PIXELS=100 run raster-over-limit 1 -o "$T/fit3" "$D/png-rgb.png"
err_is raster-over-limit 1 "pixels is more than the limit of 100$"

# -o FILE.png: the one selected page goes to that file (no directory made)
run one-file 0 -o "$T/one/page.png" "$D/pdf-page.pdf"
[ -f "$T/one/page.png" ] && ok "one-file: written" || bad "one-file: $(ls -R "$T/one" 2>&1)"
cmp -s "$T/one/page.png" "$O/pdf-page-1.png" && ok "one-file: same pixels as DIR mode" || bad "one-file differs"
run one-file-select 0 -p 2 -o "$T/one/second.PNG" "$D/tiff-multi.tif"
[ -f "$T/one/second.PNG" ] && ok "one-file -p 2" || bad "one-file -p 2 missing"
run one-file-three-pages 2 -o "$T/one/all.png" "$D/tiff-multi.tif"
err_is one-file-three-pages 1 "3 pages selected, but -o .*all.png names one file"
[ -e "$T/one/all.png" ] && bad "one-file-three-pages: wrote a file" || ok "one-file-three-pages: nothing written"
run one-file-two-inputs 2 -o "$T/one/two.png" "$D/png-rgb.png" "$D/png-gray.png"
mkdir -p "$T/dir.png"
run dir-named-png 0 -o "$T/dir.png" "$D/png-rgb.png"
[ -f "$T/dir.png/png-rgb-1.png" ] && ok "an existing directory named .png stays a directory" || bad "dir.png: $(ls "$T/dir.png")"

# a PNG named .jpg is read as the PNG it is
run png-named-jpg 0 -o "$T/lie" "$D/png-named.jpg"
cmp -s "$T/lie/png-named-1.png" "$O/png-rgb-1.png" && ok "lying extension read by magic" || bad "png-named.jpg"

# ---- unwritable output ----
touch "$T/file"
run output-is-file 1 -o "$T/file" "$D/png-rgb.png"
err_is output-is-file 1 "^ocr2 render: $T/file: not a directory$"
run output-under-file 1 -o "$T/file/sub" "$D/png-rgb.png"
err_is output-under-file 1 "^ocr2 render: $T/file/sub: cannot create directory: Not a directory$"
if [ "$(id -u)" != 0 ]; then
	mkdir "$T/ro" && chmod 555 "$T/ro"
	run read-only-dir 1 -o "$T/ro" "$D/png-rgb.png" "$D/png-gray.png"
	err_is read-only-dir 2 "^ocr2 render: $D/png-rgb.png: cannot write $T/ro/png-rgb-1.png: Permission denied$"
fi
# a full disk: /dev/full as the output file is reached through a symlink
# named like the output, which rename() would replace; so instead write
# into a directory on a full filesystem when one is available
if [ -w /dev/full ] && command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then
	mkdir -p "$T/full"
	unshare -rm bash -c "mount -t tmpfs -o size=4k tmpfs '$T/full' 2>/dev/null || exit 77
		'$OCR2' render -o '$T/full' '$D/tiff-multi.tif' >/dev/null 2>'$T/err'; echo \$? >'$T/rc'
		ls -A '$T/full' >'$T/ls'" 2>/dev/null
	if [ -f "$T/rc" ]; then
		[ "$(cat "$T/rc")" = 1 ] && ok "full disk: exit 1" || bad "full disk: exit $(cat "$T/rc")"
		grep -q "No space left on device" "$T/err" && ok "full disk: message" || bad "full disk: $(cat "$T/err")"
		# pages that fitted are complete; the one that did not left nothing
		grep -q '^\.' "$T/ls" && bad "full disk left temporaries: $(cat "$T/ls")" || ok "full disk: no temporaries"
	fi
fi

exit $fail
