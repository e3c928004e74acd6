#!/bin/bash
# ocr2 scan exit codes: 0 all ok, 1 one bad file among good ones (the rest
# written), 2 usage, 3 model missing, 130 interrupted.
. "$CMD_TESTS/lib.sh"

# 2 and the help need no stand-in
expect_rc 0 "scan --help" -- "$OCR2" scan --help
grep -q -- '--format' "$T/out" || fail "scan --help does not list --format"
expect_rc 2 "unknown long option" -- "$OCR2" scan --no-such-flag "$FIX/page.png"
grep -q 'no-such-flag' "$T/err" || fail "unknown option not named on stderr"
[ "$(wc -l <"$T/err")" = 1 ] || fail "usage error is not one line"
expect_rc 2 "unknown short option" -- "$OCR2" scan -Z "$FIX/page.png"
expect_rc 2 "missing option value" -- "$OCR2" scan "$FIX/page.png" -f
expect_rc 2 "bad format" -- "$OCR2" scan -f docx "$FIX/page.png"
expect_rc 2 "bad mode" -- "$OCR2" scan --mode fancy "$FIX/page.png"
expect_rc 2 "bad page list" -- "$OCR2" scan -p 3-1 "$FIX/page.png"
expect_rc 2 "bad page list syntax" -- "$OCR2" scan -p x "$FIX/page.png"
expect_rc 2 "bad dpi" -- "$OCR2" scan -r 0 "$FIX/page.png"
expect_rc 2 "bad shard" -- "$OCR2" scan --shard 3/2 "$FIX/page.png"
expect_rc 2 "bad shard syntax" -- "$OCR2" scan --shard 1 "$FIX/page.png"
expect_rc 2 "bad max tokens" -- "$OCR2" scan --max-tokens 0 "$FIX/page.png"
expect_rc 2 "bad ngram" -- "$OCR2" scan --ngram -1 "$FIX/page.png"
expect_rc 2 "bad threads" -- "$OCR2" scan -t many "$FIX/page.png"
expect_rc 2 "no input" -- "$OCR2" scan
expect_rc 2 "several inputs to stdout as markdown" -- "$OCR2" scan "$FIX/page.png" "$FIX/small.png"
expect_rc 2 "stdin twice" -- "$OCR2" scan -f json - -

# 3: the model directory is missing (no stand-in)
unset OCR2_STAND_IN
expect_rc 3 "missing model dir" -- "$OCR2" scan -m "$T/nowhere" "$FIX/page.png"
grep -q "$T/nowhere" "$T/err" || fail "missing model: directory not named"
[ "$(wc -l <"$T/err")" = 1 ] || fail "missing model: not one line"
[ -s "$T/out" ] && fail "missing model: something on stdout"
expect_rc 3 "missing model via OCR2_MODEL" -- env OCR2_MODEL="$T/nowhere2" "$OCR2" scan "$FIX/page.png"
grep -q "nowhere2" "$T/err" || fail "OCR2_MODEL not used"
mkdir -p "$T/xdg/ocr2/models"
expect_rc 3 "missing model via XDG_DATA_HOME" -- env -u OCR2_MODEL XDG_DATA_HOME="$T/xdg" "$OCR2" scan "$FIX/page.png"
grep -q "$T/xdg/ocr2/models/deepseek-ocr-2" "$T/err" || fail "XDG_DATA_HOME fallback not used"
# a release build must never pick the stand-in, whatever the environment says
if [ "${STAND_IN_BUILD:-0}" != 1 ]; then
	expect_rc 3 "stand-in variable ignored without -Dstand_in" -- \
		env OCR2_STAND_IN="$CANNED/doc.raw" "$OCR2" scan -m "$T/nowhere" "$FIX/page.png"
	finish
fi

stand_in "$CANNED/doc.raw"
expect_rc 0 "one good image" -- "$OCR2" scan "$FIX/page.png"
[ -s "$T/out" ] || fail "nothing on stdout"
# stderr: the summary line only
[ "$(cat "$T/err")" = "ocr2 scan: 1 input; pages: 1 ok, 0 truncated, 0 failed, 0 skipped (done before); $(sed -n 's/.*; \([0-9.]*s\)$/\1/p' "$T/err")" ] ||
	fail "stderr on success is not the summary line: $(cat "$T/err")"
expect_rc 0 "one good image, -q" -- "$OCR2" scan -q "$FIX/page.png"
[ -s "$T/err" ] && fail "stderr not empty on success with -q: $(head -1 "$T/err")"
if have_docs; then
	expect_rc 0 "a JPEG" -- "$OCR2" scan "$FIX/photo.jpg"
	expect_rc 0 "stdin" -- sh -c '"$0" scan - <"$1"' "$OCR2" "$FIX/page.png"
	grep -q 'quoted' "$T/out" || fail "stdin: no output"
else
	echo "note: JPEG and stdin checks skipped (lib/document/doc.c not in this build)"
fi

# 1: one bad file among good ones; the good ones are written
mkdir -p "$T/in"
cp "$FIX/page.png" "$T/in/a.png"
cp "$FIX/truncated.png" "$T/in/b.png"
cp "$FIX/small.png" "$T/in/c.png"
expect_rc 1 "one corrupt file among good ones" -- "$OCR2" scan -o "$T/out1" "$T/in/a.png" "$T/in/b.png" "$T/in/c.png"
[ -s "$T/out1/a.md" ] && [ -s "$T/out1/c.md" ] || fail "good files not written next to a bad one"
[ -e "$T/out1/b.md" ] && fail "an output was written for the corrupt file"
[ "$(grep -c 'b.png' "$T/err")" = 1 ] || fail "the corrupt file is not named on exactly one stderr line"
expect_rc 1 "missing file among good ones" -- "$OCR2" scan -f jsonl "$T/in/a.png" "$T/in/missing.png" "$T/in/c.png"
grep -q 'missing.png' "$T/err" || fail "missing file not named"
# JSONL: a record for every input, the unreadable one included, in order
python3 - "$T/out" "$T/in" <<'X' || fail "missing file: not one record per input on stdout"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
d = sys.argv[2]
assert [r['source'] for r in recs] == [d + '/a.png', d + '/missing.png', d + '/c.png'], recs
assert [r['status'] for r in recs] == ['ok', 'error', 'ok']
e = recs[1]
assert e['page'] is None and e['format'] is None and 'missing.png' not in e['message'] and e['message'], e
assert e['blocks'] == [] and e['markdown'] is None and e['tokens'] == 0
X
expect_rc 1 "lying format" -- "$OCR2" scan "$FIX/lying.png"
grep -q 'lying.png' "$T/err" || fail "lying format: file not named"

# 1: a page fails in the model; the page is reported, not dropped
expect_rc 1 "failed page" -- env OCR2_STAND_IN_FAIL=1 "$OCR2" scan -f json "$FIX/page.png"
grep -q 'page.png: page 1: ' "$T/err" || fail "failed page: stderr does not name file and page"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["pages"][0]; assert p["status"]=="error" and p["message"], p' "$T/out" ||
	fail "failed page: JSON status is not error with a message"
# 1: a truncated page (hit --max-tokens)
expect_rc 1 "truncated page" -- "$OCR2" scan --max-tokens 40 -f json "$FIX/page.png"
grep -q 'page 1: truncated' "$T/err" || fail "truncated page not reported on stderr"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["pages"][0]; assert p["status"]=="truncated" and p["tokens"]==40, p' "$T/out" ||
	fail "truncated page: JSON status/tokens wrong"

# 130: SIGINT during a slow page; SIGTERM too
for sig in INT TERM; do
	rm -rf "$T/out130"
	OCR2_STAND_IN_DELAY_MS=20000 "$OCR2" scan -q -o "$T/out130" "$T/in/a.png" "$T/in/c.png" 2>"$T/err" &
	pid=$!
	sleep 1
	kill -"$sig" "$pid"
	start=$(date +%s)
	wait "$pid"
	rc=$?
	[ "$rc" = 130 ] || fail "SIG$sig: exit $rc, wanted 130"
	[ $(($(date +%s) - start)) -le 3 ] || fail "SIG$sig: took more than 3 s to stop"
	left=$(find "$T/out130" -type f 2>/dev/null | wc -l)
	[ "$left" = 0 ] || fail "SIG$sig: $left file(s) left in the output directory: $(find "$T/out130" -type f)"
done
finish
