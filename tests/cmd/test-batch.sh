#!/bin/bash
# ocr2 scan batch rules: mirrored names under -o DIR, -o FILE, skip-done and
# --force, --shard K/N covering every input once, unwritable outputs.
. "$CMD_TESTS/lib.sh"
need_stand_in
stand_in "$CANNED/doc.raw"

# a tree: docs/a/b.png, docs/a/c/d.png, docs/top.png, plus files to ignore
mkdir -p "$T/docs/a/c" "$T/docs/.hidden"
cp "$FIX/page.png" "$T/docs/a/b.png"
cp "$FIX/small.png" "$T/docs/a/c/d.png"
cp "$FIX/small.png" "$T/docs/top.png"
cp "$FIX/small.png" "$T/docs/.hidden/h.png"
echo "not a document" >"$T/docs/a/notes.txt"

# without -R: only the directory's own files
expect_rc 0 "directory without -R" -- "$OCR2" scan -q -o "$T/flat" "$T/docs"
# (outputs are listed without the hidden done marks beside them)
[ "$(cd "$T/flat" && find . -type f -not -name '.*' | sort | tr '\n' ' ')" = "./top.md " ] ||
	fail "directory without -R: got $(cd "$T/flat" && find . -type f | tr '\n' ' ')"

# -R mirrors the tree; unsupported and hidden files are not taken
expect_rc 0 "recursive directory" -- "$OCR2" scan -q -R -o "$T/res" "$T/docs"
got=$(cd "$T/res" && find . -type f -not -name '.*' | sort | tr '\n' ' ')
[ "$got" = "./a/b.md ./a/c/d.md ./top.md " ] || fail "mirrored names: got '$got'"
for f in json jsonl text raw; do
	expect_rc 0 "-R -f $f" -- "$OCR2" scan -q -R -f "$f" -o "$T/out-$f" "$T/docs"
done
[ -s "$T/out-json/a/b.json" ] || fail "-f json: a/b.json missing"
[ -s "$T/out-jsonl/a/b.jsonl" ] || fail "-f jsonl: a/b.jsonl missing"
[ -s "$T/out-text/a/b.txt" ] || fail "-f text: a/b.txt missing"
[ -s "$T/out-raw/a/b.raw.txt" ] || fail "-f raw: a/b.raw.txt missing"
cmp -s <(printf '<!-- page 1 -->\n\n'; cat "$CANNED/doc.raw"; echo) "$T/out-raw/a/b.raw.txt" ||
	fail "-f raw is not the model text under a page comment"

# files given one by one land under their base names
expect_rc 0 "files to a directory" -- "$OCR2" scan -q -o "$T/files" "$T/docs/a/b.png" "$T/docs/top.png"
[ -s "$T/files/b.md" ] && [ -s "$T/files/top.md" ] || fail "files to -o DIR: b.md/top.md missing"
# one input and -o FILE; one input and an existing directory
expect_rc 0 "one input to a file" -- "$OCR2" scan -q -o "$T/single.md" "$FIX/page.png"
[ -f "$T/single.md" ] || fail "-o FILE not written"
mkdir -p "$T/existing"
expect_rc 0 "one input to an existing directory" -- "$OCR2" scan -q -o "$T/existing" "$FIX/page.png"
[ -f "$T/existing/page.md" ] || fail "-o existing DIR: page.md not written"
# two inputs with the same base name collide: the second is reported, not overwritten
expect_rc 1 "colliding names" -- "$OCR2" scan -q -o "$T/coll" "$T/docs/top.png" "$T/docs/top.png"
grep -q 'already written for another input' "$T/err" || fail "name collision not reported"

# skip-done: a finished output is not redone (its bytes stay), --force redoes it
echo "sentinel" >"$T/res/a/b.md"
touch -d '2000-01-01' "$T/res/a/c/d.md"
expect_rc 0 "re-run skips" -- "$OCR2" scan -R -o "$T/res" "$T/docs"
[ "$(cat "$T/res/a/b.md")" = sentinel ] || fail "re-run overwrote a finished output"
grep -q '3 inputs (3 done before, skipped: --force redoes them); pages: 0 ok' "$T/err" ||
	fail "re-run: no skip notice: $(cat "$T/err")"
expect_rc 0 "re-run -q is silent" -- "$OCR2" scan -q -R -o "$T/res" "$T/docs"
[ -s "$T/err" ] && fail "-q re-run printed: $(cat "$T/err")"
# a finished batch needs no model at all
expect_rc 0 "re-run without a model" -- env -u OCR2_STAND_IN "$OCR2" scan -q -R -o "$T/res" "$T/docs"
expect_rc 0 "--force redoes" -- "$OCR2" scan -q --force -R -o "$T/res" "$T/docs"
grep -q sentinel "$T/res/a/b.md" && fail "--force did not redo the output"
[ "$(find "$T/res/a/c/d.md" -newermt '2001-01-01' | wc -l)" = 1 ] || fail "--force did not rewrite d.md"

# in a directory, a file is taken when its bytes are a supported format or its
# name says it is a document: bad documents are reported, other files ignored
mkdir -p "$T/mixed"
cp "$FIX/small.png" "$T/mixed/ok.png"
cp "$FIX/small.png" "$T/mixed/no-extension"
cp "$FIX/lying.png" "$T/mixed/lying.png"
: >"$T/mixed/empty.PDF"
ln -s "$T/nowhere.jpg" "$T/mixed/dangling.jpg"
echo "notes" >"$T/mixed/notes.txt"
expect_rc 1 "bad documents in a directory" -- "$OCR2" scan -q -o "$T/mixed-out" "$T/mixed"
[ "$(cd "$T/mixed-out" && ls | tr '\n' ' ')" = "no-extension.md ok.md " ] ||
	fail "mixed directory outputs: $(ls "$T/mixed-out" | tr '\n' ' ')"
for f in lying.png empty.PDF dangling.jpg; do
	[ "$(grep -c "/mixed/$f: " "$T/err")" = 1 ] || fail "mixed directory: $f not reported once"
done
grep -q notes.txt "$T/err" && fail "mixed directory: notes.txt reported"
[ "$(wc -l <"$T/err")" = 3 ] || fail "mixed directory: $(wc -l <"$T/err") stderr lines, wanted 3"

# a temporary file left by a killed run is removed when its output is written
: >"$T/res/a/.b.md.tmp.Ab12Cd"
expect_rc 0 "--force after a killed run" -- "$OCR2" scan -q --force -o "$T/res" -R "$T/docs"
[ -e "$T/res/a/.b.md.tmp.Ab12Cd" ] && fail "stale temporary file not removed"

# --shard K/N: every input exactly once across K = 1..N
mkdir -p "$T/many/sub"
for i in $(seq 1 13); do cp "$FIX/small.png" "$T/many/f$i.png"; done
for i in $(seq 1 4); do cp "$FIX/small.png" "$T/many/sub/g$i.png"; done
for n in 1 2 3 5; do
	rm -rf "$T/sh"
	for k in $(seq 1 $n); do
		expect_rc 0 "--shard $k/$n" -- "$OCR2" scan -q -R --shard "$k/$n" -f jsonl -o "$T/sh/$k" "$T/many"
	done
	total=$(cd "$T/sh" && find . -name '*.jsonl' | sed 's|^\./[0-9]*/||' | sort)
	uniq=$(echo "$total" | sort -u)
	[ "$(echo "$total" | wc -l)" = 17 ] || fail "--shard */$n: $(echo "$total" | wc -l) outputs, wanted 17"
	[ "$total" = "$uniq" ] || fail "--shard */$n: an input was processed twice"
	[ "$(echo "$uniq" | wc -l)" = 17 ] || fail "--shard */$n: an input was missed"
done
# the slice depends on the mirrored name only, not on where the folder is mounted
cp -r "$T/many" "$T/elsewhere"
a=$("$OCR2" scan -q -R --shard 2/3 -f jsonl "$T/many" | python3 -c 'import json,sys; print(sorted(json.loads(l)["source"].split("/many/")[1] for l in sys.stdin))')
b=$("$OCR2" scan -q -R --shard 2/3 -f jsonl "$T/elsewhere" | python3 -c 'import json,sys; print(sorted(json.loads(l)["source"].split("/elsewhere/")[1] for l in sys.stdin))')
[ "$a" = "$b" ] || fail "--shard depends on the folder's path: $a vs $b"

# unwritable output directory: one line per file, exit 1, nothing left behind
mkdir -p "$T/ro"
chmod 555 "$T/ro"
if [ "$(id -u)" = 0 ] || touch "$T/ro/probe" 2>/dev/null; then
	echo "note: unwritable-directory check skipped (running as root)"
	rm -f "$T/ro/probe"
	# a path under a regular file cannot be created, even by root
	expect_rc 1 "output under a regular file" -- "$OCR2" scan -q -o "$T/single.md/x" "$FIX/page.png" "$FIX/small.png"
	[ "$(grep -c 'cannot create' "$T/err")" = 2 ] || fail "output under a file: not one line per input"
else
	expect_rc 1 "unwritable output directory" -- "$OCR2" scan -q -o "$T/ro/out" "$FIX/page.png" "$FIX/small.png"
	[ "$(grep -c 'cannot create' "$T/err")" = 2 ] || fail "unwritable: not one line per input"
fi
chmod 755 "$T/ro"
expect_rc 1 "unwritable -o FILE" -- "$OCR2" scan -q -o "$T/nodir/../single.md/x.md" "$FIX/page.png"
finish
