#!/bin/bash
# Every option that a subcommand's --help prints appears in its man page
# (man/*.scd), every command 'ocr2 --help' lists has a page, and every page
# builds with scdoc. Subcommands whose --help does not work yet are noted.
. "$CMD_TESTS/lib.sh"
MAN="$CMD_TESTS/../../man"

check_help() { # check_help PAGE SUBCOMMAND...
	local page=$1
	shift
	if ! "$OCR2" "$@" --help >"$T/help" 2>&1; then
		echo "note: 'ocr2 $* --help' does not work yet; not checked"
		return
	fi
	[ -f "$MAN/$page.scd" ] || { fail "man/$page.scd missing for 'ocr2 $*'"; return; }
	python3 - "$T/help" "$MAN/$page.scd" "ocr2 $*" <<'X' || fail "'ocr2 $* --help' options missing from man/$page.scd"
import re, sys
help_text = open(sys.argv[1]).read()
page = open(sys.argv[2]).read()
opts = sorted(set(re.findall(r'(?<![\w-])(--[a-z][a-z0-9-]*|-[A-Za-z])(?![\w-])', help_text)))
missing = [o for o in opts if not re.search(r'(?<![\w-])' + re.escape(o) + r'(?![\w-])', page)]
if missing:
    print('%s: %s not in %s' % (sys.argv[3], ' '.join(missing), sys.argv[2].split('/')[-1]))
    sys.exit(1)
X
}

check_help ocr2-scan.1 scan
check_help ocr2-render.1 render
check_help ocr2-model.1 model
for sub in fetch list info check quantize; do
	check_help ocr2-model.1 model "$sub"
done
check_help ocr2-tokenize.1 tokenize
check_help ocr2-bench.1 bench
check_help ocr2.1

# every command in 'ocr2 --help' has its page, named in ocr2.1
"$OCR2" --help | awk '/^commands:/ {on = 1; next} on && !NF {exit} on {print $1}' >"$T/cmds"
[ -s "$T/cmds" ] || fail "'ocr2 --help' lists no commands"
while read -r c; do
	[ -f "$MAN/ocr2-$c.1.scd" ] || fail "no man page for 'ocr2 $c'"
	grep -q "\*ocr2-$c\*(1)" "$MAN/ocr2.1.scd" || fail "ocr2.1 does not refer to ocr2-$c(1)"
done <"$T/cmds"
[ -f "$MAN/ocr2-json.5.scd" ] || fail "man/ocr2-json.5.scd missing"

if command -v scdoc >/dev/null; then
	for f in "$MAN"/*.scd; do
		scdoc <"$f" >"$T/page" 2>"$T/scdoc-err" || fail "$(basename "$f"): scdoc: $(cat "$T/scdoc-err")"
	done
else
	echo "note: scdoc not installed; pages not built"
fi
finish
