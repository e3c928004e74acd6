#!/bin/bash
# ocr2 model info|check on generated model directories: a good one, the
# published layout as a sparse file, and one hostile variant per problem.
# Each failure must exit 3 with exactly one line on stderr naming the problem.
# usage: cli.sh  (needs $OCR2; make-model.py sits beside this script)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

/usr/bin/python3 "$here/make-model.py" "$tmp" || { echo "make-model.py failed"; exit 1; }
/usr/bin/python3 "$here/make-model.py" --published "$tmp" || { echo "make-model.py --published failed"; exit 1; }

# run NAME WANT_RC ARGS...: captures stdout/stderr, checks the exit status
run() {
	local name=$1 want=$2
	shift 2
	"$OCR2" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	[ "$rc" = "$want" ] || fail "$name: exit $rc, want $want ($(head -c 300 "$tmp/err"))"
}
# bad NAME DIR PATTERN: model check on DIR exits 3 with one stderr line matching PATTERN
bad() {
	local name=$1 dir=$2 pat=$3
	run "$name" 3 model check -m "$dir"
	[ "$(wc -l <"$tmp/err")" = 1 ] || fail "$name: stderr is not one line: $(cat "$tmp/err")"
	grep -q -- "$pat" "$tmp/err" || fail "$name: stderr lacks '$pat': $(cat "$tmp/err")"
	[ ! -s "$tmp/out" ] || fail "$name: wrote to stdout: $(cat "$tmp/out")"
}

# help and usage errors
for sub in "" info check; do
	run "model $sub --help" 0 model $sub --help
	grep -q '^usage: ocr2 model' "$tmp/out" || fail "model $sub --help: no usage line"
done
run "model (no command)" 2 model
run "model bogus" 2 model bogus
run "check --bogus" 2 model check --bogus
grep -q "unknown option '--bogus'" "$tmp/err" || fail "check --bogus: $(cat "$tmp/err")"
run "info --no-scan" 2 model info --no-scan -m "$tmp/good"
run "check -m (no value)" 2 model check -m
run "check extra arg" 2 model check -m "$tmp/good" extra
run "quantize" 2 model quantize
grep -q "usage: ocr2 model quantize" "$tmp/err" || fail "quantize: $(cat "$tmp/err")"

# the good model: counts from make-model.py's own list (MODEL.md §2.2)
read -r n_tensors n_bytes <"$tmp/good.expect"
run "check good" 0 model check -m "$tmp/good"
[ "$(cat "$tmp/out")" = "ok: $n_tensors tensors" ] || fail "check good: $(cat "$tmp/out")"
run "check good-f32" 0 model check -m "$tmp/good-f32"
OCR2_MODEL="$tmp/good" run "check via OCR2_MODEL" 0 model check
run "info good" 0 model info -m "$tmp/good"
grep -qx "tensors: $n_tensors" "$tmp/out" || fail "info: tensor count: $(cat "$tmp/out")"
grep -q "^bytes: $n_bytes " "$tmp/out" || fail "info: bytes (want $n_bytes): $(cat "$tmp/out")"
grep -q "^dtypes: F32 [0-9]* ([0-9]* bytes) BF16 [0-9]* ([0-9]* bytes)$" "$tmp/out" ||
	fail "info: dtypes: $(grep dtypes "$tmp/out")"
grep -q "^sam: width 16, 3 blocks, 2 heads, mlp 24, window 7, global \[1\], neck 8, net_2 12$" \
	"$tmp/out" || fail "info: sam line: $(grep sam "$tmp/out")"

# the published layout (sparse): every name and shape, and load time
run "check published" 0 model check --no-scan -m "$tmp/published"
[ "$(cat "$tmp/out")" = "ok: 2707 tensors (values not scanned)" ] || fail "published: $(cat "$tmp/out")"
run "info published" 0 model info -m "$tmp/published"
grep -q "^bytes: 6778238720 " "$tmp/out" || fail "published bytes: $(grep bytes "$tmp/out")"
load=$(sed -n 's/^load: \([0-9.]*\) s.*/\1/p' "$tmp/out")
awk -v t="$load" 'BEGIN { exit !(t != "" && t < 1.0) }' || fail "published load took '$load' s"

# hostile directories
bad missing-dir "$tmp/does-not-exist" "does-not-exist: model directory not found"
bad no-config "$tmp/no-config" "no-config/config.json: cannot open"
bad no-tokenizer "$tmp/no-tokenizer" "no-tokenizer/tokenizer.json: missing"
bad no-weights "$tmp/no-weights" "no \*.safetensors files"
bad missing-tensor "$tmp/missing-tensor" "missing tensor model.layers.2.mlp.experts.3.up_proj.weight$"
bad missing-lm-head "$tmp/missing-lm-head" "missing tensor lm_head.weight$"
bad wrong-shape "$tmp/wrong-shape" \
	"tensor model.sam_model.net_3.weight has shape \[24,12,3,3\], expected \[16,12,3,3\]"
bad wrong-rel-pos "$tmp/wrong-rel-pos" \
	"tensor model.sam_model.blocks.1.attn.rel_pos_h has shape \[13,8\], expected \[127,8\]"
bad wrong-dtype "$tmp/wrong-dtype" \
	"tensor model.qwen2_model.query_768.weight has dtype I32, expected a float type"
bad nan "$tmp/nan" "tensor model.layers.0.mlp.down_proj.weight holds NaN"
bad inf "$tmp/inf" "tensor model.sam_model.pos_embed holds an infinity"
bad truncated "$tmp/truncated" "truncated/model.safetensors: tensor .* outside the data section"
bad hostile-header "$tmp/hostile-header" "hostile-header/model.safetensors: header length .* is absurd"
bad absurd-config "$tmp/absurd-config" "absurd-config/config.json: hidden_size must be an integer"
bad absurd-global "$tmp/absurd-global" "global_attn_indexes must be increasing block numbers"
# info fails the same way on what it cannot load
run "info truncated" 3 model info -m "$tmp/truncated"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "info truncated: $(cat "$tmp/err")"
# --no-scan skips the values
run "check nan --no-scan" 0 model check --no-scan -m "$tmp/nan"

if [ "$fails" != 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "all passed"
