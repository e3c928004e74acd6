#!/bin/bash
# ocr2 scan -f json / jsonl: valid JSON (python3 json), the documented fields,
# bboxes mapped from the 0..999 grid as int(v / 999 * size), and string
# escaping of quotes, backslashes, control characters, UTF-8 and bad bytes.
. "$CMD_TESTS/lib.sh"
need_stand_in
stand_in "$CANNED/doc.raw"

expect_rc 0 "-f json" -- "$OCR2" scan -f json "$FIX/page.png"
python3 -m json.tool "$T/out" >/dev/null || fail "-f json is not valid JSON"
[ "$(wc -l <"$T/out")" = 1 ] || fail "-f json: not one line per input"
python3 - "$T/out" "$CANNED/doc.raw" "$FIX/page.png" <<'X' || fail "-f json fields"
import json, re, sys
doc = json.load(open(sys.argv[1]))
raw = open(sys.argv[2], 'rb').read().decode('utf-8', 'replace')
assert doc['source'] == sys.argv[3], doc['source']
assert doc['format'] == 'png', doc['format']
assert len(doc['pages']) == 1
p = doc['pages'][0]
assert (p['page'], p['width'], p['height'], p['dpi'], p['status']) == (1, 400, 300, None, 'ok'), p
assert 'message' not in p
assert isinstance(p['seconds'], float) and p['seconds'] >= 0
assert p['tokens'] == len(raw), (p['tokens'], len(raw))  # stand-in: one token per character
# the reference: the tags found with the official regex, boxes mapped as the official scripts do
tags = re.findall(r'<\|ref\|>(.*?)<\|/ref\|><\|det\|>(.*?)<\|/det\|>', raw, re.DOTALL)
assert [b['label'] for b in p['blocks']] == [t[0] for t in tags], p['blocks']
for b, (label, det) in zip(p['blocks'], tags):
    want = [[int(x / 999 * 400), int(y / 999 * 300), int(x2 / 999 * 400), int(y2 / 999 * 300)]
            for x, y, x2, y2 in eval(det)]
    assert b['boxes'] == want, (b['boxes'], want)
    assert b['bbox'] == want[0]
assert p['blocks'][1]['bbox'] == [100, 60, 299, 179]
assert len(p['blocks'][2]['boxes']) == 2
assert p['blocks'][0]['text'] == '# A "quoted" title \\ with backslash', p['blocks'][0]['text']
t = p['blocks'][2]['text']
assert t == 'Tab\tand control \x01 char, 中文, emoji 😀, bad byte \ufffd here; x \\coloneqq y.', repr(t)
assert p['blocks'][3]['text'] == '<table><tr><td>1</td></tr></table>'
# no --images: no link to a file nobody writes (--image-links official keeps it)
assert p['markdown'].startswith('\n# A "quoted"') and '![](' not in p['markdown'], p['markdown']
assert 'x := y.' in p['markdown']
X
expect_rc 0 "-f json --image-links official" -- "$OCR2" scan -f json --image-links official "$FIX/page.png"
python3 -c "import json, sys; m = json.load(open(sys.argv[1]))['pages'][0]['markdown']; assert '![](images/0.jpg)\n' in m, m" "$T/out" || fail "--image-links official: no official link"
expect_rc 0 "-f json" -- "$OCR2" scan -f json "$FIX/page.png"
# a 204 x 98 dpi fax reaches the model with square pixels: 256x100 -> 256x208
expect_rc 0 "-f json fax" -- "$OCR2" scan -f json "$TESTDATA/docs/tiff-fax.tif"
python3 -c "import json, sys; p = json.load(open(sys.argv[1]))['pages'][0]; assert (p['width'], p['height']) == (256, 208), p" "$T/out" || fail "fax: not resampled to square pixels"
expect_rc 0 "-f json" -- "$OCR2" scan -f json "$FIX/page.png"
# the escapes themselves, byte for byte
grep -q '"# A \\"quoted\\" title \\\\ with backslash"' "$T/out" || fail "quote/backslash escapes"
grep -q 'control \\u0001 char' "$T/out" || fail "control character not written as \\u0001"
grep -q 'Tab\\tand' "$T/out" || fail "tab not written as \\t"

# every control character and invalid UTF-8 form round-trips through a JSON parser
python3 -c '
import sys
s = "".join(chr(c) for c in range(1, 32)) + "\x7f \"\\ é 中 😀 \u2028"
sys.stdout.buffer.write(s.encode() + b" \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 end")' >"$T/nasty.raw"
OCR2_STAND_IN=$T/nasty.raw "$OCR2" scan -f json "$FIX/small.png" >"$T/nasty.json" ||
	fail "nasty text: scan failed"
python3 - "$T/nasty.json" <<'X' || fail "nasty text does not round-trip through JSON"
import json, sys
p = json.load(open(sys.argv[1], encoding='utf-8'))['pages'][0]
t = p['blocks'][0]['text']
want = "".join(chr(c) for c in range(1, 32)) + "\x7f \"\\ é 中 😀 \u2028"
want = want.strip()
assert t.startswith(want), (t[:40], want[:40])
assert t.endswith(' end') and '\ufffd' in t and '\udc80' not in t, repr(t)
X

# every page object has the fields man/ocr2-json.5.scd lists as required, and no others
check_schema() {
	python3 - "$1" <<'X' || fail "$1: fields differ from the schema in ocr2-json(5)"
import json, sys
req = {'page', 'width', 'height', 'dpi', 'status', 'seconds', 'tokens', 'prompt_tokens',
       'malformed', 'blocks', 'markdown'}
allowed = req | {'source', 'format', 'message'}
for line in open(sys.argv[1]):
    obj = json.loads(line)
    pages = obj['pages'] if 'pages' in obj else [obj]
    if 'pages' in obj:
        assert set(obj) == {'source', 'format', 'pages'}, set(obj)
    for p in pages:
        assert req <= set(p) <= allowed, set(p) ^ req
        assert p['status'] in ('ok', 'truncated', 'error')
        assert ('message' in p) == (p['status'] == 'error')
        for b in p['blocks']:
            assert set(b) == {'label', 'bbox', 'boxes', 'text'}, set(b)
            assert all(len(x) == 4 and all(isinstance(v, int) and v >= 0 for v in x) for x in b['boxes'])
X
}
"$OCR2" scan -f json "$FIX/page.png" >"$T/s1.json"; check_schema "$T/s1.json"
"$OCR2" scan -f jsonl "$FIX/page.png" "$FIX/small.png" >"$T/s2.jsonl"; check_schema "$T/s2.jsonl"
OCR2_STAND_IN_FAIL=2 "$OCR2" scan -f jsonl --max-tokens 50 "$FIX/page.png" "$FIX/small.png" >"$T/s3.jsonl"
check_schema "$T/s3.jsonl"
[ "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["status"] for l in open(sys.argv[1])))' "$T/s3.jsonl")" = "truncated error" ] ||
	fail "statuses of a truncated and a failed page"

# jsonl: one object per page with the source, several inputs to stdout
expect_rc 0 "-f jsonl" -- "$OCR2" scan -f jsonl "$FIX/page.png" "$FIX/small.png"
[ "$(wc -l <"$T/out")" = 2 ] || fail "-f jsonl: not one line per page"
python3 - "$T/out" "$FIX" <<'X' || fail "-f jsonl fields"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l['source'] for l in lines] == [sys.argv[2] + '/page.png', sys.argv[2] + '/small.png']
assert [(l['width'], l['height'], l['page']) for l in lines] == [(400, 300, 1), (64, 48, 1)]
assert lines[1]['blocks'][1]['bbox'] == [int(250 / 999 * 64), int(200 / 999 * 48), int(749 / 999 * 64), int(598 / 999 * 48)]
X
# json with several inputs: one document object per line
expect_rc 0 "-f json, two inputs" -- "$OCR2" scan -f json "$FIX/page.png" "$FIX/small.png"
python3 -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; assert len(d)==2 and all(len(x["pages"])==1 for x in d)' "$T/out" ||
	fail "-f json with two inputs: not two objects"

# jsonl is streamed: the first page is out before the second is done
OCR2_STAND_IN_DELAY_MS=1500 "$OCR2" scan -q --batch 1 -f jsonl "$FIX/page.png" "$FIX/small.png" >"$T/stream" &
pid=$!
sleep 2.4
[ "$(wc -l <"$T/stream")" = 1 ] || fail "jsonl: first page not flushed while the second runs ($(wc -l <"$T/stream") lines)"
wait $pid
[ "$(wc -l <"$T/stream")" = 2 ] || fail "jsonl: 2 lines wanted at the end"

# free mode: no tags, one untagged block; markdown = text
stand_in "$CANNED/free.raw"
expect_rc 0 "--mode free" -- "$OCR2" scan --mode free -f json "$FIX/page.png"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["pages"][0]; b=p["blocks"]; assert len(b)==1 and b[0]["label"]=="" and b[0]["bbox"] is None and b[0]["boxes"]==[] and b[0]["text"]=="Plain text from Free OCR.\nSecond line.", b' "$T/out" ||
	fail "free mode blocks"

# a multi-page PDF: page numbers, pixel size at the dpi, -p
if have_pdf; then
	stand_in "$CANNED/doc.raw"
	expect_rc 0 "PDF json" -- "$OCR2" scan -f json -p 2- "$FIX/three.pdf"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]=="pdf"; assert [(p["page"],p["width"],p["height"],p["dpi"]) for p in d["pages"]]==[(2,576,432,144),(3,576,432,144)], d["pages"]' "$T/out" ||
		fail "PDF pages/size/dpi"
	expect_rc 0 "PDF json at 72 dpi" -- "$OCR2" scan -f jsonl -r 72 -p 1 "$FIX/three.pdf"
	python3 -c 'import json,sys; p=json.loads(open(sys.argv[1]).read()); assert (p["width"],p["height"],p["dpi"])==(288,216,72), p' "$T/out" ||
		fail "PDF at -r 72"
else
	echo "note: PDF checks skipped (lib/document/doc.c not in this build)"
fi
finish
