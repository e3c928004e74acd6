# lib.sh - shared by the command-line test scripts (tests/cmd, and
# tests/output/test-blocks.sh): a scratch directory, the stand-in
# model, and assertions that name what failed.
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/ocr2-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
FIX="$CMD_TESTS/fixtures"
CANNED="$CMD_TESTS/canned"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { :; }
# expect_rc WANT DESCRIPTION -- command...
expect_rc() {
	local want=$1 what=$2
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$what: exit $rc, wanted $want"
		sed 's/^/    stderr: /' "$T/err" | head -5
	fi
}
need_stand_in() {
	if [ "${STAND_IN_BUILD:-0}" != 1 ]; then
		echo "SKIP: needs a build with -Dstand_in=true"
		exit 77
	fi
}
# The stand-in answers every page with the text of $1.
stand_in() { export OCR2_STAND_IN=$1; unset OCR2_STAND_IN_FAIL OCR2_STAND_IN_DELAY_MS; }
# True when this build reads PDFs (lib/document/doc.c present, not the PNG-only shim).
have_pdf() { OCR2_STAND_IN=$CANNED/free.raw "$OCR2" scan -q -f raw "$FIX/three.pdf" >/dev/null 2>&1; }
# True when this build reads JPEG and stdin (lib/document/doc.c present).
have_docs() { OCR2_STAND_IN=$CANNED/free.raw "$OCR2" scan -q -f raw "$FIX/photo.jpg" >/dev/null 2>&1; }
finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	exit 0
}
export OCR2_MODEL=$T/no-model
