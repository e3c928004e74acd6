#!/bin/bash
# The installable libocr2.a defines exactly the functions ocr2.h declares as
# global symbols, nothing else (undefined references to OpenBLAS, poppler, libc
# are the program's to resolve), and prints the counts.
# usage: symbols.sh ARCHIVE OCR2_H PUBLIC_ARCHIVE_PY
set -uo pipefail
export LC_ALL=C # one sort order for comm
archive=$1 header=$2 script=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$script" symbols "$header" >"$tmp/list" || { echo "FAIL: cannot read $header"; exit 1; }
sort -u "$tmp/list" >"$tmp/want"
nm -g --defined-only "$archive" >"$tmp/nm" || { echo "FAIL: nm $archive"; exit 1; }
awk 'NF == 3 { print $3 }' "$tmp/nm" | sort -u >"$tmp/got"
fails=0
extra=$(comm -13 "$tmp/want" "$tmp/got")
missing=$(comm -23 "$tmp/want" "$tmp/got")
if [ -n "$extra" ]; then
	echo "FAIL: global symbols not declared in ocr2.h:"; echo "$extra" | sed 's/^/  /'
	fails=1
fi
if [ -n "$missing" ]; then
	echo "FAIL: functions of ocr2.h not defined in the archive:"; echo "$missing" | sed 's/^/  /'
	fails=1
fi
members=$(ar t "$archive" | wc -l)
echo "$(wc -l <"$tmp/want") functions in ocr2.h, $(wc -l <"$tmp/got") global definitions," \
	"$(nm "$archive" | awk '$1 == "U"' | sort -u | wc -l) undefined, $members member(s)"
[ "$fails" = 0 ] && echo "all passed"
exit "$fails"
