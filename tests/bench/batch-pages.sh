#!/bin/bash
# Pages per hour over a 12-page A4 document (144 dpi: a 1024 view and 6 crops
# per page), two ocr2 binaries alternating on the same machine, so that the
# ratio is taken in one run: typically the release before batched decoding
# and the current one at its default --batch.
#   tests/bench/batch-pages.sh OLD_OCR2 NEW_OCR2 MODEL_DIR [ROUNDS (1)] [TOKENS (1000)] [PAGES (12)]
# Environment: THREADS (2), OLD_ARGS and NEW_ARGS (extra scan options, e.g.
# NEW_ARGS="--batch 4"). Random weights never produce EOS, so every page
# runs to TOKENS. Prints each run's seconds and pages/hour, then the ratio of
# the means (new / old; > 1: the new binary does more pages per hour).
set -euo pipefail
old=$1 new=$2 model=$3 rounds=${4:-1} tokens=${5:-1000} pages=${6:-12}
threads=${THREADS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A4 pages of different text, as a multi-page TIFF at 144 dpi
/usr/bin/python3 - "$work/doc.tif" "$pages" <<'PY'
import sys
from PIL import Image, ImageDraw
path, n = sys.argv[1], int(sys.argv[2])
w, h = round(210 / 25.4 * 144), round(297 / 25.4 * 144)
pages = []
for p in range(n):
    im = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(im)
    for line in range(60):
        d.text((90, 90 + line * 25), "Page %d, line %d: the quick brown fox %d" % (p + 1, line, p * line), fill=0)
    pages.append(im)
pages[0].save(path, save_all=True, append_images=pages[1:], dpi=(144, 144), compression="tiff_deflate")
PY
run() { # BINARY EXTRA_ARGS -> seconds
	local s e
	s=$(date +%s.%N)
	# exit 1 = pages truncated at TOKENS, as random weights always are
	# shellcheck disable=SC2086
	"$1" scan -q -m "$model" -t "$threads" --max-tokens "$tokens" -f jsonl $2 "$work/doc.tif" \
		>"$work/out.jsonl" 2>"$work/err" || { [ $? -eq 1 ] || { cat "$work/err" >&2; exit 1; }; }
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), threads $threads, $pages pages, $tokens tokens each"
tot_old=0 tot_new=0
for r in $(seq "$rounds"); do
	t=$(run "$old" "${OLD_ARGS:-}")
	printf 'round %d old %8.1f s  %6.1f pages/hour\n' "$r" "$t" "$(echo "3600 * $pages / $t" | bc -l)"
	tot_old=$(echo "$tot_old + $t" | bc -l)
	t=$(run "$new" "${NEW_ARGS:-}")
	printf 'round %d new %8.1f s  %6.1f pages/hour\n' "$r" "$t" "$(echo "3600 * $pages / $t" | bc -l)"
	tot_new=$(echo "$tot_new + $t" | bc -l)
done
printf 'pages/hour new / old: %.2fx\n' "$(echo "$tot_old / $tot_new" | bc -l)"
