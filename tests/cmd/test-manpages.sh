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

# every command in 'ocr2 --help' has its page, named in ocr2.1 ('help' is
# described in ocr2.1 itself)
"$OCR2" --help | awk '/^commands:/ {on = 1; next} on && !NF {exit} on {print $1}' >"$T/cmds"
[ -s "$T/cmds" ] || fail "'ocr2 --help' lists no commands"
while read -r c; do
	if [ "$c" = help ]; then
		grep -q '^\*help\*' "$MAN/ocr2.1.scd" || fail "ocr2.1 does not describe 'ocr2 help'"
		continue
	fi
	[ -f "$MAN/ocr2-$c.1.scd" ] || fail "no man page for 'ocr2 $c'"
	grep -q "\*ocr2-$c\*(1)" "$MAN/ocr2.1.scd" || fail "ocr2.1 does not refer to ocr2-$c(1)"
done <"$T/cmds"
[ -f "$MAN/ocr2-json.5.scd" ] || fail "man/ocr2-json.5.scd missing"

# every source in man/ is a page the build makes (no part left out), and
# every page renders without a warning, a stray escape or an scdoc leftover
B=${OCR2_MAN_BUILD:?}
for f in "$MAN"/*; do
	case $f in */meson.build) continue ;; esac
	case $f in
	*.scd) page=$(basename "$f" .scd) ;;
	*) fail "$(basename "$f"): not a page source (every file in man/ is NAME.SECTION.scd)"; continue ;;
	esac
	[ -s "$B/$page" ] || { fail "$page: not built (man/meson.build lists every page)"; continue; }
	scdoc <"$f" | cmp -s - "$B/$page" || fail "$page: the built page is not scdoc's output of $f"
	groff -k -man -Tutf8 -ww -z "$B/$page" 2>"$T/warn" || fail "$page: groff failed"
	[ -s "$T/warn" ] && fail "$page: groff warns: $(head -3 "$T/warn")"
	groff -k -man -Tutf8 -P-cbou "$B/$page" 2>/dev/null >"$T/text"
	[ "$(wc -l <"$T/text")" -gt 10 ] || fail "$page: renders to almost nothing"
	# a roff escape or request that reached the text, scdoc's own markup left
	# over (*bold*, _under_ around a word), a backslash eaten before n or t
	grep -nE '\\f[BIRP]|\\\(|\\&|^\.[A-Z]{1,2}( |$)' "$T/text" | head -3 >"$T/bad"
	grep -nE '(^|[ (])\*[A-Za-z-][^*]*\*([ ,.)]|$)' "$T/text" | head -3 >>"$T/bad"
	grep -nE '"n# |[^\\a-z]n[#<]|<image>n' "$T/text" | head -3 >>"$T/bad"
	[ -s "$T/bad" ] && fail "$page: $(cat "$T/bad")"
done
# the examples that once lost a backslash
groff -k -man -Tutf8 -P-cbou "$B/ocr2-json.5" 2>/dev/null | grep -qF '"markdown":"\n# Annual report"' ||
	fail "ocr2-json(5): the example's \\n is lost"
groff -k -man -Tutf8 -P-cbou "$B/ocr2-scan.1" 2>/dev/null | grep -qF '"<image>\nFree OCR."' ||
	fail "ocr2-scan(1): the prompt's \\n is lost"
finish
