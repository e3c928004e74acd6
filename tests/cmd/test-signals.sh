#!/bin/bash
# SIGINT and SIGTERM stop ocr2 scan within a second in every phase (issue
# 18.5), with exit status 130: a read of standard input blocked on a pipe or
# a terminal, the model loading, a page being computed, an output FIFO with
# no reader. (tests/pipeline/test-cancel.c shows the real model's load and
# encoder polling the same flag; test-resume.sh that what was finished is
# kept.)
. "$CMD_TESTS/lib.sh"
need_stand_in
stand_in "$CANNED/doc.raw"

# stopped SIG DESCRIPTION -- command...: start it, signal it after 0.5 s, and
# want exit 130 within a second of the signal
stopped() {
	local sig=$1 what=$2
	shift 3
	"$@" <&0 >"$T/out" 2>"$T/err" & # (<&0: else an async command reads /dev/null)
	local pid=$!
	sleep 0.5
	kill -0 $pid 2>/dev/null || { fail "$what: ended before the signal ($(cat "$T/err"))"; return; }
	local t0
	t0=$(date +%s%N)
	kill -"$sig" $pid
	wait $pid
	local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	[ $rc = 130 ] || fail "$what, SIG$sig: exit $rc, wanted 130 ($(head -2 "$T/err"))"
	[ $ms -le 1000 ] || fail "$what, SIG$sig: took $ms ms to stop"
	grep -q '^ocr2 scan: interrupted' "$T/err" || fail "$what, SIG$sig: no 'interrupted' line"
}

# standard input: a pipe that stays open and says nothing
mkfifo "$T/in"
exec 3<>"$T/in" # a writer that never writes: the read blocks
for sig in INT TERM; do
	stopped $sig "blocked stdin read (pipe)" -- "$OCR2" scan - <"$T/in"
done
exec 3>&-
# standard input: a terminal nobody types at
for sig in INT TERM; do
	python3 - "$OCR2" "$sig" <<'X' || fail "blocked stdin read (terminal), SIG$sig"
import os, pty, signal, subprocess, sys, time
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], 'scan', '-'], stdin=slave, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE)
time.sleep(0.5)
assert p.poll() is None, 'ended before the signal'
t0 = time.time()
p.send_signal(getattr(signal, 'SIG' + sys.argv[2]))
rc = p.wait(timeout=5)
dt = time.time() - t0
assert rc == 130 and dt <= 1.0, (rc, dt, p.stderr.read())
X
done

# the model loading (the stand-in's load polls the flag as the real one does)
for sig in INT TERM; do
	stopped $sig "model loading" -- env OCR2_STAND_IN_LOAD_MS=30000 "$OCR2" scan "$FIX/page.png"
done
# a page being computed (the stand-in's page polls it as the decoder does)
for sig in INT TERM; do
	stopped $sig "a page" -- env OCR2_STAND_IN_DELAY_MS=30000 "$OCR2" scan "$FIX/page.png"
	stopped $sig "a page, -o FILE" -- env OCR2_STAND_IN_DELAY_MS=30000 "$OCR2" scan -o "$T/o.md" "$FIX/page.png"
done
[ -e "$T/o.md" ] && fail "an interrupted page left an output"
# an output FIFO nobody reads: the open blocks
mkfifo "$T/out.fifo"
stopped INT "output FIFO without a reader" -- "$OCR2" scan -o "$T/out.fifo" "$FIX/page.png"
[ -p "$T/out.fifo" ] || fail "the FIFO is gone"

finish
