/* output.h - what the page writers (pdf.c, hocr.c, draw.c) share: a block's
 * text as plain lines, its rectangle on the page, and the glyphless font. Private. */
#ifndef OCR2_OUTPUT_OUTPUT_H
#define OCR2_OUTPUT_OUTPUT_H

#include <stdint.h>

#include "base/buf.h"
#include "ocr2.h"

/* One line of a block as the text layers place it: valid UTF-8 without
 * control characters or characters XML 1.0 forbids, runs of spaces folded to
 * one, trimmed, never empty. */
typedef struct {
	char *text;
	int nchars; /* code points */
} out_line;

typedef struct {
	out_line *lines;
	int n;
} out_lines;

/* A block's text as the lines a reader would search for: the model's special
 * tokens (<|...|>, <｜...｜>, <image>) dropped, invalid UTF-8 as U+FFFD, HTML
 * table markup turned into one line per row with the cells' text separated
 * by spaces (entities decoded), Markdown heading marks removed, LaTeX kept as
 * its source. Blank lines are dropped; a block may have none. Fails only when
 * out of memory. */
ocr2_status out_block_lines(const ocr2_block *b, out_lines *out);
void out_lines_free(out_lines *l);

/* The block's rectangle on a w x h pixel page, r = {x0, y0, x1, y1} with
 * x0 < x1 <= w and y0 < y1 <= h: the rectangle enclosing its boxes, corners
 * mapped by ocr2_grid_to_pixel, at least one pixel each way. A block without
 * boxes (untagged text, `Free OCR.` output) covers the whole page. */
void out_block_rect(const ocr2_block *b, int w, int h, int r[4]);

/* The glyphless TrueType program (two empty glyphs, 1000 units per em, every
 * advance 500, ascent 800, descent -200), built from its table definitions. */
#define OUT_FONT_ADVANCE 500
#define OUT_FONT_ASCENT 800
#define OUT_FONT_DESCENT (-200)
void out_glyphless_ttf(ocr2_buf *b);
/* A ToUnicode CMap for 2-byte codes: code k (1..n) maps to cps[k-1], as one
 * UTF-16BE unit or a surrogate pair. */
void out_tounicode_cmap(const uint32_t *cps, int n, ocr2_buf *b);

#endif
