#!/bin/bash
# The bash and zsh completions (made at build time by 'ocr2 __complete' from
# the option tables that make --help): bash loads the script, 'complete -p'
# names its function, and with COMP_WORDS set as bash sets them every option
# that each command's --help prints completes after '-', the choices of -f,
# --mode and --image-links complete, and operands complete as files. zsh (when
# installed) parses its script and finds every option in it.
. "$CMD_TESTS/lib.sh"
BC=${OCR2_BASH_COMPLETION:?}
ZC=${OCR2_ZSH_COMPLETION:?}
[ -s "$BC" ] || { fail "$BC missing or empty"; finish; }

# the installed script is what the binary makes now
"$OCR2" __complete bash | cmp -s - "$BC" || fail "$BC is not 'ocr2 __complete bash'"
"$OCR2" __complete zsh | cmp -s - "$ZC" || fail "$ZC is not 'ocr2 __complete zsh'"

[ "$(bash -c ". '$BC' && complete -p ocr2")" = "complete -F _ocr2 ocr2" ] ||
	fail "complete -p ocr2: $(bash -c ". '$BC' && complete -p ocr2" 2>&1)"

# comp WORD... : what completing the last word offers, one per line
comp() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _ocr2
		printf "%s\n" "${COMPREPLY[@]}"' _ "$BC" "$OCR2" "$@" 2>"$T/comp-err"
}

# the commands, from 'ocr2 --help' and 'ocr2 model --help'
cmds=$("$OCR2" --help | awk '/^commands:/ {on = 1; next} on && !NF {exit} on {print $1}')
subs=$("$OCR2" model --help | awk '/^commands:/ {on = 1; next} on && !NF {exit} on {print $1}')
[ "$(comp "" | sort | tr '\n' ' ')" = "$(printf '%s\n' $cmds --help -h --version -V | sort | tr '\n' ' ')" ] ||
	fail "top level: $(comp "" | tr '\n' ' ')"
[ "$(comp model "" | grep -v '^-' | sort | tr '\n' ' ')" = "$(printf '%s\n' $subs | sort | tr '\n' ' ')" ] ||
	fail "model: $(comp model "" | tr '\n' ' ')"
comp sc | grep -qx scan || fail "'sc' does not complete to scan"
comp help mo | grep -qx model || fail "'help mo' does not complete to model"

n=0
check_cmd() { # check_cmd WORD... : every option in its --help completes
	"$OCR2" "$@" --help >"$T/help" || { fail "ocr2 $* --help"; return; }
	grep -oE '^  (-[A-Za-z], |    )--[a-z][a-z0-9-]*' "$T/help" | grep -oE -- '-[A-Za-z]\b|--[a-z][a-z0-9-]*' | sort -u >"$T/want"
	[ -s "$T/want" ] || { fail "ocr2 $* --help lists no option"; return; }
	comp "$@" - | sort -u >"$T/got"
	missing=$(comm -23 "$T/want" "$T/got" | tr '\n' ' ')
	[ -z "$missing" ] || fail "ocr2 $* -<TAB>: $missing missing (got $(tr '\n' ' ' <"$T/got"))"
	extra=$(comm -13 "$T/want" "$T/got" | tr '\n' ' ')
	[ -z "$extra" ] || fail "ocr2 $* -<TAB>: $extra not in --help"
	n=$((n + $(wc -l <"$T/want")))
	# and in the zsh script, inside this command's _arguments
	if [ -s "$ZC" ] && [ "$*" != model ]; then
		awk -v c="($*)" '{l = $0; sub(/^[ \t]+/, "", l)} l == c {on = 1; next} on && /;;/ {exit} on' "$ZC" >"$T/zsec"
		while read -r o; do
			grep -qE -- "(\\{|'|,)$o[+=]?[,}'\\[]" "$T/zsec" || fail "zsh: ocr2 $* has no $o"
		done <"$T/want"
	fi
}
for c in $cmds; do
	[ "$c" = help ] && continue
	check_cmd "$c"
done
for s in $subs; do check_cmd model "$s"; done
[ "$n" -gt 40 ] || fail "only $n options checked"

# values: choices, and --opt=value split at '=' as bash does
[ "$(comp scan -f "" | tr '\n' ' ')" = "markdown json jsonl text raw md " ] || fail "scan -f: $(comp scan -f "" | tr '\n' ' ')"
[ "$(comp scan --format = j | tr '\n' ' ')" = "json jsonl " ] || fail "scan --format=j: $(comp scan --format = j | tr '\n' ' ')"
[ "$(comp scan --mode "" | tr '\n' ' ')" = "document free " ] || fail "scan --mode: $(comp scan --mode "" | tr '\n' ' ')"
[ "$(comp scan --image-links o | tr '\n' ' ')" = "official " ] || fail "scan --image-links o"
[ -z "$(comp scan -r "")" ] || fail "scan -r offers something: $(comp scan -r "")"
# operands and paths: files; -m and --dump: directories
mkdir -p "$T/files/sub" && : >"$T/files/a.pdf"
[ "$(comp scan "$T/files/" | sort | tr '\n' ' ')" = "$T/files/a.pdf $T/files/sub " ] || fail "scan operands: $(comp scan "$T/files/" | tr '\n' ' ')"
[ "$(comp scan --dump "$T/files/" | tr '\n' ' ')" = "$T/files/sub " ] || fail "scan --dump: $(comp scan --dump "$T/files/" | tr '\n' ' ')"
comp scan -m "$T/files/" | grep -qx "$T/files/sub" || fail "scan -m: $(comp scan -m "$T/files/" | tr '\n' ' ')"
[ -s "$T/comp-err" ] && fail "bash said: $(cat "$T/comp-err")"

if command -v zsh >/dev/null; then
	zsh -n "$ZC" || fail "zsh -n $ZC"
	# compinit loads it as a completion function for ocr2
	mkdir -p "$T/zfunc" && cp "$ZC" "$T/zfunc/_ocr2"
	out=$(HOME=$T zsh -fc "fpath=('$T/zfunc' \$fpath); autoload -Uz compinit; compinit -u -d '$T/zcompdump'; print -r -- \${_comps[ocr2]}" 2>&1)
	[ "$out" = _ocr2 ] || fail "zsh compinit: ocr2 -> '$out'"
else
	echo "note: zsh not installed; its script not checked"
fi
finish
