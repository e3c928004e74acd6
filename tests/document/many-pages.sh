#!/bin/bash
# A 1026-page PDF (the bzip2 manual 27 times, pdfunite) must be rendered one
# page at a time: the peak RSS of `ocr2 render` over all pages stays within
# a few pages' worth of the peak for one page (suite `slow`).
set -u
[ -f "$TESTCACHE/bzip2-manual.pdf" ] || { echo "bzip2-manual.pdf missing: bash testdata/fetch.sh"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
args=()
for i in $(seq 27); do args+=("$TESTCACHE/bzip2-manual.pdf"); done
pdfunite "${args[@]}" "$T/many.pdf" || exit 1
DPI=${DPI:-144}
rss() { /usr/bin/time -f %M "$OCR2" render -r "$DPI" "$@" 2>&1 >/dev/null | tail -1; }
one=$(rss -p 1 -o "$T/one" "$T/many.pdf")
all=$(rss -o "$T/all" "$T/many.pdf")
n=$(ls "$T/all" | wc -l)
echo "pages written: $n; peak RSS one page: $one KiB, all pages: $all KiB (at $DPI dpi)"
[ "$n" = 1026 ] || { echo "FAIL: $n pages written"; exit 1; }
# Holding every page would take 1026 x 13 MiB (ARGB + RGB at 144 dpi). What
# does grow is poppler's per-document state (parsed pages, the font cache of
# 27 copies of the manual's fonts): measured 36 MiB at 36 dpi and 41 MiB at
# 144 dpi, i.e. independent of the page size. Allow 64 MiB for it.
limit=$((one + 65536))
[ "$all" -le "$limit" ] || { echo "FAIL: peak RSS $all KiB > $limit KiB"; exit 1; }
echo ok
