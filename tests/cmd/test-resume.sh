#!/bin/bash
# Page-level resume (issue 18.1): a six-page PDF interrupted in the middle
# (SIGINT, SIGKILL), a failed page, a torn and a damaged journal: each re-run
# computes only the pages that are missing or failed (the stand-in logs every
# page it is asked for) and ends byte-identical to an uninterrupted run. A
# finished output is skipped only for the same input and the same options;
# journals are removed once their output is finished.
. "$CMD_TESTS/lib.sh"
need_stand_in
have_pdf || { echo "SKIP: this build reads no PDF"; exit 77; }
pdf=$TESTCACHE/bzip2-manual.pdf
[ -f "$pdf" ] || { echo "FAIL: $pdf missing (run testdata/fetch.sh)"; exit 1; }
pdfseparate -f 1 -l 6 "$pdf" "$T/p-%d.pdf" 2>/dev/null &&
	pdfunite "$T"/p-{1,2,3,4,5,6}.pdf "$T/six.pdf" 2>/dev/null || { echo "FAIL: pdfunite"; exit 1; }
DOC=$T/six.pdf
# every page's text names the page image it was made from
printf '<|ref|>title<|/ref|><|det|>[[10, 10, 500, 40]]<|/det|>\n# Page {image}\n\nThe end.' >"$T/canned"
stand_in "$T/canned"
export OCR2_STAND_IN_LOG=$T/log
# page by page (--batch 1): each interrupt below lands while one page is
# computed, every page before it written and journaled (test-scan-batch.sh
# interrupts batches)
scan() { "$OCR2" scan --batch 1 -r 20 "$@"; }
# in the background: $! is ocr2 itself, which the signals must reach
bg_scan() { exec "$OCR2" scan --batch 1 -r 20 "$@"; }
calls() { [ -f "$T/log" ] && grep -c . "$T/log" || echo 0; }
fresh_log() { rm -f "$T/log"; }
# the JSON with the timings taken out (they differ from run to run)
untimed() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["pages"]:
    p.pop("seconds")
print(json.dumps(d, sort_keys=True))' "$1"; }

# references: uninterrupted runs, and which page is which
mkdir -p "$T/ref"
fresh_log
scan -q "$DOC" -o "$T/ref/doc.md" || fail "reference run"
scan -q -f json "$DOC" -o "$T/ref/doc.json" || fail "reference json run"
[ "$(calls)" = 12 ] || fail "reference runs computed $(calls) pages, wanted 12"
head -6 "$T/log" >"$T/pages" # line N: page N's image
[ "$(sort -u "$T/pages" | wc -l)" = 6 ] || fail "the six pages are not told apart"
[ -e "$T/ref/.doc.md.ocr2-journal" ] && fail "a finished output left its journal"
[ -f "$T/ref/.doc.md.ocr2-done" ] || fail "a finished output has no done mark"

# the pages a run was asked for, as page numbers
asked() { [ -f "$T/log" ] && grep -nFxf "$T/log" "$T/pages" | cut -d: -f1 | tr '\n' ' '; }
# the pages a journal holds
journaled() { grep -a '^page [0-9]* [0-9]* [0-9a-f]*$' "$1" | cut -d' ' -f2 | tr '\n' ' '; }

# ---- 1. SIGINT at page 3 of 6, then a re-run --------------------------------------
mkdir -p "$T/int"
fresh_log
OCR2_STAND_IN_DELAY_MS=400 bg_scan -q "$DOC" -o "$T/int/doc.md" 2>"$T/err" &
pid=$!
for _ in $(seq 100); do [ "$(calls)" -ge 3 ] && break; sleep 0.05; done
sleep 0.2
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "SIGINT: exit $rc, wanted 130"
[ -e "$T/int/doc.md" ] && fail "SIGINT: an output was written for an unfinished document"
ls -A "$T/int" | grep -q '\.tmp' && fail "SIGINT left a temporary file: $(ls -A "$T/int")"
J=$T/int/.doc.md.ocr2-journal
[ "$(journaled "$J")" = "1 2 " ] || fail "SIGINT at page 3: journal holds pages '$(journaled "$J")', wanted 1 2"
fresh_log
scan "$DOC" -o "$T/int/doc.md" 2>"$T/err" || fail "re-run after SIGINT: exit $?"
[ "$(asked)" = "3 4 5 6 " ] || fail "re-run after SIGINT computed pages '$(asked)', wanted 3 4 5 6"
cmp -s "$T/ref/doc.md" "$T/int/doc.md" || fail "re-run after SIGINT: not byte-identical to an uninterrupted run"
[ -e "$J" ] && fail "the journal stayed after the output was finished"
grep -q '4 ok, 0 truncated, 0 failed, 2 skipped (done before)' "$T/err" ||
	fail "summary after a resume: $(cat "$T/err")"

# ---- 2. SIGKILL in the middle of page 4 (and of a JSON output), then a re-run ----------------
for fmt in md json; do
	mkdir -p "$T/kill-$fmt"
	f=$T/kill-$fmt/doc.$fmt
	fresh_log
	OCR2_STAND_IN_DELAY_MS=400 bg_scan -q -f "$([ $fmt = md ] && echo markdown || echo json)" "$DOC" -o "$f" &
	pid=$!
	for _ in $(seq 100); do [ "$(calls)" -ge 4 ] && break; sleep 0.05; done
	sleep 0.2
	kill -KILL $pid
	wait $pid 2>/dev/null
	[ -e "$f" ] && fail "SIGKILL ($fmt): a partial output under the final name"
	[ "$(journaled "$T/kill-$fmt/.doc.$fmt.ocr2-journal")" = "1 2 3 " ] ||
		fail "SIGKILL at page 4 ($fmt): journal holds '$(journaled "$T/kill-$fmt/.doc.$fmt.ocr2-journal")'"
	fresh_log
	scan -q -f "$([ $fmt = md ] && echo markdown || echo json)" "$DOC" -o "$f" || fail "re-run after SIGKILL ($fmt)"
	[ "$(asked)" = "4 5 6 " ] || fail "re-run after SIGKILL ($fmt) computed pages '$(asked)', wanted 4 5 6"
	ls -A "$T/kill-$fmt" | grep -q '\.tmp\.' && fail "the killed run's temporary was not removed"
done
cmp -s "$T/ref/doc.md" "$T/kill-md/doc.md" || fail "re-run after SIGKILL: not byte-identical"
[ "$(untimed "$T/ref/doc.json")" = "$(untimed "$T/kill-json/doc.json")" ] ||
	fail "JSON re-run after SIGKILL differs from an uninterrupted run (timings aside)"
python3 - "$T/kill-json/doc.json" <<'X' || fail "JSON: journaled pages do not keep their own timings"
import json, sys
s = [p['seconds'] for p in json.load(open(sys.argv[1]))['pages']]
assert all(x >= 0.39 for x in s[:3]) and all(x < 0.39 for x in s[3:]), s
X

# ---- 3. a torn last record (a crash in the middle of a write) -------------------------
mkdir -p "$T/torn"
J=$T/torn/.doc.md.ocr2-journal
fresh_log
OCR2_STAND_IN_DELAY_MS=300 bg_scan -q "$DOC" -o "$T/torn/doc.md" &
pid=$!
for _ in $(seq 100); do [ "$(calls)" -ge 3 ] && break; sleep 0.05; done
sleep 0.1
kill -KILL $pid
wait $pid 2>/dev/null
[ "$(journaled "$J")" = "1 2 " ] || fail "torn: journal holds '$(journaled "$J")' before the cut"
size=$(stat -c %s "$J")
truncate -s $((size - 7)) "$J" # page 2's record loses its end
fresh_log
scan "$DOC" -o "$T/torn/doc.md" 2>"$T/err" || fail "re-run over a torn journal: exit $?"
[ "$(asked)" = "2 3 4 5 6 " ] || fail "torn journal: computed '$(asked)', wanted 2 3 4 5 6"
grep -q notice "$T/err" && fail "a torn last record is not worth a notice: $(cat "$T/err")"
cmp -s "$T/ref/doc.md" "$T/torn/doc.md" || fail "torn journal: not byte-identical"

# a journal kept for -p 1-3 serves the whole document: a page's record does
# not depend on the page list
mkdir -p "$T/sel"
OCR2_STAND_IN_FAIL=3 scan -q "$DOC" -p 1-3 -o "$T/sel/doc.md" 2>/dev/null
[ "$(journaled "$T/sel/.doc.md.ocr2-journal")" = "1 2 " ] || fail "-p 1-3 with page 3 failed: journal"
fresh_log
scan -q "$DOC" -o "$T/sel/doc.md" || fail "the whole document after -p 1-3"
[ "$(asked)" = "3 4 5 6 " ] || fail "the whole document after -p 1-3 computed '$(asked)'"
cmp -s "$T/ref/doc.md" "$T/sel/doc.md" || fail "the whole document after -p 1-3: not byte-identical"

# ---- 4. a damaged journal is not trusted ---------------------------------------------------
mkdir -p "$T/bad"
fresh_log
OCR2_STAND_IN_DELAY_MS=300 bg_scan -q "$DOC" -o "$T/bad/doc.md" &
pid=$!
for _ in $(seq 100); do [ "$(calls)" -ge 4 ] && break; sleep 0.05; done
sleep 0.1
kill -KILL $pid
wait $pid 2>/dev/null
J=$T/bad/.doc.md.ocr2-journal
python3 - "$J" <<'X'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.index(b'# Page ') + 8 # inside page 1's record
b[i] ^= 0x20
open(sys.argv[1], 'wb').write(b)
X
fresh_log
scan "$DOC" -o "$T/bad/doc.md" 2>"$T/err" || fail "re-run over a damaged journal: exit $?"
[ "$(asked)" = "1 2 3 4 5 6 " ] || fail "damaged journal: computed '$(asked)', wanted every page"
[ "$(grep -c "notice: $J: not a journal ocr2 can trust" "$T/err")" = 1 ] ||
	fail "damaged journal: no one-line notice: $(cat "$T/err")"
cmp -s "$T/ref/doc.md" "$T/bad/doc.md" || fail "damaged journal: not byte-identical"
printf 'garbage' >"$T/bad/.other.md.ocr2-journal"
scan -q "$DOC" -o "$T/bad/other.md" 2>"$T/err" || fail "-q over a damaged journal"
[ -s "$T/err" ] && fail "-q printed a notice: $(cat "$T/err")"

# ---- 5. a failed page: the output is written, the page is redone by the next run ----------
mkdir -p "$T/fail"
fresh_log
OCR2_STAND_IN_FAIL=3 scan "$DOC" -o "$T/fail/doc.md" 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "failed page: exit $rc, wanted 1"
grep -q '<!-- page 3: error: stand-in' "$T/fail/doc.md" || fail "failed page: not marked in the output"
[ -e "$T/fail/.doc.md.ocr2-done" ] && fail "an output with a failed page is marked done"
[ "$(journaled "$T/fail/.doc.md.ocr2-journal")" = "1 2 4 5 6 " ] || fail "failed page: journal holds '$(journaled "$T/fail/.doc.md.ocr2-journal")'"
fresh_log
scan -q "$DOC" -o "$T/fail/doc.md" || fail "re-run after a failed page: exit $?"
[ "$(asked)" = "3 " ] || fail "re-run after a failed page computed '$(asked)', wanted 3"
cmp -s "$T/ref/doc.md" "$T/fail/doc.md" || fail "re-run after a failed page: not byte-identical"
[ -e "$T/fail/.doc.md.ocr2-journal" ] && fail "journal left after the failed page was redone"

# ---- 6. a finished output: skipped for the same request only ---------------------------------
mkdir -p "$T/same"
scan -q "$DOC" -o "$T/same/x.md"
fresh_log
scan "$DOC" -o "$T/same/x.md" 2>"$T/err" || fail "same request: exit $?"
[ "$(calls)" = 0 ] || fail "same request: $(calls) pages computed again"
grep -q '1 input (1 done before, skipped: --force redoes them)' "$T/err" || fail "same request: $(cat "$T/err")"
mkdir -p "$T/imgs"
for opt in "-p 1-2" "-f json" "-f text" "--mode free" "--prompt Hello" "-r 21" "--max-tokens 30" \
	"--ngram 5" "--ngram-window 9" "--no-crop" "--images $T/imgs" "--image-links official"; do
	scan -q "$DOC" -o "$T/same/x.md" || fail "back to the first request before $opt"
	before=$(sha256sum <"$T/same/x.md")
	fresh_log
	# shellcheck disable=SC2086
	scan -q $opt "$DOC" -o "$T/same/x.md"
	[ "$(calls)" -gt 0 ] || fail "$opt: the old output was kept for a different request"
	case $opt in -p*|-f*|--max*) # (the stand-in's text ignores the prompt and has no figure)
		[ "$(sha256sum <"$T/same/x.md")" != "$before" ] || fail "$opt: output unchanged" ;;
	esac
done
# the same options in another order, and ones that shape nothing: still done
scan -q "$DOC" -o "$T/same/x.md" -r 20 --ngram 20
fresh_log
scan -q -t 1 -v --dump "$T/dump" "$DOC" -o "$T/same/x.md" 2>/dev/null
[ "$(calls)" = 0 ] || fail "-t/-v/--dump redid a finished output"
# another input under the same name: redone; the same bytes touched: redone
cp "$DOC" "$T/same/doc.pdf"
scan -q "$T/same/doc.pdf" -o "$T/same/y.md"
fresh_log
scan -q "$T/same/doc.pdf" -o "$T/same/y.md"
[ "$(calls)" = 0 ] || fail "the same file redone"
touch -d '2001-02-03' "$T/same/doc.pdf"
scan -q "$T/same/doc.pdf" -o "$T/same/y.md"
[ "$(calls)" = 6 ] || fail "a touched input: $(calls) pages, wanted 6"
cp "$FIX/three.pdf" "$T/same/doc.pdf"
fresh_log
scan -q "$T/same/doc.pdf" -o "$T/same/y.md"
[ "$(calls)" = 3 ] || fail "another input under the same name: $(calls) pages, wanted 3"
# --force redoes
fresh_log
scan -q --force "$T/same/doc.pdf" -o "$T/same/y.md"
[ "$(calls)" = 3 ] || fail "--force: $(calls) pages, wanted 3"
# an output without a done mark (another tool's file, or an older ocr2's) is redone
echo "someone else's" >"$T/same/z.md"
fresh_log
scan -q "$DOC" -o "$T/same/z.md"
[ "$(calls)" = 6 ] && cmp -s "$T/ref/doc.md" "$T/same/z.md" || fail "an unmarked file was not redone"
# standard input: its bytes are its identity
fresh_log
scan -q - -o "$T/same/s.md" <"$FIX/page.png" && scan -q - -o "$T/same/s.md" <"$FIX/page.png"
[ "$(calls)" = 1 ] || fail "stdin, the same bytes twice: $(calls) pages, wanted 1"
scan -q - -o "$T/same/s.md" <"$FIX/small.png"
[ "$(calls)" = 2 ] || fail "stdin, other bytes: not redone"

# ---- 7. abandoned journals: replaced when their output is made with other options --------
mkdir -p "$T/ab"
fresh_log
OCR2_STAND_IN_DELAY_MS=300 bg_scan -q "$DOC" -o "$T/ab/doc.md" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ "$(calls)" -ge 3 ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
fresh_log
scan -q --max-tokens 9 "$DOC" -o "$T/ab/doc.md"
[ "$(calls)" = 6 ] || fail "a journal made with other options was used"
[ -e "$T/ab/.doc.md.ocr2-journal" ] && fail "the abandoned journal stayed"
[ "$(ls -A "$T/ab" | tr '\n' ' ')" = ".doc.md.ocr2-done doc.md " ] || fail "left in the folder: $(ls -A "$T/ab")"
finish
