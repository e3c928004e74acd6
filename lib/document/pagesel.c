/* pagesel.c - page selections such as "1,3-5,9-": 1-based pages, closed
 * ranges "a-b" with a <= b, open ranges "a-" up to the last page. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "base/error.h"

struct ocr2_pagesel {
	int n;
	int (*r)[2]; /* [first, last] inclusive; last == INT_MAX for "a-" */
};

/* Reads a page number at *p; 0 when it is not one (missing, 0, too large). */
static int read_page(const char **p, const char *spec, ocr2_status *st)
{
	const char *s = *p;
	if (*s < '0' || *s > '9') {
		*st = ocr2_fail(OCR2_ERR_INVALID,
				"invalid page selection \"%s\": expected a page number at \"%s\"",
				spec, s);
		return 0;
	}
	long long v = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX - 1) {
			*st = ocr2_fail(OCR2_ERR_INVALID,
					"invalid page selection \"%s\": page number too large", spec);
			return 0;
		}
		s++;
	}
	if (v == 0) {
		*st = ocr2_fail(OCR2_ERR_INVALID,
				"invalid page selection \"%s\": pages are numbered from 1", spec);
		return 0;
	}
	*p = s;
	return (int)v;
}

ocr2_status ocr2_pagesel_parse(const char *spec, ocr2_pagesel **out)
{
	*out = NULL;
	if (!spec || !*spec)
		return ocr2_fail(OCR2_ERR_INVALID, "invalid page selection \"\": it is empty");
	ocr2_pagesel *s = calloc(1, sizeof *s);
	size_t items = 1;
	for (const char *c = spec; *c; c++)
		items += *c == ',';
	if (s)
		s->r = calloc(items, sizeof *s->r);
	if (!s || !s->r) {
		ocr2_pagesel_free(s);
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	}
	ocr2_status st = OCR2_OK;
	const char *p = spec;
	for (;;) {
		int a = read_page(&p, spec, &st), b;
		if (!a)
			break;
		b = a;
		if (*p == '-') {
			p++;
			if (*p == ',' || !*p) {
				b = INT_MAX;
			} else {
				b = read_page(&p, spec, &st);
				if (!b)
					break;
				if (b < a) {
					st = ocr2_fail(OCR2_ERR_INVALID,
						       "invalid page selection \"%s\": range %d-%d "
						       "goes backwards",
						       spec, a, b);
					break;
				}
			}
		}
		s->r[s->n][0] = a;
		s->r[s->n][1] = b;
		s->n++;
		if (!*p)
			break;
		if (*p != ',') {
			st = ocr2_fail(OCR2_ERR_INVALID,
				       "invalid page selection \"%s\": unexpected \"%s\"", spec, p);
			break;
		}
		p++;
	}
	if (st != OCR2_OK) {
		ocr2_pagesel_free(s);
		return st;
	}
	*out = s;
	return OCR2_OK;
}

int ocr2_pagesel_has(const ocr2_pagesel *s, int page1)
{
	if (!s)
		return page1 >= 1;
	for (int i = 0; i < s->n; i++)
		if (page1 >= s->r[i][0] && page1 <= s->r[i][1])
			return 1;
	return 0;
}

void ocr2_pagesel_free(ocr2_pagesel *s)
{
	if (!s)
		return;
	free(s->r);
	free(s);
}

/* ---- shards ---------------------------------------------------------------- */

static bool shard_num(const char **p, int *out)
{
	const char *s = *p;
	long v = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > 1000000)
			return false;
	}
	*out = (int)v;
	*p = s;
	return true;
}

ocr2_status ocr2_shard_parse(const char *spec, int *k, int *n)
{
	const char *p = spec;
	if (!spec || !shard_num(&p, k) || *p++ != '/' || !shard_num(&p, n) || *p || *n < 1 ||
	    *k < 1 || *k > *n)
		return ocr2_fail(OCR2_ERR_INVALID, "shard '%s': not K/N with 1 <= K <= N <= 1000000",
				 spec ? spec : "");
	return OCR2_OK;
}

int ocr2_shard_has(const char *name, int k, int n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *s = name; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h % (uint64_t)n == (uint64_t)(k - 1);
}
