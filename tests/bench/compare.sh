#!/bin/bash
# Side by side, one run, same weights and page: ocr2 (bench + an end-to-end
# scan with a fixed token budget) against the float32 PyTorch reference on the
# CPU. Prints both sets of figures and the ratios.
#   tests/bench/compare.sh MODEL_DIR PAGE.png [TOKENS (default 32)] [THREADS]
# With LLAMA_BENCH (a llama-bench binary) and LLAMA_MODEL (the same weights'
# text model converted to GGUF), llama.cpp's prefill and decode at the same
# context depth join the comparison. llama.cpp is built outside this tree.
# Make a full-size random model with: testdata/make-tiny.py --full --out DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$1 page=$2 tokens=${3:-32} threads=${4:-$(nproc)}
OCR2=${OCR2:-build/cmd/ocr2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== ocr2 bench"
"$OCR2" bench -m "$model" -t "$threads" --decode-tokens "$tokens" | tee "$work/bench"
echo "== ocr2 scan (end to end, --ngram 0 --max-tokens $tokens)"
s=$(date +%s.%N)
# exit 1 = "truncated": the token budget ends the page, as it does for the reference
"$OCR2" scan -q -m "$model" -t "$threads" --ngram 0 --max-tokens "$tokens" -f raw "$page" >/dev/null ||
	[ $? -eq 1 ]
e=$(date +%s.%N)
ocr2_e2e=$(echo "$e - $s" | bc -l)
printf 'ocr2 end to end      %.2f s\n' "$ocr2_e2e"
echo "== PyTorch reference (float32, CPU)"
/usr/bin/python3 tests/bench/ref-bench.py --model "$model" --image "$page" --steps "$tokens" \
	--threads "$threads" | tee "$work/ref"
/usr/bin/python3 - "$ocr2_e2e" "$work/bench" "$work/ref" <<'PY'
import sys
def kv(path, tag):
    for line in open(path):
        if line.startswith(tag):
            return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
o, r = kv(sys.argv[2], "bench:"), kv(sys.argv[3], "ref:")
e2e = float(sys.argv[1])
print("== ratios (reference time / ocr2 time; > 1 means ocr2 is faster)")
for name, a, b in [("encoder 1024 view", r["enc1024_s"], o["enc1024_s"]),
                   ("encoder 768 crop", r["enc768_s"], o["enc768_s"]),
                   ("prefill", o["prefill_tps"], r["prefill_tps"]),
                   ("decode", o["decode_tps"], r["decode_tps"]),
                   ("end to end", r["end_to_end_s"], e2e)]:
    print("%-18s %.2fx" % (name, a / b))
print("decode vs bandwidth bound: %.1f%%" % (100 * o["fraction"]))
PY
if [ -n "${LLAMA_BENCH:-}" ] && [ -n "${LLAMA_MODEL:-}" ]; then
	echo "== llama.cpp ($LLAMA_MODEL)"
	n_prompt=$(sed -n 's/.*prefill_tokens=\([0-9]*\).*/\1/p' "$work/bench")
	"$LLAMA_BENCH" -m "$LLAMA_MODEL" -t "$threads" -p "$n_prompt" -n 0 -r 1 -o json >"$work/lp"
	"$LLAMA_BENCH" -m "$LLAMA_MODEL" -t "$threads" -p 0 -n "$tokens" -d "$n_prompt" -r 1 \
		-o json >"$work/lg"
	/usr/bin/python3 - "$work/bench" "$work/lp" "$work/lg" <<'PY'
import json, sys
o = {k: float(v) for k, v in (p.split("=") for p in
     next(l for l in open(sys.argv[1]) if l.startswith("bench:")).split()[1:])}
pp = json.load(open(sys.argv[2]))[0]["avg_ts"]
tg = json.load(open(sys.argv[3]))[0]["avg_ts"]
print("llama.cpp prefill %.1f tokens/s, decode %.2f tokens/s (after the same prompt length)" % (pp, tg))
print("== ratios (ocr2 / llama.cpp; > 1 means ocr2 is faster)")
print("%-18s %.2fx" % ("prefill", o["prefill_tps"] / pp))
print("%-18s %.2fx" % ("decode", o["decode_tps"] / tg))
PY
fi
