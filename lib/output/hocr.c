/* hocr.c - hOCR 1.2 (well-formed XHTML) from the model's blocks: one
 * ocr_carea/ocr_par per block, with line and word boxes estimated inside it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/unicode.h"
#include "ocr2-config.h"
#include "output/output.h"

/* Text or an attribute value as XML: the five specials escaped. The text
 * is already valid UTF-8 free of characters XML 1.0 forbids (out_line). */
static void xml_text(ocr2_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			ocr2_buf_str(b, "&amp;");
			break;
		case '<':
			ocr2_buf_str(b, "&lt;");
			break;
		case '>':
			ocr2_buf_str(b, "&gt;");
			break;
		case '"':
			ocr2_buf_str(b, "&quot;");
			break;
		case '\'':
			ocr2_buf_str(b, "&#39;");
			break;
		default:
			ocr2_buf_byte(b, (uint8_t)s[i]);
			break;
		}
	}
}

/* A caller's string (a file name) made safe for XML: invalid UTF-8 and
 * forbidden characters become U+FFFD. */
static void xml_name(ocr2_buf *b, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int k = ocr2_utf8_next((const unsigned char *)s + i, n - i, &cp);
		if (k == 0 || (cp < 0x20 && cp != '\t') || cp == 0xFFFE || cp == 0xFFFF) {
			ocr2_buf_str(b, "\xef\xbf\xbd");
			i += k ? (size_t)k
			       : (size_t)ocr2_utf8_invalid_len((const unsigned char *)s + i, n - i);
			continue;
		}
		xml_text(b, s + i, (size_t)k);
		i += (size_t)k;
	}
}

static void bbox(ocr2_buf *b, int x0, int y0, int x1, int y1)
{
	ocr2_buf_printf(b, "bbox %d %d %d %d", x0, y0, x1, y1);
}

ocr2_status ocr2_hocr_begin(const char *title, char **out)
{
	*out = NULL;
	ocr2_buf b = {0};
	ocr2_buf_str(&b,
	             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	             "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
	             "    \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
	             "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
	             " <head>\n  <title>");
	xml_name(&b, title ? title : "");
	ocr2_buf_str(
	    &b, "</title>\n"
	        "  <meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n"
	        "  <meta name=\"ocr-system\" content=\"ocr2 " OCR2_VERSION " (DeepSeek-OCR 2)\"/>\n"
	        "  <meta name=\"ocr-capabilities\" content=\"ocr_page ocr_carea ocr_par"
	        " ocr_line ocrx_word\"/>\n"
	        /* the model gives one box per block; what is finer is estimated */
	        "  <meta name=\"ocr2-estimated\" content=\"ocr_line ocrx_word: boxes"
	        " estimated, not measured: line boxes split the block's box by line count,"
	        " word boxes split the line's box by character count\"/>\n"
	        " </head>\n <body>\n");
	*out = ocr2_buf_take(&b);
	return *out ? OCR2_OK : ocr2_fail(OCR2_ERR_NOMEM, "hOCR: out of memory");
}

const char *ocr2_hocr_end(void)
{
	return " </body>\n</html>\n";
}

/* The words of one line with boxes by character count: the line's box is
 * cut in nchars equal parts and each word gets the parts of its characters. */
static void words(ocr2_buf *b, const out_line *ln, int page, int *word, int x0, int y0, int x1,
                  int y1)
{
	const char *s = ln->text;
	size_t n = strlen(s);
	long long w = x1 - x0, nch = ln->nchars;
	int ci = 0; /* characters before the current position */
	size_t i = 0;
	while (i < n) {
		if (s[i] == ' ') {
			i++;
			ci++;
			continue;
		}
		size_t a = i;
		int c0 = ci;
		while (i < n && s[i] != ' ') {
			uint32_t cp;
			int k = ocr2_utf8_next((const unsigned char *)s + i, n - i, &cp);
			i += k ? (size_t)k : 1;
			ci++;
		}
		int wx0 = x0 + (int)(w * c0 / nch), wx1 = x0 + (int)(w * ci / nch);
		if (wx1 <= wx0)
			wx1 = wx0 + 1 <= x1 ? wx0 + 1 : wx0;
		ocr2_buf_printf(b, "      <span class=\"ocrx_word\" id=\"word_%d_%d\" title=\"",
		                page, ++*word);
		bbox(b, wx0, y0, wx1, y1);
		ocr2_buf_str(b, "\">");
		xml_text(b, s + a, i - a);
		ocr2_buf_str(b, "</span>\n");
	}
}

ocr2_status ocr2_hocr_page(const ocr2_page_ocr *pg, int page, const char *image, char **out)
{
	*out = NULL;
	if (!pg || pg->width < 1 || pg->height < 1)
		return ocr2_fail(OCR2_ERR_INVALID, "hOCR: page %d has no size", page);
	int W = pg->width, H = pg->height;
	ocr2_buf b = {0};
	ocr2_buf_printf(&b, "  <div class=\"ocr_page\" id=\"page_%d\" title=\"", page);
	if (image) {
		/* a quoted string in the title: its own quotes and backslashes escaped */
		ocr2_buf t = {0};
		for (const char *c = image; *c; c++) {
			if (*c == '"' || *c == '\\')
				ocr2_buf_byte(&t, '\\');
			ocr2_buf_byte(&t, (uint8_t)*c);
		}
		ocr2_buf_str(&b, "image &quot;");
		xml_name(&b, t.s ? t.s : "");
		ocr2_buf_str(&b, "&quot;; ");
		b.oom |= t.oom;
		ocr2_buf_free(&t);
	}
	bbox(&b, 0, 0, W, H);
	ocr2_buf_printf(&b, "; ppageno %d", page - 1);
	if (pg->dpi > 0) {
		ocr2_buf_str(&b, "; scan_res ");
		ocr2_buf_num(&b, pg->dpi);
		ocr2_buf_byte(&b, ' ');
		ocr2_buf_num(&b, pg->dpi);
	}
	ocr2_buf_str(&b, "\">\n");
	int n_area = 0, n_line = 0, n_word = 0;
	for (int bi = 0; pg->blocks && bi < pg->blocks->n_blocks; bi++) {
		const ocr2_block *blk = &pg->blocks->blocks[bi];
		out_lines L;
		ocr2_status s = out_block_lines(blk, &L);
		if (s != OCR2_OK) {
			ocr2_buf_free(&b);
			return s;
		}
		if (L.n == 0)
			continue;
		int r[4];
		out_block_rect(blk, W, H, r);
		n_area++;
		ocr2_buf_printf(&b, "   <div class=\"ocr_carea\" id=\"block_%d_%d\" title=\"", page,
		                n_area);
		bbox(&b, r[0], r[1], r[2], r[3]);
		if (blk->label && *blk->label) {
			/* engine-specific properties start with x_ (hOCR 1.2); the label
			 * is free text from the model, kept to a safe alphabet */
			ocr2_buf_str(&b, "; x_label ");
			for (const char *c = blk->label; *c; c++) {
				char k = *c;
				bool ok = (k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z') ||
				          (k >= '0' && k <= '9') || k == '-' || k == '.';
				ocr2_buf_byte(&b, ok ? (uint8_t)k : '_');
			}
		}
		ocr2_buf_str(&b, "\">\n");
		ocr2_buf_printf(&b, "    <p class=\"ocr_par\" id=\"par_%d_%d\" title=\"", page,
		                n_area);
		bbox(&b, r[0], r[1], r[2], r[3]);
		ocr2_buf_str(&b, "\">\n");
		long long h = r[3] - r[1];
		for (int i = 0; i < L.n; i++) {
			int y0 = r[1] + (int)(h * i / L.n), y1 = r[1] + (int)(h * (i + 1) / L.n);
			if (y1 <= y0)
				y1 = y0 + 1 <= r[3] ? y0 + 1 : y0;
			ocr2_buf_printf(&b,
			                "     <span class=\"ocr_line\" id=\"line_%d_%d\" title=\"",
			                page, ++n_line);
			bbox(&b, r[0], y0, r[2], y1);
			/* baseline at the descent of a font as tall as the line */
			ocr2_buf_printf(&b, "; baseline 0 %d; x_size %d\">\n",
			                -(int)((y1 - y0) * -OUT_FONT_DESCENT / 1000), y1 - y0);
			words(&b, &L.lines[i], page, &n_word, r[0], y0, r[2], y1);
			ocr2_buf_str(&b, "     </span>\n");
		}
		ocr2_buf_str(&b, "    </p>\n   </div>\n");
		out_lines_free(&L);
	}
	ocr2_buf_str(&b, "  </div>\n");
	*out = ocr2_buf_take(&b);
	return *out ? OCR2_OK : ocr2_fail(OCR2_ERR_NOMEM, "hOCR: out of memory");
}
