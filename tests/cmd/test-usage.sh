#!/bin/bash
# The command line as a user types it: numeric ranges shared between commands
# and named in their errors, one-line usage errors, 'ocr2 help CMD' = 'ocr2 CMD
# --help', "did you mean" for a mistyped command or option, --prompt's \n,
# directories walked in natural order, --version's report.
. "$CMD_TESTS/lib.sh"

# one range per quantity, said in the error (and the same for scan and render)
expect_rc 2 "scan -r 3000" -- "$OCR2" scan -r 3000 x.pdf
grep -qx "ocr2 scan: -r: 3000 is out of range 1-2400; see 'ocr2 scan --help'" "$T/err" || fail "scan -r 3000: $(cat "$T/err")"
expect_rc 2 "render --dpi=3000" -- "$OCR2" render --dpi=3000 -o "$T/r" x.pdf
grep -qx "ocr2 render: --dpi: 3000 is out of range 1-2400; see 'ocr2 render --help'" "$T/err" || fail "render --dpi 3000: $(cat "$T/err")"
expect_rc 2 "render -r abc" -- "$OCR2" render -r abc -o "$T/r" x.pdf
grep -q "ocr2 render: -r: 'abc' is not a number (1-2400)" "$T/err" || fail "render -r abc: $(cat "$T/err")"
expect_rc 2 "scan -t 1.5" -- "$OCR2" scan -t 1.5 x.pdf
grep -q "ocr2 scan: -t: '1.5' is not a whole number (0-4096)" "$T/err" || fail "scan -t 1.5: $(cat "$T/err")"
expect_rc 2 "scan --max-tokens 0" -- "$OCR2" scan --max-tokens 0 x.pdf
grep -q "max-tokens: 0 is out of range 1-1048576" "$T/err" || fail "--max-tokens 0: $(cat "$T/err")"
# bench --reps 0: one line, not the whole usage
expect_rc 2 "bench --reps 0" -- "$OCR2" bench --reps 0
[ "$(wc -l <"$T/err")" = 1 ] || fail "bench --reps 0: $(wc -l <"$T/err") lines: $(cat "$T/err")"
grep -q "bench: --reps: 0 is out of range 1-1000" "$T/err" || fail "bench --reps 0: $(cat "$T/err")"
expect_rc 2 "bench --decode-tokens 0" -- "$OCR2" bench --decode-tokens 0
grep -q "decode-tokens: 0 is out of range 1-1048576" "$T/err" || fail "bench --decode-tokens 0: $(cat "$T/err")"
expect_rc 2 "model fetch --timeout 0" -- "$OCR2" model fetch --timeout 0
grep -q "fetch: --timeout: 0 is out of range 1-86400" "$T/err" || fail "fetch --timeout 0: $(cat "$T/err")"
expect_rc 2 "-f docx" -- "$OCR2" scan -f docx x.pdf
grep -q "ocr2 scan: -f: 'docx' is not one of markdown, json, jsonl, text, raw, pdf, hocr or md" "$T/err" || fail "-f docx: $(cat "$T/err")"
expect_rc 2 "-r with no value" -- "$OCR2" scan x.pdf -r
grep -q "ocr2 scan: -r needs a value N" "$T/err" || fail "-r (no value): $(cat "$T/err")"

# ocr2 help CMD is ocr2 CMD --help, byte for byte
for c in scan render tokenize bench model "model fetch" "model list" "model info" "model check" "model quantize"; do
	# shellcheck disable=SC2086
	"$OCR2" help $c >"$T/h1" 2>&1 || fail "ocr2 help $c: exit $?"
	# shellcheck disable=SC2086
	"$OCR2" $c --help >"$T/h2" 2>&1
	cmp -s "$T/h1" "$T/h2" || fail "'ocr2 help $c' differs from 'ocr2 $c --help'"
	head -1 "$T/h1" | grep -q "^usage: ocr2 $c " || fail "ocr2 help $c: $(head -1 "$T/h1")"
done
expect_rc 0 "ocr2 help" -- "$OCR2" help
grep -q '^  help ' "$T/out" || fail "'ocr2 help' does not list help"
expect_rc 0 "ocr2 model help fetch" -- "$OCR2" model help fetch
head -1 "$T/out" | grep -q '^usage: ocr2 model fetch' || fail "ocr2 model help fetch: $(head -1 "$T/out")"

# did you mean
expect_rc 2 "ocr2 scna" -- "$OCR2" scna
grep -q "'scna' is not a command; did you mean 'scan'?" "$T/err" || fail "scna: $(cat "$T/err")"
expect_rc 2 "ocr2 help scna" -- "$OCR2" help scna
grep -q "did you mean 'scan'?" "$T/err" || fail "help scna: $(cat "$T/err")"
expect_rc 2 "ocr2 xyzzy" -- "$OCR2" xyzzy
grep -q "did you mean" "$T/err" && fail "xyzzy: suggested something: $(cat "$T/err")"
expect_rc 2 "scan --dpii" -- "$OCR2" scan --dpii 300 x.pdf
grep -q "unknown option '--dpii' (did you mean '--dpi'?)" "$T/err" || fail "--dpii: $(cat "$T/err")"
expect_rc 2 "scan --recursve" -- "$OCR2" scan --recursve x
grep -q "did you mean '--recursive'?" "$T/err" || fail "--recursve: $(cat "$T/err")"
expect_rc 2 "scan --n (ambiguous)" -- "$OCR2" scan --n 3 x
grep -q "option '--n' is ambiguous: --ngram, --ngram-window, --no-crop" "$T/err" || fail "--n: $(cat "$T/err")"
expect_rc 2 "model lsit" -- "$OCR2" model lsit
grep -q "did you mean 'list'?" "$T/err" || fail "model lsit: $(cat "$T/err")"
expect_rc 2 "render --pgaes" -- "$OCR2" render --pgaes 1 -o "$T/r" x
grep -q "did you mean '--pages'?" "$T/err" || fail "render --pgaes: $(cat "$T/err")"
expect_rc 2 "--verison" -- "$OCR2" --verison
grep -q "did you mean '--version'?" "$T/err" || fail "--verison: $(cat "$T/err")"

# --version: version, commit, CPU features, kernels, OpenBLAS core, libraries
expect_rc 0 "--version" -- "$OCR2" --version
head -1 "$T/out" | grep -qE '^ocr2 [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{7,}|v[^ ]+|unknown)\+?\)$' || fail "--version first line: $(head -1 "$T/out")"
for w in "avx2 " "avx512f " "avx512_bf16 " "amx " "matrix-vector" "encoder products in " "openblas: core " "poppler " "libtiff " "libpng " "libjpeg"; do
	grep -q "$w" "$T/out" || fail "--version does not say '$w': $(cat "$T/out")"
done

need_stand_in
stand_in "$CANNED/free.raw"
# --prompt: \n is a newline and \\ a backslash (as --help writes the prompts)
expect_rc 0 "--prompt escapes" -- "$OCR2" scan -q -f raw --dump "$T/dump" --prompt '<image>\nFree OCR. a\\nb \x' "$FIX/page.png"
python3 - "$T/dump/page/page-1/dump.json" <<'X' || fail "--prompt escapes: $(cat "$T/dump/page/page-1/dump.json")"
import json, sys
p = json.load(open(sys.argv[1]))['prompt']
assert p == '<image>\nFree OCR. a\\nb \\x', repr(p)
X

# directories in natural order: f1 f2 f10 (digit runs by value, then bytes)
mkdir -p "$T/nat"
for f in f10 f2 f1 f02 F3 g1; do cp "$FIX/small.png" "$T/nat/$f.png"; done
expect_rc 0 "natural order" -- "$OCR2" scan -q -f jsonl "$T/nat"
python3 - "$T/out" "$T/nat" <<'X' || fail "natural order: $(cut -c1-80 "$T/out")"
import json, os, sys
got = [os.path.basename(json.loads(l)['source']) for l in open(sys.argv[1])]
assert got == ['F3.png', 'f1.png', 'f02.png', 'f2.png', 'f10.png', 'g1.png'], got
X
finish
