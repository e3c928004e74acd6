#!/bin/bash
# lib/base/unicode-tables.h is what lib/base/gen-unicode.py writes (from Python's
# unicodedata; Unicode 14.0 with Python 3.11, the version the tables claim).
set -u
src=$(dirname "$0")/../../lib/base
ver=$(/usr/bin/python3 -c 'import unicodedata; print(unicodedata.unidata_version)')
if [ "$ver" != "14.0.0" ]; then
	echo "SKIP: Python's unicodedata is $ver, not the 14.0.0 the tables are made from (lib/base/gen-unicode.py)"
	exit 77
fi
if /usr/bin/python3 "$src/gen-unicode.py" | cmp -s - "$src/unicode-tables.h"; then
	echo ok
else
	echo "FAIL: lib/base/unicode-tables.h differs from what lib/base/gen-unicode.py writes"
	exit 1
fi
