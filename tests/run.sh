#!/bin/bash
# The test command (README): fetch test documents and the tokenizer, make the
# tiny models, then build and run every suite but `slow` twice: an optimised
# build (with a short libFuzzer run of every parser) and an AddressSanitizer +
# UndefinedBehaviorSanitizer build. Prints "N passed, N failed" over both,
# computed from meson's testlog.json files.
#   OCR2_TEST_CONFIGS="release asan"   which builds to test (default both)
#   OCR2_FUZZ_SECONDS=20               seconds per fuzz target (0 = none)
set -uo pipefail
cd "$(dirname "$0")/.."
configs=${OCR2_TEST_CONFIGS:-release asan}
fuzz=${OCR2_FUZZ_SECONDS:-20}
die() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }

bash testdata/fetch.sh || die "testdata/fetch.sh failed"
/usr/bin/python3 testdata/make-tiny.py --out testdata/models || die "testdata/make-tiny.py failed"

logs=()
for cfg in $configs; do
	case $cfg in
	release) dir=build-test args=(-Dbuildtype=debugoptimized "-Dfuzz_short=$fuzz") ;;
	asan) dir=build-asan args=(-Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
		-Dsanitize_tests=true) ;;
	*) die "unknown test configuration $cfg" ;;
	esac
	if [ ! -d "$dir" ]; then
		meson setup "$dir" -Dstand_in=true "${args[@]}" >/dev/null || die "meson setup $dir failed"
	fi
	ninja -C "$dir" >/dev/null || { ninja -C "$dir" | tail -30; die "build $dir failed"; }
	echo "== $cfg build: running tests"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	meson test -C "$dir" --no-suite slow --print-errorlogs --num-processes 2 ${TEST_ARGS:-}
	logs+=("$dir/meson-logs/testlog.json")
done
/usr/bin/python3 tests/summary.py "${logs[@]}"
