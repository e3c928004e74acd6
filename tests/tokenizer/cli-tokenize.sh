#!/bin/bash
# ocr2 tokenize: ids of the official prompt (MODEL.md §6, verified with
# Hugging Face tokenizers), text -> ids -> text round trips, the -m fallback,
# and the documented errors (invalid UTF-8: 1, usage: 2, no tokenizer: 3).
set -u
TOK="$TESTCACHE/tokenizer.json"
if [ ! -f "$TOK" ]; then
	echo "FAIL: $TOK is missing: run 'bash testdata/fetch.sh' first"
	exit 1
fi
fail=0
t() { # description, then a command that must succeed
	local what=$1
	shift
	if "$@"; then :; else echo "FAIL: $what"; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

got=$(printf '<image>\n<|grounding|>Convert the document to markdown.' | "$OCR2" tokenize --tokenizer "$TOK")
t "document prompt ids: '$got'" [ "$got" = "128815 201 128820 21842 270 4940 304 2121 7919 16" ]
got=$(printf '\nFree OCR.' | "$OCR2" tokenize --tokenizer "$TOK")
t "free prompt ids: '$got'" [ "$got" = "201 21431 126041 16" ]

# -m DIR reads DIR/tokenizer.json; so does $OCR2_MODEL
mkdir "$tmp/model"
cp "$TOK" "$tmp/model/tokenizer.json"
got=$(printf 'Hello' | "$OCR2" tokenize -m "$tmp/model")
t "-m DIR: '$got'" [ "$got" = "19923" ]
got=$(printf '12345' | OCR2_MODEL="$tmp/model" "$OCR2" tokenize)
t "OCR2_MODEL: '$got'" [ "$got" = "6895 1883" ]

# round trips, byte for byte (trailing newline and special tokens included)
printf 'Ünïcödé 日本語 😀 <|ref|>x<|/ref|><|det|>[[1, 2, 3, 4]]<|/det|>\r\n\ttab  \n' >"$tmp/in.txt"
head -c 4000 "$TESTDATA/tokenizer/corpus.jsonl" >>"$tmp/in.txt"
"$OCR2" tokenize --tokenizer "$TOK" <"$tmp/in.txt" >"$tmp/ids.txt"
t "encode exit status" [ $? -eq 0 ]
t "ids on one line" [ "$(wc -l <"$tmp/ids.txt")" -eq 1 ]
"$OCR2" tokenize --tokenizer "$TOK" --decode <"$tmp/ids.txt" >"$tmp/out.txt"
t "decode exit status" [ $? -eq 0 ]
t "round trip" cmp -s "$tmp/in.txt" "$tmp/out.txt"
printf '128815 201\n 128820\t1' | "$OCR2" tokenize --tokenizer "$TOK" -d >"$tmp/dec.txt"
printf '<image>\n<|grounding|><｜end▁of▁sentence｜>' >"$tmp/want.txt"
t "decode keeps special tokens" cmp -s "$tmp/dec.txt" "$tmp/want.txt"

# invalid UTF-8: exit 1, one line naming the byte offset, nothing on stdout
printf 'ok\xff' | "$OCR2" tokenize --tokenizer "$TOK" >"$tmp/o" 2>"$tmp/e"
rc=$?
t "invalid UTF-8 exit 1 (got $rc)" [ $rc -eq 1 ]
t "invalid UTF-8 message: $(cat "$tmp/e")" grep -q 'invalid UTF-8 at byte 2' "$tmp/e"
t "invalid UTF-8 one line" [ "$(wc -l <"$tmp/e")" -eq 1 ]
t "invalid UTF-8 no output" [ ! -s "$tmp/o" ]
# bad ids: exit 1
printf '1 2 x' | "$OCR2" tokenize --tokenizer "$TOK" --decode >/dev/null 2>"$tmp/e"
rc=$?
t "bad id exit 1 (got $rc)" [ $rc -eq 1 ]
# an id with no token is dropped, as tokenizers' decode drops it
printf '33 999999999 34' | "$OCR2" tokenize --tokenizer "$TOK" --decode >"$tmp/o" 2>"$tmp/e"
rc=$?
t "id with no token: exit 0 (got $rc)" [ $rc -eq 0 ]
printf '33 34' | "$OCR2" tokenize --tokenizer "$TOK" --decode >"$tmp/want"
t "id with no token dropped" cmp -s "$tmp/o" "$tmp/want"

# usage and missing tokenizer
"$OCR2" tokenize --help >"$tmp/o"
t "--help exit 0" [ $? -eq 0 ]
t "--help text" grep -q 'usage: ocr2 tokenize' "$tmp/o"
"$OCR2" tokenize --bogus </dev/null 2>/dev/null
rc=$?
t "bad flag exit 2 (got $rc)" [ $rc -eq 2 ]
"$OCR2" tokenize -m </dev/null 2>/dev/null
rc=$?
t "-m without DIR exit 2 (got $rc)" [ $rc -eq 2 ]
printf x | "$OCR2" tokenize -m "$tmp/nowhere" >/dev/null 2>"$tmp/e"
rc=$?
t "missing tokenizer exit 3 (got $rc)" [ $rc -eq 3 ]
t "missing tokenizer message" grep -q "nowhere/tokenizer.json" "$tmp/e"
printf '{"model": {}}' >"$tmp/model/tokenizer.json"
printf x | "$OCR2" tokenize -m "$tmp/model" >/dev/null 2>"$tmp/e"
rc=$?
t "invalid tokenizer exit 3 (got $rc)" [ $rc -eq 3 ]

[ $fail -eq 0 ] && echo "ok"
exit $fail
