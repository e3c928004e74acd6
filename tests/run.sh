#!/bin/bash
# The test command (README): fetch test documents and the tokenizer, make the
# tiny models, build with the stand-in enabled, run every suite but `slow`,
# and print "N passed, N failed" computed from meson's testlog.json.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-test}
bash testdata/fetch.sh || { echo "testdata/fetch.sh failed"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 testdata/make-tiny.py --out testdata/models ||
	{ echo "make-tiny.py failed"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" -Dstand_in=true -Dbuildtype=debugoptimized ${MESON_ARGS:-} ||
		{ echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C "$BUILD" || { echo "0 passed, 1 failed"; exit 1; }
meson test -C "$BUILD" --no-suite slow --print-errorlogs --num-processes 2 ${TEST_ARGS:-}
/usr/bin/python3 tests/summary.py "$BUILD/meson-logs/testlog.json"
