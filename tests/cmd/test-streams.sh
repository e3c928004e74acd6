#!/bin/bash
# What ocr2 scan writes is what it says it wrote (issue 18.2-18.4): every
# write to standard output checked (/dev/full, a closed stdout, a closed pipe);
# -o names a FIFO, a device, a symbolic link or "-" and gets what it names; a
# replaced file keeps its mode and owner; JSON on stdout stays valid when
# interrupted; JSONL has a record for every input; Markdown and text arrive
# page by page; unknown token ids are dropped from the text, not fatal.
. "$CMD_TESTS/lib.sh"
need_stand_in
stand_in "$CANNED/doc.raw"
export OCR2_STAND_IN_LOG=$T/log
calls() { [ -f "$T/log" ] && grep -c . "$T/log" || echo 0; }
one_line() { # FILE PATTERN WHAT: FILE holds exactly one line, matching PATTERN
	[ "$(grep -c . "$1")" = 1 ] && grep -q "$2" "$1" || fail "$3: stderr: $(cat "$1")"
}

# ---- every write to standard output is checked --------------------------------
for fmt in markdown json jsonl text; do
	"$OCR2" scan -q -f $fmt "$FIX/page.png" >/dev/full 2>"$T/err"
	rc=$?
	[ $rc = 1 ] || fail "-f $fmt >/dev/full: exit $rc, wanted 1"
	one_line "$T/err" '^ocr2 scan: standard output: write error: No space left on device$' "-f $fmt >/dev/full"
done
"$OCR2" scan -q "$FIX/page.png" >&- 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail ">&-: exit $rc, wanted 1"
one_line "$T/err" '^ocr2 scan: standard output: write error: Bad file descriptor$' ">&-"
# a closed stdout is not a number for the outputs to take
"$OCR2" scan -q -o "$T/closed.md" "$FIX/page.png" >&- 2>"$T/err" || fail "-o FILE with stdout closed: exit $?"
[ -s "$T/err" ] && fail "-o FILE with stdout closed: $(cat "$T/err")"
grep -q '^<!-- page 1 -->$' "$T/closed.md" || fail "-o FILE with stdout closed: output $(head -c 100 "$T/closed.md")"
# stderr closed: messages do not land in an output
"$OCR2" scan -o "$T/closed2.md" "$FIX/page.png" 2>&- || fail "stderr closed: exit $?"
grep -q 'ocr2 scan:' "$T/closed2.md" && fail "stderr closed: a message went into the output"

# a closed pipe ends the run quietly, as SIGPIPE ends other tools, and no
# more pages are computed (--batch 1 here and below where timing counts: a
# batch computes up to its size ahead of what is written; test-scan-batch.sh)
rm -f "$T/log"
OCR2_STAND_IN_DELAY_MS=300 "$OCR2" scan --batch 1 -f jsonl "$FIX/page.png" "$FIX/small.png" "$FIX/page.png" \
	"$FIX/small.png" 2>"$T/err" | head -1 >"$T/first"
rc=${PIPESTATUS[0]}
[ $rc = 141 ] || fail "| head -1: exit $rc, wanted 141 (SIGPIPE)"
[ -s "$T/err" ] && fail "| head -1: stderr: $(cat "$T/err")"
[ "$(calls)" -le 2 ] || fail "| head -1: $(calls) pages computed after the reader left"
python3 -c 'import json,sys; json.loads(open(sys.argv[1]).read())' "$T/first" || fail "| head -1: no whole first line"

# ---- -o names what is written ------------------------------------------------------
# "-": standard output
"$OCR2" scan -q -o - "$FIX/page.png" >"$T/dash-out" || fail "-o -: exit $?"
[ -e ./- ] && fail "-o -: a file named '-'"
"$OCR2" scan -q "$FIX/page.png" >"$T/plain-out"
cmp -s "$T/dash-out" "$T/plain-out" || fail "-o - differs from standard output"
# a FIFO: written into, still a FIFO
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
"$OCR2" scan -q -f json -o "$T/fifo" "$FIX/page.png" || fail "-o FIFO: exit $?"
wait $reader
[ -p "$T/fifo" ] || fail "-o FIFO: the FIFO was replaced"
python3 -m json.tool "$T/from-fifo" >/dev/null || fail "-o FIFO: the reader got no JSON"
ls -A "$T" | grep -q '\.fifo\.' && fail "-o FIFO: journal, mark or temporary beside it: $(ls -A "$T")"
# a character device: written into, still the device (a private node, so
# that a bug could not replace the system's /dev/null)
if [ "$(id -u)" = 0 ] && mknod "$T/null" c 1 3 2>/dev/null; then
	"$OCR2" scan -q -o "$T/null" "$FIX/page.png" || fail "-o DEVICE: exit $?"
	[ -c "$T/null" ] || fail "-o DEVICE: the device node was replaced"
else
	echo "note: not root: -o on a private device node not checked"
fi
"$OCR2" scan -q -o /dev/null "$FIX/page.png" || fail "-o /dev/null: exit $?"
[ -c /dev/null ] || fail "/dev/null is no longer a device"
"$OCR2" scan -q -o /dev/stdout "$FIX/page.png" | cmp -s - "$T/plain-out" || fail "-o /dev/stdout into a pipe"
# a symbolic link: followed, its target replaced atomically, the link kept
mkdir -p "$T/real"
echo old >"$T/real/doc.md"
ln -s real/doc.md "$T/link.md"
"$OCR2" scan -q -o "$T/link.md" "$FIX/page.png" || fail "-o LINK: exit $?"
[ -L "$T/link.md" ] || fail "-o LINK: the link was replaced"
cmp -s "$T/real/doc.md" "$T/plain-out" || fail "-o LINK: the target does not hold the output"
[ -f "$T/real/.doc.md.ocr2-done" ] || fail "-o LINK: the done mark is not beside the target"
# a replaced file keeps its mode (and, as root, its owner)
echo old >"$T/private.md"
chmod 600 "$T/private.md"
[ "$(id -u)" = 0 ] && chown 65534:65534 "$T/private.md"
"$OCR2" scan -q --force -o "$T/private.md" "$FIX/page.png" || fail "--force over 0600: exit $?"
[ "$(stat -c %a "$T/private.md")" = 600 ] || fail "--force over a 0600 file: now $(stat -c %a "$T/private.md")"
if [ "$(id -u)" = 0 ]; then
	[ "$(stat -c %u:%g "$T/private.md")" = 65534:65534 ] || fail "the owner changed: $(stat -c %u:%g "$T/private.md")"
fi
cmp -s "$T/private.md" "$T/plain-out" || fail "--force over 0600: not rewritten"

# ---- streams are honest -----------------------------------------------------------
# JSON on stdout interrupted: still valid, and says so
OCR2_STAND_IN_DELAY_MS=1000 "$OCR2" scan -q --batch 1 -f json "$FIX/page.png" "$FIX/small.png" >"$T/int.json" 2>/dev/null &
pid=$!
sleep 1.4
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "-f json interrupted: exit $rc"
python3 - "$T/int.json" <<'X' || fail "-f json interrupted: not valid JSON lines: $(cat "$T/int.json")"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
assert len(docs) == 2 and 'interrupted' not in docs[0] and docs[1]['interrupted'] is True, docs
assert len(docs[0]['pages']) == 1 and docs[1]['pages'] == []
X
# JSONL: one record per input, unreadable ones included; so does -f json
mkdir -p "$T/mixed"
cp "$FIX/page.png" "$T/mixed/a.png"
cp "$FIX/truncated.png" "$T/mixed/b.png"
ln -s "$T/nowhere.png" "$T/mixed/c.png"
: >"$T/mixed/d.pdf"
cp "$FIX/small.png" "$T/mixed/e.png"
"$OCR2" scan -q -f jsonl "$T/mixed" >"$T/mixed.jsonl" 2>"$T/err"
[ $? = 1 ] || fail "JSONL over unreadable files: exit status"
"$OCR2" scan -q -f json "$T/mixed" >"$T/mixed.json" 2>/dev/null
python3 - "$T/mixed.jsonl" "$T/mixed.json" "$T/mixed" <<'X' || fail "a record for every input"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
docs = [json.loads(l) for l in open(sys.argv[2])]
d = sys.argv[3]
want = [d + '/' + n for n in ('a.png', 'b.png', 'c.png', 'd.pdf', 'e.png')]
assert [r['source'] for r in recs] == want, [r['source'] for r in recs]
assert [r['status'] for r in recs] == ['ok', 'error', 'error', 'error', 'ok']
# b.png opens and fails on its page: a page record; c (dangling) and d (empty)
# cannot be opened: an input record, with no page
assert recs[1]['page'] == 1 and recs[1]['width'] is None, recs[1]
for r in recs[2:4]:
    assert r['message'] and r['page'] is None and r['format'] is None and r['blocks'] == [], r
assert [x['source'] for x in docs] == want
assert [x.get('status') for x in docs] == [None, None, 'error', 'error', None]
assert docs[1]['pages'][0]['status'] == 'error'
assert all(x['pages'] == [] and x['message'] for x in docs[2:4])
X
[ "$(grep -c . "$T/err")" = 3 ] || fail "JSONL over unreadable files: stderr: $(cat "$T/err")"

# Markdown and text: each page's last line is out with its page, before the
# next page is done
if have_pdf; then
	for fmt in markdown text; do
		"$OCR2" scan -q -f $fmt -p 1-2 "$FIX/three.pdf" >"$T/whole.$fmt"
		OCR2_STAND_IN_DELAY_MS=1500 "$OCR2" scan -q --batch 1 -f $fmt -p 1-2 "$FIX/three.pdf" >"$T/paged.$fmt" &
		pid=$!
		sleep 2.2
		cp "$T/paged.$fmt" "$T/part.$fmt"
		wait $pid
		n=$(stat -c %s "$T/part.$fmt")
		[ "$n" -gt 0 ] && [ "$(tail -c 1 "$T/part.$fmt" | od -An -tx1 | tr -d ' ')" = 0a ] &&
			cmp -s "$T/part.$fmt" <(head -c "$n" "$T/whole.$fmt") ||
			fail "-f $fmt: page 1 not out whole while page 2 runs: $(tail -c 40 "$T/part.$fmt" | od -c | head -3)"
		case $fmt in markdown) grep -q 'page 2' "$T/part.$fmt" && fail "page 2 early?" ;; esac
		cmp -s "$T/paged.$fmt" "$T/whole.$fmt" || fail "-f $fmt page by page: other bytes"
	done
fi

# ---- a token the tokenizer does not have is dropped, not fatal -----------------------
TOK=$TESTCACHE/tokenizer.json
if [ -f "$TOK" ]; then
	printf 'Hello, world.' | "$OCR2" tokenize --tokenizer "$TOK" >"$T/ids"
	python3 - "$T/ids" <<'X' # 128900 and 129279: in the model's 129280 rows, not in the tokenizer
import sys
ids = open(sys.argv[1]).read().split()
open(sys.argv[1], 'w').write(' '.join(ids[:1] + ['128900'] + ids[1:] + ['129279']))
X
	OCR2_STAND_IN_IDS=$T/ids OCR2_STAND_IN_TOKENIZER=$TOK "$OCR2" scan -f json --dump "$T/dump" \
		"$FIX/page.png" >"$T/ids.json" 2>"$T/err"
	rc=$?
	[ $rc = 0 ] || fail "unknown token ids: exit $rc: $(cat "$T/err")"
	python3 - "$T/ids.json" "$T/dump/page/page-1/tokens.txt" "$T/ids" <<'X' || fail "unknown token ids"
import json, sys
p = json.load(open(sys.argv[1]))['pages'][0]
assert p['status'] == 'ok' and p['blocks'][0]['text'] == 'Hello, world.', p
toks = open(sys.argv[2]).read().split()
assert toks == open(sys.argv[3]).read().split() and '128900' in toks and '129279' in toks, toks
assert p['tokens'] == len(toks)
X
else
	echo "note: $TOK missing: unknown-id check not run"
fi
finish
