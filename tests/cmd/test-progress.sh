#!/bin/bash
# The progress line: drawn on stderr only when stderr is a TTY (run under
# script(1) from util-linux), \r-updated, cleared at the end; nothing when
# stderr is a pipe or a file, and nothing with -q.
. "$CMD_TESTS/lib.sh"
need_stand_in
stand_in "$CANNED/doc.raw"
command -v script >/dev/null || { echo "SKIP: script(1) not installed"; exit 77; }
export OCR2_STAND_IN_DELAY_MS=600

# on a TTY: the line names pages done/total, tokens/s and an ETA, and is cleared
script -qec "'$OCR2' scan -o '$T/tty' '$FIX/page.png' '$FIX/small.png'" /dev/null >"$T/typescript" 2>&1 ||
	fail "scan under script failed: $(cat "$T/typescript")"
python3 - "$T/typescript" <<'X' || fail "progress line on a TTY"
import sys
t = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace')
assert '\r' in t, 'no carriage return'
assert 'pages 1/2' in t, 'no pages done/total'
assert 'tok/s' in t and 'ETA' in t, 'no tokens/s or ETA'
assert '[2/2]' in t, 'no file counter'
# the line is cleared at the end: after the last clearing sequence comes
# the summary line alone
last = t.rsplit('\r\x1b[K', 1)[1]
assert last.startswith('ocr2 scan: 2 inputs; pages: 2 ok') and last.count('\n') == 1, repr(t[-80:])
X
[ -s "$T/tty/page.md" ] && [ -s "$T/tty/small.md" ] || fail "outputs missing under script"

# with -q on a TTY: nothing
script -qec "'$OCR2' scan -q -o '$T/ttyq' '$FIX/page.png'" /dev/null >"$T/typescript" 2>&1
[ -s "$T/typescript" ] && fail "-q on a TTY printed: $(od -c "$T/typescript" | head -3)"

# piped or redirected: no progress, only the summary line
"$OCR2" scan -o "$T/pipe" "$FIX/page.png" "$FIX/small.png" 2>&1 | cat >"$T/piped"
[ "$(grep -c . "$T/piped")" = 1 ] && grep -q '^ocr2 scan: 2 inputs; pages: 2 ok' "$T/piped" &&
	! grep -q "$(printf '\r')" "$T/piped" || fail "progress written to a pipe: $(od -c "$T/piped" | head -3)"
"$OCR2" scan -o "$T/file" "$FIX/page.png" 2>"$T/errfile"
[ "$(grep -c . "$T/errfile")" = 1 ] && ! grep -q "$(printf '\r')" "$T/errfile" ||
	fail "progress written to a file: $(od -c "$T/errfile" | head -3)"
finish
