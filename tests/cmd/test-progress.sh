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

# results on the same terminal (no -o): no progress line at all, so nothing
# overwrites the last line of a page; the Markdown arrives whole
script -qec "'$OCR2' scan -p 1-2 '$FIX/three.pdf'" /dev/null >"$T/typescript" 2>&1 ||
	fail "scan to the terminal under script failed"
python3 - "$T/typescript" "$CANNED/doc.raw" <<'X' || fail "progress mixed with results on one terminal"
import sys
t = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace').replace('\r\n', '\n')
assert '\r' not in t and '\x1b[K' not in t and 'ETA' not in t, repr(t[:200])
assert '<!-- page 1 -->' in t and '<!-- page 2 -->' in t
assert t.rstrip('\n').splitlines()[-1].startswith('ocr2 scan: 1 input; pages: 2 ok')
X

# a narrow terminal: every drawing of the line fits in it (no wrapped line
# left behind), and the line is cleared before the summary
python3 - "$OCR2" "$FIX/page.png" "$FIX/small.png" "$T/narrow" <<'X' || fail "progress line wider than the terminal"
import fcntl, os, pty, struct, subprocess, sys, termios, time
ocr2, a, b, out = sys.argv[1:]
for cols in (30, 52):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, cols, 0, 0))
    p = subprocess.Popen([ocr2, 'scan', '-o', out + str(cols), a, b + ''], stdin=slave,
                         stdout=slave, stderr=slave)
    os.close(slave)
    data = b''
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    p.wait()
    t = data.decode('utf-8', 'replace')
    draws = [d for d in t.split('\r\x1b[K') if d and not d.startswith('ocr2 scan:')]
    assert draws, repr(t[:200])
    for d in draws:
        assert len(d) <= cols - 1, (cols, len(d), d)
        assert '\n' not in d, d
X

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
