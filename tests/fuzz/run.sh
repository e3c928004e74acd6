#!/bin/bash
# Fuzzes every parser ocr2 owns with libFuzzer + ASan + UBSan.
# usage: tests/fuzz/run.sh [SECONDS_PER_TARGET (default 600)] [TARGET...]
# Crashes land in build-fuzz/crashes/TARGET/; copy each (after fixing the bug)
# into tests/fuzz/corpus/TARGET/ so it replays in the normal test suite.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-json fuzz-config fuzz-safetensors fuzz-tokenizer
	fuzz-grounding fuzz-pagesel fuzz-shard fuzz-document fuzz-writers fuzz-hfref fuzz-journal)
B=${FUZZ_BUILD:-build-fuzz}
command -v clang >/dev/null || { echo "fuzz: clang not installed"; exit 1; }
if [ ! -d "$B" ]; then
	CC=clang meson setup "$B" -Dfuzz=true -Dbuildtype=debugoptimized \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined' >/dev/null ||
		{ echo "fuzz: meson setup failed"; exit 1; }
fi
ninja -C "$B" $(printf 'tests/fuzz/%s ' "${targets[@]}") >/dev/null || { echo "fuzz: build failed"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
# the same LeakSanitizer suppressions as tests/run.sh: fontconfig's
# process-lifetime cache (a PDF whose fonts are not embedded in fuzz-document,
# cairo's label text in fuzz-writers) is not ours
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OCR2_FUZZ_TOKENIZER=${OCR2_FUZZ_TOKENIZER:-testdata/cache/tokenizer.json}
fail=0
for t in "${targets[@]}"; do
	work="$B/corpus/$t" crashes="$B/crashes/$t"
	mkdir -p "$work" "$crashes" "tests/fuzz/corpus/$t"
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	log="$B/$t.log"
	"$B/tests/fuzz/$t" "${dict[@]}" -max_total_time="$secs" -timeout=20 -rss_limit_mb=3072 \
		-max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	if [ $rc -ne 0 ]; then
		echo "fuzz: $t FAILED after ${runs:-?} runs (rc $rc); see $log and $crashes/"
		grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log"
		fail=1
	else
		echo "fuzz: $t ok, ${runs:-?} runs in ${secs}s"
	fi
done
exit $fail
