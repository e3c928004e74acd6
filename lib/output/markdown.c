/* markdown.c - the official conversion of a page's grounding output to
 * Markdown (MODEL.md §9), reproduced step for step, quirks included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "base/error.h"

#define EOS_TEXT "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"

typedef struct {
	char *s;
	size_t len, cap;
} buf;

static bool buf_add(buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *t = realloc(b->s, nc);
		if (!t)
			return false;
		b->s = t;
		b->cap = nc;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
	return true;
}

/* Python's str.replace(old, new): every non-overlapping occurrence, left to
 * right. Replaces *s (length *n) in place; false when out of memory. */
static bool replace_all(char **s, size_t *n, const char *old, size_t on, const char *nw)
{
	size_t nn = strlen(nw);
	char *p = *s, *end = *s + *n;
	char *hit = on ? memmem(p, (size_t)(end - p), old, on) : NULL;
	if (!hit)
		return true;
	buf b = {0};
	while (hit) {
		if (!buf_add(&b, p, (size_t)(hit - p)) || !buf_add(&b, nw, nn))
			goto nomem;
		p = hit + on;
		hit = memmem(p, (size_t)(end - p), old, on);
	}
	if (!buf_add(&b, p, (size_t)(end - p)))
		goto nomem;
	free(*s);
	*s = b.s;
	*n = b.len;
	return true;
nomem:
	free(b.s);
	return false;
}

/* Length of the UTF-8 sequence at s if it is a character Python's str.isspace()
 * accepts (what str.strip() removes), else 0. */
static int py_space(const unsigned char *s, const unsigned char *end)
{
	size_t n = (size_t)(end - s);
	if (n == 0)
		return 0;
	unsigned c = s[0];
	if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
		return 1;
	if (c == 0xc2 && n >= 2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n < 3)
		return 0;
	unsigned cp = ((c & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
	if ((c & 0xf0) != 0xe0 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
		return 0;
	if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return 3;
	return 0;
}

/* The start of the last character before end (UTF-8), for stripping backwards. */
static const unsigned char *prev_char(const unsigned char *begin, const unsigned char *end)
{
	const unsigned char *p = end - 1;
	while (p > begin && (*p & 0xc0) == 0x80 && end - p < 4)
		p--;
	return p;
}

typedef struct {
	size_t start, len;
	bool image;
} match;

/* re.findall(r'(<\|ref\|>(.*?)<\|/ref\|><\|det\|>(.*?)<\|/det\|>)', text, re.DOTALL):
 * a match at i needs "<|/ref|><|det|>" somewhere after the opening tag and a
 * "<|/det|>" after the first of those; both lazy groups take the shortest span,
 * and backtracking to a later "<|/ref|><|det|>" can never find a "<|/det|>"
 * the first one did not, so the earliest of each is the match. */
static int find_matches(const char *t, size_t n, match **out)
{
	static const char open[] = "<|ref|>", mid[] = "<|/ref|><|det|>", close[] = "<|/det|>",
			  img[] = "<|ref|>image<|/ref|>";
	int cap = 0, k = 0;
	match *m = NULL;
	size_t i = 0;
	while (i < n) {
		const char *o = memmem(t + i, n - i, open, sizeof open - 1);
		if (!o)
			break;
		size_t os = (size_t)(o - t), a = os + sizeof open - 1;
		const char *md = memmem(t + a, n - a, mid, sizeof mid - 1);
		const char *c = NULL;
		if (md) {
			size_t b = (size_t)(md - t) + sizeof mid - 1;
			c = memmem(t + b, n - b, close, sizeof close - 1);
		}
		if (!c) {
			/* no match can start at or after this point either */
			break;
		}
		size_t e = (size_t)(c - t) + sizeof close - 1;
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			match *nm = realloc(m, sizeof *nm * (size_t)cap);
			if (!nm) {
				free(m);
				return -1;
			}
			m = nm;
		}
		m[k].start = os;
		m[k].len = e - os;
		m[k].image = memmem(t + os, e - os, img, sizeof img - 1) != NULL;
		k++;
		i = e;
	}
	*out = m;
	return k;
}

/* Expands an image-link template: %p page, %n index, %% a percent sign. */
static bool link_text(buf *b, const char *tmpl, int page, int idx)
{
	if (!tmpl)
		tmpl = "images/%n.jpg";
	if (!*tmpl)
		return buf_add(b, "", 0);
	if (!buf_add(b, "![](", 4))
		return false;
	for (const char *p = tmpl; *p; p++) {
		char num[16];
		if (*p == '%' && (p[1] == 'p' || p[1] == 'n')) {
			int len = snprintf(num, sizeof num, "%d", p[1] == 'p' ? page : idx);
			if (!buf_add(b, num, (size_t)len))
				return false;
			p++;
		} else if (*p == '%' && p[1] == '%') {
			if (!buf_add(b, "%", 1))
				return false;
			p++;
		} else if (!buf_add(b, p, 1)) {
			return false;
		}
	}
	return buf_add(b, ")\n", 2);
}

ocr2_status ocr2_markdown_from_raw(const char *raw, int page, const char *image_links, char **out)
{
	*out = NULL;
	if (!raw)
		raw = "";
	/* 1. trailing EOS text, then str.strip() */
	const unsigned char *a = (const unsigned char *)raw, *e = a + strlen(raw);
	size_t el = strlen(EOS_TEXT);
	if ((size_t)(e - a) >= el && !memcmp(e - el, EOS_TEXT, el))
		e -= el;
	for (int k; a < e && (k = py_space(a, e)) > 0;)
		a += k;
	while (e > a) {
		const unsigned char *p = prev_char(a, e);
		if (py_space(p, e) != e - p)
			break;
		e = p;
	}
	size_t n = (size_t)(e - a);
	char *s = malloc(n + 1);
	if (!s)
		return ocr2_fail(OCR2_ERR_NOMEM, "markdown: out of memory");
	memcpy(s, a, n);
	s[n] = 0;

	/* 2. the tags, found once on the stripped text */
	match *m = NULL;
	int nm = find_matches(s, n, &m);
	if (nm < 0) {
		free(s);
		return ocr2_fail(OCR2_ERR_NOMEM, "markdown: out of memory");
	}
	/* the match texts, copied: the replacements below rewrite s */
	char **mt = calloc((size_t)nm + 1, sizeof *mt);
	bool ok = mt != NULL;
	for (int i = 0; ok && i < nm; i++) {
		mt[i] = malloc(m[i].len + 1);
		ok = mt[i] != NULL;
		if (ok) {
			memcpy(mt[i], s + m[i].start, m[i].len);
			mt[i][m[i].len] = 0;
		}
	}
	/* 3. image tags -> links, numbered in order among image tags */
	int idx = 0;
	for (int i = 0; ok && i < nm; i++) {
		if (!m[i].image)
			continue;
		buf l = {0};
		ok = link_text(&l, image_links, page, idx++) &&
		     replace_all(&s, &n, mt[i], m[i].len, l.s ? l.s : "");
		free(l.s);
	}
	/* 4. other tags: deleted, and after each deletion the whole text gets the
	 * LaTeX and blank-line replacements, as the official loop does */
	for (int i = 0; ok && i < nm; i++) {
		if (m[i].image)
			continue;
		ok = replace_all(&s, &n, mt[i], m[i].len, "") &&
		     replace_all(&s, &n, "\\coloneqq", 9, ":=") &&
		     replace_all(&s, &n, "\\eqqcolon", 9, "=:") &&
		     replace_all(&s, &n, "\n\n\n\n", 4, "\n\n") &&
		     replace_all(&s, &n, "\n\n\n", 3, "\n\n");
	}
	for (int i = 0; mt && i < nm; i++)
		free(mt[i]);
	free(mt);
	free(m);
	if (!ok) {
		free(s);
		return ocr2_fail(OCR2_ERR_NOMEM, "markdown: out of memory");
	}
	*out = s;
	return OCR2_OK;
}
