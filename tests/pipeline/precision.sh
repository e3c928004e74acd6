#!/bin/bash
# --precision auto|f32|bf16 (man ocr2-scan) and its environment default
# OCR2_PRECISION (older name OCR2_MATMUL; man ocr2): auto is bf16 exactly where
# the CPU has avx512_bf16 (what `ocr2 --version` reports), else f32; bf16 asked
# for without avx512_bf16 runs f32 with a notice; a bf16 run has its own resume
# key, so outputs made in f32 are redone, not mixed. Runs on any CPU: what it
# expects follows from the CPU.
set -uo pipefail
: "${OCR2:?}" "${TESTDATA:?}"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
unset OCR2_PRECISION OCR2_MATMUL
img=$TESTDATA/images/crc-p1-60dpi.png
run() { # run NAME [options]: raw output in $d/NAME.out, messages in $d/NAME.err
	local name=$1
	shift
	"$OCR2" scan "$@" -m "$TESTDATA/models/tiny" --ngram 0 --max-tokens 6 -f raw -t 2 \
		--dump "$d/$name.dump" "$img" >"$d/$name.out" 2>"$d/$name.err"
	rc=$?
	[ $rc -le 1 ] || fail "$name: exit $rc: $(cat "$d/$name.err")"
	[ -s "$d/$name.out" ] || fail "$name: no output"
}
feat() { find "$d/$1.dump" -name features.f32; }
same() { cmp -s "$(feat "$1")" "$(feat "$2")"; }

"$OCR2" --version >"$d/version" || fail "ocr2 --version"
if grep -q 'encoder products in bf16 by default' "$d/version"; then cpu=bf16; else cpu=f32; fi
grep -qE 'encoder products in (bf16 by default|float32)' "$d/version" ||
	fail "ocr2 --version does not say what the encoder runs: $(cat "$d/version")"
echo "this CPU: auto is $cpu"

run f32 --precision f32 -v
grep -q 'encoder in float32' "$d/f32.err" || fail "-v does not name float32: $(cat "$d/f32.err")"
run bf16 --precision bf16 -v
run auto -v
if [ $cpu = bf16 ]; then
	grep -q 'encoder in bf16 products' "$d/bf16.err" || fail "bf16 not used: $(cat "$d/bf16.err")"
	grep -q 'notice' "$d/bf16.err" && fail "a notice on a bf16 CPU: $(cat "$d/bf16.err")"
	same auto bf16 || fail "auto is not bf16 on an avx512_bf16 CPU"
	same f32 bf16 && fail "bf16 gave the float32 features bit for bit"
else
	grep -q 'notice: bf16 precision asked for, but this CPU has no avx512_bf16: the encoder runs in float32' \
		"$d/bf16.err" || fail "no notice for bf16 without avx512_bf16: $(cat "$d/bf16.err")"
	same bf16 f32 || fail "bf16 without avx512_bf16 is not float32"
fi
same auto $cpu || fail "auto is not $cpu"
grep -q "encoder in $([ $cpu = bf16 ] && echo bf16 || echo float32)" "$d/auto.err" ||
	fail "-v with auto: $(cat "$d/auto.err")"
run quiet --precision bf16 -q
grep -q notice "$d/quiet.err" && fail "-q still prints the notice: $(cat "$d/quiet.err")"

# the environment: the default for --precision, which overrides it
OCR2_PRECISION=f32 run env-f32 -v
same env-f32 f32 || fail "OCR2_PRECISION=f32 is not f32"
OCR2_MATMUL=f32 run old-f32
same old-f32 f32 || fail "OCR2_MATMUL=f32 (the older name) is not f32"
OCR2_PRECISION=$cpu OCR2_MATMUL=f32 run both
same both $cpu || fail "OCR2_PRECISION does not win over OCR2_MATMUL"
OCR2_PRECISION=f32 run opt-wins --precision auto
same opt-wins auto || fail "--precision does not win over OCR2_PRECISION"
OCR2_PRECISION=fast run unknown
grep -q 'notice: OCR2_PRECISION=fast ignored: the values are auto, f32 and bf16' "$d/unknown.err" ||
	fail "no notice for an unknown value: $(cat "$d/unknown.err")"
same unknown auto || fail "an unknown OCR2_PRECISION is not auto"
OCR2_PRECISION=fast run unknown-q -q
grep -q 'OCR2_PRECISION' "$d/unknown-q.err" && fail "-q still prints the notice"

# a bad --precision is a usage error
"$OCR2" scan --precision fast -m "$TESTDATA/models/tiny" "$img" >/dev/null 2>"$d/bad.err"
rc=$?
[ $rc -eq 2 ] || fail "--precision fast: exit $rc, not 2"
grep -q 'precision' "$d/bad.err" || fail "--precision fast: $(cat "$d/bad.err")"
[ "$(wc -l <"$d/bad.err")" -le 3 ] || fail "--precision fast: $(cat "$d/bad.err")"

# resume keys: a finished f32 output is skipped by another f32 run; a run at
# bf16 redoes it where bf16 runs, and skips it where it would run f32
mkdir "$d/o"
key() {
	"$OCR2" scan "$@" -m "$TESTDATA/models/tiny" --max-tokens 4 -f raw -t 2 -o "$d/o/out.txt" \
		"$img" >/dev/null 2>"$d/key.err"
	[ $? -le 1 ] || fail "scan -o: $(cat "$d/key.err")"
}
key --precision f32
key --precision f32
grep -q '1 done before, skipped' "$d/key.err" || fail "a second f32 run redid the output"
key --precision bf16
if [ $cpu = bf16 ]; then
	grep -q '1 done before, skipped' "$d/key.err" && fail "bf16 took the f32 output as its own"
else
	grep -q '1 done before, skipped' "$d/key.err" || fail "bf16 (run as f32 here) redid the output"
fi
echo "ok"
