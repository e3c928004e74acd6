/* blocks.c - the model's grounding output parsed into blocks (label, boxes on
 * the 0..999 grid, text), and the official grid-to-pixel mapping (MODEL.md §9). */
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "base/error.h"

#define TAG_REF "<|ref|>"
#define TAG_REF_END "<|/ref|>"
#define TAG_DET "<|det|>"
#define TAG_DET_END "<|/det|>"

int ocr2_grid_to_pixel(int v, int size)
{
	/* int(v / 999 * size) in Python: a double division, then the product,
	 * truncated toward zero; kept in the same order for identical rounding */
	double x = (double)v / 999.0 * (double)size;
	int p = (int)x;
	if (p < 0)
		p = 0;
	if (p > size)
		p = size;
	return p;
}

static bool starts(const char *s, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(end - s) >= n && memcmp(s, lit, n) == 0;
}

static const char *find(const char *s, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	for (; (size_t)(end - s) >= n; s++)
		if (memcmp(s, lit, n) == 0)
			return s;
	return NULL;
}

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

/* "[[x1, y1, x2, y2], ...]" exactly filling [s, end). Returns the number of
 * boxes (>= 1) stored in a malloc'd *boxes, or -1 when it does not parse. */
static int parse_boxes(const char *s, const char *end, int (**boxes)[4])
{
	int cap = 4, n = 0;
	int (*b)[4] = malloc(sizeof *b * (size_t)cap);
	if (!b)
		return -1;
	s = skip_ws(s, end);
	if (s >= end || *s++ != '[')
		goto bad;
	for (;;) {
		s = skip_ws(s, end);
		if (s >= end || *s++ != '[')
			goto bad;
		if (n == cap) {
			if (cap > 4096)
				goto bad;
			int (*t)[4] = realloc(b, sizeof *b * (size_t)(cap *= 2));
			if (!t)
				goto bad;
			b = t;
		}
		for (int k = 0; k < 4; k++) {
			s = skip_ws(s, end);
			bool neg = s < end && *s == '-';
			if (neg)
				s++;
			if (s >= end || *s < '0' || *s > '9')
				goto bad;
			long v = 0;
			while (s < end && *s >= '0' && *s <= '9') {
				if (v < 1000000)
					v = v * 10 + (*s - '0');
				s++;
			}
			b[n][k] = (int)(neg ? -v : v);
			s = skip_ws(s, end);
			if (k < 3 && (s >= end || *s++ != ','))
				goto bad;
		}
		if (s >= end || *s++ != ']')
			goto bad;
		n++;
		s = skip_ws(s, end);
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		if (s >= end || *s++ != ']')
			goto bad;
		break;
	}
	if (skip_ws(s, end) != end)
		goto bad;
	*boxes = b;
	return n;
bad:
	free(b);
	return -1;
}

/* Parses one tag at s (which starts with <|ref|>). On success fills label
 * [*l0, *l1), boxes, and returns the end of the tag; NULL when malformed. */
static const char *parse_tag(const char *s, const char *end, const char **l0, const char **l1,
			     int (**boxes)[4], int *n_boxes)
{
	const char *lab = s + strlen(TAG_REF);
	const char *le = find(lab, end, TAG_REF_END);
	if (!le)
		return NULL;
	/* a label never spans another tag or a line */
	for (const char *p = lab; p < le; p++)
		if (*p == '\n' || starts(p, le, "<|"))
			return NULL;
	const char *d = le + strlen(TAG_REF_END);
	if (!starts(d, end, TAG_DET))
		return NULL;
	d += strlen(TAG_DET);
	const char *de = find(d, end, TAG_DET_END);
	if (!de)
		return NULL;
	int n = parse_boxes(d, de, boxes);
	if (n < 0)
		return NULL;
	*n_boxes = n;
	*l0 = lab;
	*l1 = le;
	return de + strlen(TAG_DET_END);
}

static char *dup_range(const char *a, const char *b)
{
	char *s = malloc((size_t)(b - a) + 1);
	if (s) {
		memcpy(s, a, (size_t)(b - a));
		s[b - a] = 0;
	}
	return s;
}

/* Appends [a, b) trimmed as a block's text. */
static char *trimmed(const char *a, const char *b)
{
	a = skip_ws(a, b);
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r'))
		b--;
	return dup_range(a, b);
}

static ocr2_status push(ocr2_blocks *out, int *cap, const char *l0, const char *l1,
			int (*boxes)[4], int n_boxes, const char *t0, const char *t1)
{
	if (out->n_blocks == *cap) {
		int nc = *cap ? *cap * 2 : 16;
		ocr2_block *nb = realloc(out->blocks, sizeof *nb * (size_t)nc);
		if (!nb)
			goto nomem;
		out->blocks = nb;
		*cap = nc;
	}
	ocr2_block *b = &out->blocks[out->n_blocks];
	memset(b, 0, sizeof *b);
	b->label = l0 ? dup_range(l0, l1) : strdup("");
	b->text = trimmed(t0, t1);
	b->boxes = boxes;
	b->n_boxes = n_boxes;
	out->n_blocks++;
	if (!b->label || !b->text)
		return ocr2_fail(OCR2_ERR_NOMEM, "blocks: out of memory");
	return OCR2_OK;
nomem:
	free(boxes);
	return ocr2_fail(OCR2_ERR_NOMEM, "blocks: out of memory");
}

ocr2_status ocr2_blocks_parse(const char *raw, ocr2_blocks *out)
{
	memset(out, 0, sizeof *out);
	if (!raw)
		raw = "";
	const char *end = raw + strlen(raw);
	static const char eos[] = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
	if ((size_t)(end - raw) >= sizeof eos - 1 && !memcmp(end - (sizeof eos - 1), eos, sizeof eos - 1))
		end -= sizeof eos - 1;
	int cap = 0;

	/* the block being filled: its tag (or none for leading text) and where its
	 * text starts; malformed tags are simply not block starts */
	const char *l0 = NULL, *l1 = NULL, *t0 = raw;
	int (*boxes)[4] = NULL;
	int n_boxes = 0;
	bool tagged = false;
	const char *s = raw;
	for (;;) {
		const char *r = find(s, end, TAG_REF);
		const char *nl0, *nl1, *te = NULL;
		int (*nb)[4] = NULL;
		int nn = 0;
		if (r) {
			te = parse_tag(r, end, &nl0, &nl1, &nb, &nn);
			if (!te) {
				out->malformed++;
				s = r + strlen(TAG_REF);
				continue;
			}
		}
		const char *t1 = r ? r : end;
		/* leading untagged text becomes a block only when not blank */
		if (tagged || skip_ws(t0, t1) < t1) {
			ocr2_status st = push(out, &cap, tagged ? l0 : NULL, l1, boxes, n_boxes, t0, t1);
			boxes = NULL;
			if (st != OCR2_OK) {
				free(nb);
				ocr2_blocks_free(out);
				return st;
			}
		}
		if (!r)
			break;
		tagged = true;
		l0 = nl0;
		l1 = nl1;
		boxes = nb;
		n_boxes = nn;
		t0 = te;
		s = te;
	}
	return OCR2_OK;
}

void ocr2_blocks_free(ocr2_blocks *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->n_blocks; i++) {
		free(b->blocks[i].label);
		free(b->blocks[i].boxes);
		free(b->blocks[i].text);
	}
	free(b->blocks);
	memset(b, 0, sizeof *b);
}
