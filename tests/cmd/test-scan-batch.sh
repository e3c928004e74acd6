#!/bin/bash
# ocr2 scan --batch: several pages in flight, across the pages of a document
# and across inputs, ending out of order (the stand-in's OCR2_STAND_IN_STEPS
# keeps pages for extra decode steps), yet written in input and page order
# with the same bytes as page by page (--batch 1): markdown, json and jsonl
# on standard output and under -o DIR, a failing page, --skip-text, journaled
# pages replayed, an interrupted run resumed, --shard; bad --batch values;
# then the tiny model's real output, batch-invariant end to end.
. "$CMD_TESTS/lib.sh"
need_stand_in
have_pdf || { echo "SKIP: this build reads no PDF"; exit 77; }

# every page's text names the page image it was made from
printf '<|ref|>title<|/ref|><|det|>[[10, 10, 500, 40]]<|/det|>\n# Page {image}\n\nThe end.' >"$T/canned"
stand_in "$T/canned"
# pages stay 7, 0, 3, 12 ... extra steps: page 2 ends before page 1, and so on
export OCR2_STAND_IN_STEPS=7,0,3,12,1,5,0,9
scan() { "$OCR2" scan -r 20 "$@"; }
# JSON without the timings (they differ from run to run)
untimed() { sed 's/"seconds":[0-9.]*,//g' "$@"; }

# a six-page PDF when the test cache has its source, else three.pdf again
SIX=$FIX/three.pdf
pdf=$TESTCACHE/bzip2-manual.pdf
if [ -f "$pdf" ] && pdfseparate -f 1 -l 6 "$pdf" "$T/p-%d.pdf" 2>/dev/null &&
	pdfunite "$T"/p-{1,2,3,4,5,6}.pdf "$T/six.pdf" 2>/dev/null; then
	SIX=$T/six.pdf
fi
INPUTS=("$FIX/three.pdf" "$FIX/page.png" "$SIX" "$FIX/small.png" "$FIX/three.pdf")

# ---- page order: the pages' images, as page by page asks for them ------------------
OCR2_STAND_IN_LOG=$T/order.log scan -q --batch 1 -f jsonl "${INPUTS[@]}" >/dev/null ||
	fail "--batch 1 reference run"
sed 's/^/# Page /' "$T/order.log" >"$T/order.want"

# ---- standard output: one stream, the inputs one after another ----------------------
for fmt in json jsonl; do
	scan -q --batch 1 -f $fmt "${INPUTS[@]}" >"$T/b1.$fmt" 2>"$T/b1.err" || fail "-f $fmt --batch 1: exit $?"
	for b in 3 4; do
		scan -q --batch $b -f $fmt "${INPUTS[@]}" >"$T/b$b.$fmt" 2>"$T/b$b.err" ||
			fail "-f $fmt --batch $b: exit $?"
		cmp -s <(untimed "$T/b1.$fmt") <(untimed "$T/b$b.$fmt") ||
			fail "-f $fmt to stdout: --batch $b differs from --batch 1"
		# in order, explicitly: sources in argument order, pages 1..n each
		python3 - "$T/b$b.$fmt" "$fmt" "${INPUTS[@]}" <<'X' || fail "-f $fmt --batch $b: out of order"
import json, sys
text, fmt, want = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3:]
recs = [json.loads(l) for l in text.splitlines()]
if fmt == 'json':
    docs = recs
else: # jsonl: a record per page, those of one input one after another
    docs = []
    for r in recs:
        if not docs or docs[-1]['source'] != r['source']:
            docs.append({'source': r['source'], 'pages': []})
        docs[-1]['pages'].append(r)
assert [d['source'] for d in docs] == want, [d['source'] for d in docs]
for d in docs:
    assert [p['page'] for p in d['pages']] == list(range(1, len(d['pages']) + 1)), d['source']
X
	done
done
# the pages' texts in page order (page N's text names page N's image)
python3 - "$T/b4.jsonl" "$T/order.want" <<'X' || fail "--batch 4: a page's text is not in its place"
import json, sys
got = [json.loads(l)['markdown'].strip().split('\n')[0] for l in open(sys.argv[1])]
want = open(sys.argv[2]).read().split('\n')[:-1]
assert got == want, (got, want)
X

# ---- -o DIR: one file per input --------------------------------------------------------
for fmt in markdown json jsonl; do
	scan -q --batch 1 -f $fmt -o "$T/d1-$fmt" "${INPUTS[@]:0:4}" || fail "-o DIR -f $fmt --batch 1: exit $?"
	scan -q --batch 3 -f $fmt -o "$T/d3-$fmt" "${INPUTS[@]:0:4}" || fail "-o DIR -f $fmt --batch 3: exit $?"
	for f in $(cd "$T/d1-$fmt" && ls -A); do
		cmp -s <(untimed "$T/d1-$fmt/$f") <(untimed "$T/d3-$fmt/$f") ||
			fail "-o DIR -f $fmt: $f differs between --batch 1 and 3"
	done
	[ "$(ls -A "$T/d1-$fmt")" = "$(ls -A "$T/d3-$fmt")" ] ||
		fail "-o DIR -f $fmt: other files: $(ls -A "$T/d3-$fmt" | tr '\n' ' ')"
done
# markdown pages in page order
[ "$(grep -c '^# Page' "$T/d3-markdown/three.md")" = 3 ] || fail "three.md: not three pages"
grep '^# Page' "$T/d3-markdown/three.md" | cmp -s - <(head -3 "$T/order.want") ||
	fail "-o DIR markdown --batch 3: pages out of order"

# ---- a failing page: same outputs, messages and exit code -----------------------------
for b in 1 3; do
	OCR2_STAND_IN_FAIL=2,6 scan -f jsonl --batch $b "${INPUTS[@]}" >"$T/fail$b.jsonl" 2>"$T/fail$b.err"
	echo $? >"$T/fail$b.rc"
done
[ "$(cat "$T/fail1.rc")" = 1 ] || fail "a failed page, --batch 1: exit $(cat "$T/fail1.rc"), wanted 1"
[ "$(cat "$T/fail3.rc")" = 1 ] || fail "a failed page, --batch 3: exit $(cat "$T/fail3.rc"), wanted 1"
cmp -s <(untimed "$T/fail1.jsonl") <(untimed "$T/fail3.jsonl") || fail "a failed page: --batch 3 output differs"
# the messages too, but for the summary's time
cmp -s <(sed 's/; [0-9.hms]*$//' "$T/fail1.err") <(sed 's/; [0-9.hms]*$//' "$T/fail3.err") ||
	fail "a failed page: --batch 3 says other things: $(diff "$T/fail1.err" "$T/fail3.err" | head -4)"
[ "$(grep -c '"status":"error"' "$T/fail3.jsonl")" = 2 ] || fail "a failed page: not two error records"

# ---- --skip-text: pages with a text layer go without the model, in their place ----------
if [ "$SIX" != "$FIX/three.pdf" ]; then
	for b in 1 3; do
		scan -q --batch $b --skip-text -f jsonl "$FIX/page.png" "$SIX" "$FIX/three.pdf" \
			>"$T/skip$b.jsonl" || fail "--skip-text --batch $b: exit $?"
	done
	cmp -s <(untimed "$T/skip1.jsonl") <(untimed "$T/skip3.jsonl") || fail "--skip-text: --batch 3 differs"
	grep -q '"status":"text-layer"' "$T/skip3.jsonl" || fail "--skip-text: no text-layer page"
fi

# ---- journaled pages replayed among computed ones ---------------------------------------
mkdir -p "$T/rep"
scan -q --batch 1 -f json "$SIX" -o "$T/rep/ref.json" || fail "replay: reference run"
OCR2_STAND_IN_FAIL=2,4 scan -q --batch 3 -f json "$SIX" -o "$T/rep/doc.json"
[ -s "$T/rep/.doc.json.ocr2-journal" ] || fail "replay: no journal after failed pages"
OCR2_STAND_IN_LOG=$T/rep.log scan -q --batch 3 -f json "$SIX" -o "$T/rep/doc.json" ||
	fail "replay: re-run exit $?"
[ "$(grep -c . "$T/rep.log")" = 2 ] || fail "replay: re-run computed $(grep -c . "$T/rep.log") pages, wanted 2"
cmp -s <(untimed "$T/rep/ref.json") <(untimed "$T/rep/doc.json") || fail "replay: not the reference's output"

# ---- SIGINT with pages in flight, then a resume ----------------------------------------
mkdir -p "$T/int"
scan -q --batch 1 "$SIX" -o "$T/int/ref.md" || fail "SIGINT: reference run"
OCR2_STAND_IN_DELAY_MS=250 OCR2_STAND_IN_LOG=$T/int.log "$OCR2" scan -q -r 20 --batch 2 "$SIX" \
	-o "$T/int/doc.md" 2>"$T/int.err" &
pid=$!
for _ in $(seq 200); do [ -f "$T/int.log" ] && [ "$(grep -c . "$T/int.log")" -ge 3 ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "SIGINT --batch 2: exit $rc, wanted 130"
grep -q '^ocr2 scan: interrupted' "$T/int.err" || fail "SIGINT --batch 2: no 'interrupted' line"
[ -e "$T/int/doc.md" ] && fail "SIGINT --batch 2: an output for an unfinished document"
ls -A "$T/int" | grep -q '\.tmp' && fail "SIGINT --batch 2 left a temporary: $(ls -A "$T/int")"
# journaled in order: pages 1..k, none skipped
j=$(grep -a '^page [0-9]* [0-9]* [0-9a-f]*$' "$T/int/.doc.md.ocr2-journal" 2>/dev/null | cut -d' ' -f2 | tr '\n' ' ')
k=$(echo $j | wc -w)
[ "$j" = "$(seq -s ' ' 1 $k)${j:+ }" ] || fail "SIGINT --batch 2: journal holds pages '$j', not 1..k"
OCR2_STAND_IN_LOG=$T/int2.log scan -q --batch 3 "$SIX" -o "$T/int/doc.md" || fail "resume: exit $?"
n=$(grep -c '^# Page' "$T/int/ref.md")
[ "$(grep -c . "$T/int2.log")" = $((n - k)) ] ||
	fail "resume: computed $(grep -c . "$T/int2.log") pages, wanted $((n - k)) (journal: $j)"
cmp -s "$T/int/ref.md" "$T/int/doc.md" || fail "resume with --batch: not byte-identical"
# an interrupted JSON stream is closed validly
OCR2_STAND_IN_DELAY_MS=250 "$OCR2" scan -q -r 20 --batch 3 -f json "$SIX" "$FIX/three.pdf" \
	>"$T/int.json" 2>/dev/null &
pid=$!
sleep 1.2
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "SIGINT -f json --batch 3: exit $rc, wanted 130"
python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
assert d and d[-1]["interrupted"] is True, d' "$T/int.json" || fail "SIGINT -f json --batch 3: not valid JSON"

# ---- an output that fails with its pages in flight: they are dropped, the next inputs go on
for b in 1 3; do
	mkdir -p "$T/of$b/.three.md.ocr2-journal" # a journal that cannot be written
	scan --batch $b -o "$T/of$b" "${INPUTS[@]:0:4}" 2>"$T/of$b.err"
	echo $? >"$T/of$b.rc"
done
[ "$(cat "$T/of1.rc")" = 1 ] && [ "$(cat "$T/of3.rc")" = 1 ] || fail "a failed output: exit status, wanted 1"
diff -r "$T/of1" "$T/of3" >/dev/null || fail "a failed output with pages in flight: other outputs than --batch 1"
[ -s "$T/of3/six.md" ] && [ ! -e "$T/of3/three.md" ] || fail "a failed output: $(ls -A "$T/of3" | tr '\n' ' ')"
cmp -s <(sed 's/; [0-9.hms]*$//; s/of1/ofN/' "$T/of1.err") <(sed 's/; [0-9.hms]*$//; s/of3/ofN/' "$T/of3.err") ||
	fail "a failed output: --batch 3 says other things: $(cat "$T/of3.err")"

# ---- --shard: the slices together are the whole -----------------------------------------
scan -q --batch 1 -o "$T/sh-all" "${INPUTS[@]:0:4}" || fail "--shard: whole run"
for k in 1 2; do
	scan -q --batch 3 --shard $k/2 -o "$T/sh" "${INPUTS[@]:0:4}" || fail "--shard $k/2 --batch 3: exit $?"
done
diff -r "$T/sh-all" "$T/sh" >/dev/null || fail "--shard 1/2 + 2/2 with --batch 3: not the whole run"

# ---- bad values: the usual usage error ---------------------------------------------------
for v in -1 257 abc; do
	expect_rc 2 "--batch $v" -- "$OCR2" scan --batch "$v" "$FIX/page.png"
	[ "$(wc -l <"$T/err")" = 1 ] && grep -q -- '--batch' "$T/err" ||
		fail "--batch $v: not a one-line error naming --batch: $(cat "$T/err")"
done
expect_rc 0 "--batch 0 (the default size)" -- "$OCR2" scan -q --batch 0 "$FIX/page.png"

# ---- the tiny model: batch-invariant end to end -------------------------------------------
TINY=$TESTDATA/models/tiny
if [ -f "$TINY/config.json" ]; then
	unset OCR2_STAND_IN OCR2_STAND_IN_STEPS
	for b in 1 3; do
		"$OCR2" scan -q -m "$TINY" -t 2 --max-tokens 20 -r 20 --batch $b -f jsonl \
			"$FIX/three.pdf" "$FIX/page.png" >"$T/tiny$b.jsonl"
		[ $? = 1 ] || fail "tiny model --batch $b: exit status (pages truncated at 20 tokens: 1)"
		"$OCR2" scan -q -m "$TINY" -t 2 --max-tokens 20 -r 20 --batch $b -f markdown \
			-o "$T/tiny$b.md" "$FIX/three.pdf"
	done
	cmp -s <(untimed "$T/tiny1.jsonl") <(untimed "$T/tiny3.jsonl") ||
		fail "tiny model: -f jsonl --batch 3 differs from --batch 1"
	cmp -s "$T/tiny1.md" "$T/tiny3.md" || fail "tiny model: markdown --batch 3 differs from --batch 1"
	python3 - "$T/tiny3.jsonl" <<'X' || fail "tiny model --batch 3: pages out of order"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pages = [(r['source'].split('/')[-1], r['page']) for r in recs if 'page' in r]
assert pages == [('three.pdf', 1), ('three.pdf', 2), ('three.pdf', 3), ('page.png', 1)], pages
X
else
	echo "note: $TINY missing: the real model's batch invariance not checked"
fi

finish
