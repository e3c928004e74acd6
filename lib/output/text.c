/* text.c - a block's text as the plain lines the text layers (PDF, hOCR)
 * place, and the block's rectangle on the page in pixels. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/unicode.h"
#include "output/output.h"

#define FW_BAR "\xef\xbd\x9c" /* U+FF5C, the bar of DeepSeek's own special tokens */

static bool has(const char *s, size_t n, size_t i, const char *lit)
{
	size_t k = strlen(lit);
	return n - i >= k && !memcmp(s + i, lit, k);
}

/* Offset just past `close` when it occurs in s[i..i+lim) before a newline,
 * else 0: special tokens are short and never span lines. */
static size_t span_to(const char *s, size_t n, size_t i, size_t lim, const char *close)
{
	size_t k = strlen(close), end = n - i > lim ? i + lim : n;
	for (size_t j = i; j + k <= end; j++) {
		if (s[j] == '\n')
			return 0;
		if (!memcmp(s + j, close, k))
			return j + k;
	}
	return 0;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An HTML tag at s[i] ('<'): returns the offset past '>' (0 when it is not a
 * tag) and what it stands for in the text: '\n' ends a row, ' ' separates
 * cells, 0 is nothing. */
static size_t html_tag(const char *s, size_t n, size_t i, char *repl)
{
	size_t j = i + 1;
	if (j < n && s[j] == '/')
		j++;
	if (j >= n || !is_alpha(s[j]))
		return 0;
	size_t name = j;
	while (j < n && (is_alpha(s[j]) || (s[j] >= '0' && s[j] <= '9')))
		j++;
	size_t nl = j - name;
	for (size_t lim = 0; j < n && s[j] != '>'; j++, lim++)
		if (s[j] == '<' || s[j] == '\n' || lim > 512)
			return 0;
	if (j >= n)
		return 0;
	*repl = 0;
	if ((nl == 2 && !strncasecmp(s + name, "tr", 2)) ||
	    (nl == 2 && !strncasecmp(s + name, "br", 2)) ||
	    (nl == 5 && !strncasecmp(s + name, "table", 5)))
		*repl = '\n';
	else if (nl == 2 && (!strncasecmp(s + name, "td", 2) || !strncasecmp(s + name, "th", 2)))
		*repl = ' ';
	return j + 1;
}

/* An entity at s[i] ('&'): the offset past ';' and its code point, or 0. */
static size_t html_entity(const char *s, size_t n, size_t i, uint32_t *cp)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = {{"amp", '&'},  {"lt", '<'},    {"gt", '>'},
	             {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '}};
	size_t j = i + 1, end = n - j > 12 ? j + 12 : n;
	size_t semi = 0;
	for (size_t k = j; k < end; k++)
		if (s[k] == ';') {
			semi = k;
			break;
		}
	if (!semi || semi == j)
		return 0;
	if (s[j] == '#') {
		bool hex = j + 1 < semi && (s[j + 1] == 'x' || s[j + 1] == 'X');
		size_t k = j + 1 + hex;
		if (k >= semi)
			return 0;
		uint32_t v = 0;
		for (; k < semi; k++) {
			char c = s[k];
			int d = c >= '0' && c <= '9'          ? c - '0'
			        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
			                                      : -1;
			if (d < 0 || v > 0x10FFFF)
				return 0;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			return 0;
		*cp = v;
		return semi + 1;
	}
	for (size_t k = 0; k < sizeof named / sizeof *named; k++)
		if (strlen(named[k].name) == semi - j && !memcmp(s + j, named[k].name, semi - j)) {
			*cp = named[k].cp;
			return semi + 1;
		}
	return 0;
}

static void put_cp(ocr2_buf *o, uint32_t cp)
{
	char u[4];
	ocr2_buf_add(o, u, ocr2_utf8_put(u, cp));
}

/* Stage one: special tokens out, invalid UTF-8 replaced, table markup to
 * rows and cells. */
static void clean(const char *s, size_t n, bool html, ocr2_buf *o)
{
	size_t i = 0;
	while (i < n) {
		size_t e;
		if (s[i] == '<') {
			char repl;
			if (has(s, n, i, "<" FW_BAR) &&
			    (e = span_to(s, n, i + 4, 160, FW_BAR ">"))) {
				i = e;
				continue;
			}
			if (has(s, n, i, "<|") && (e = span_to(s, n, i + 2, 48, "|>"))) {
				i = e;
				continue;
			}
			if (has(s, n, i, "<image>")) {
				i += 7;
				continue;
			}
			if (html && (e = html_tag(s, n, i, &repl))) {
				if (repl)
					ocr2_buf_byte(o, (uint8_t)repl);
				i = e;
				continue;
			}
		}
		uint32_t cp;
		if (html && s[i] == '&' && (e = html_entity(s, n, i, &cp))) {
			put_cp(o, cp);
			i = e;
			continue;
		}
		int k = ocr2_utf8_next((const unsigned char *)s + i, n - i, &cp);
		if (k == 0) {
			put_cp(o, 0xFFFD);
			i += (size_t)ocr2_utf8_invalid_len((const unsigned char *)s + i, n - i);
			continue;
		}
		ocr2_buf_add(o, s + i, (size_t)k);
		i += (size_t)k;
	}
}

/* Stage two for one line: controls and XML-forbidden characters out, blanks
 * folded, heading marks and the ends trimmed. */
static ocr2_status add_line(out_lines *out, int *cap, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t h = i;
	while (h < n && s[h] == '#' && h - i < 6)
		h++;
	if (h > i && h < n && (s[h] == ' ' || s[h] == '\t'))
		i = h;
	ocr2_buf o = {0};
	int nch = 0;
	bool space = false;
	while (i < n) {
		uint32_t cp;
		int k = ocr2_utf8_next((const unsigned char *)s + i, n - i, &cp);
		if (k == 0) { /* cannot happen after clean(); skip a byte to be safe */
			i++;
			continue;
		}
		i += (size_t)k;
		if (cp == ' ' || cp == '\t' || cp == '\v' || cp == '\f') {
			space = true;
			continue;
		}
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF)
			continue;
		if (space && nch > 0) {
			ocr2_buf_byte(&o, ' ');
			nch++;
		}
		space = false;
		put_cp(&o, cp);
		nch++;
	}
	if (nch == 0) {
		bool oom = o.oom;
		ocr2_buf_free(&o);
		return oom ? ocr2_fail(OCR2_ERR_NOMEM, "text layer: out of memory") : OCR2_OK;
	}
	if (out->n == *cap) {
		int nc = *cap ? *cap * 2 : 8;
		out_line *t = realloc(out->lines, sizeof *t * (size_t)nc);
		if (!t) {
			ocr2_buf_free(&o);
			return ocr2_fail(OCR2_ERR_NOMEM, "text layer: out of memory");
		}
		out->lines = t;
		*cap = nc;
	}
	char *text = ocr2_buf_take(&o);
	if (!text)
		return ocr2_fail(OCR2_ERR_NOMEM, "text layer: out of memory");
	out->lines[out->n].text = text;
	out->lines[out->n].nchars = nch;
	out->n++;
	return OCR2_OK;
}

ocr2_status out_block_lines(const ocr2_block *b, out_lines *out)
{
	memset(out, 0, sizeof *out);
	const char *t = b && b->text ? b->text : "";
	size_t n = strlen(t);
	bool html = strstr(t, "<table") || strstr(t, "<tr") || strstr(t, "<td");
	ocr2_buf c = {0};
	clean(t, n, html, &c);
	if (c.oom) {
		ocr2_buf_free(&c);
		return ocr2_fail(OCR2_ERR_NOMEM, "text layer: out of memory");
	}
	if (c.len == 0) {
		ocr2_buf_free(&c);
		return OCR2_OK;
	}
	int cap = 0;
	size_t a = 0;
	for (size_t i = 0; i <= c.len; i++) {
		if (i < c.len && c.s[i] != '\n' && c.s[i] != '\r')
			continue;
		ocr2_status s = add_line(out, &cap, c.s + a, i - a);
		if (s != OCR2_OK) {
			ocr2_buf_free(&c);
			out_lines_free(out);
			return s;
		}
		a = i + 1;
	}
	ocr2_buf_free(&c);
	return OCR2_OK;
}

void out_lines_free(out_lines *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		free(l->lines[i].text);
	free(l->lines);
	memset(l, 0, sizeof *l);
}

/* [lo, hi) of one axis, widened to at least one pixel inside [0, size). */
static void fit(int *lo, int *hi, int size)
{
	if (*hi <= *lo)
		*hi = *lo + 1;
	if (*hi > size) {
		*hi = size;
		if (*lo >= size)
			*lo = size - 1;
	}
	if (*lo < 0)
		*lo = 0;
}

void out_block_rect(const ocr2_block *b, int w, int h, int r[4])
{
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	if (!b || b->n_boxes < 1) {
		r[0] = r[1] = 0;
		r[2] = w;
		r[3] = h;
		return;
	}
	int x0 = w, y0 = h, x1 = 0, y1 = 0;
	for (int i = 0; i < b->n_boxes; i++) {
		const int *q = b->boxes[i];
		int ax = ocr2_grid_to_pixel(q[0] < q[2] ? q[0] : q[2], w);
		int bx = ocr2_grid_to_pixel(q[0] < q[2] ? q[2] : q[0], w);
		int ay = ocr2_grid_to_pixel(q[1] < q[3] ? q[1] : q[3], h);
		int by = ocr2_grid_to_pixel(q[1] < q[3] ? q[3] : q[1], h);
		x0 = ax < x0 ? ax : x0;
		y0 = ay < y0 ? ay : y0;
		x1 = bx > x1 ? bx : x1;
		y1 = by > y1 ? by : y1;
	}
	fit(&x0, &x1, w);
	fit(&y0, &y1, h);
	r[0] = x0;
	r[1] = y0;
	r[2] = x1;
	r[3] = y1;
}
