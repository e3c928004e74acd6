/* buf.c - the growing byte string of buf.h: appends with a sticky
 * out-of-memory flag, locale-free numbers and big-endian integers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

static bool grow(ocr2_buf *b, size_t n)
{
	if (b->oom)
		return false;
	if (n <= b->cap - b->len && b->cap - b->len - n >= 1)
		return true;
	size_t need = b->len + n + 1;
	if (need < b->len) {
		b->oom = true;
		return false;
	}
	size_t nc = b->cap ? b->cap : 256;
	while (nc < need) {
		if (nc > SIZE_MAX / 2) {
			nc = need;
			break;
		}
		nc *= 2;
	}
	char *t = realloc(b->s, nc);
	if (!t) {
		b->oom = true;
		return false;
	}
	b->s = t;
	b->cap = nc;
	return true;
}

void ocr2_buf_add(ocr2_buf *b, const void *p, size_t n)
{
	if (!grow(b, n))
		return;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

void ocr2_buf_str(ocr2_buf *b, const char *s)
{
	ocr2_buf_add(b, s, strlen(s));
}

void ocr2_buf_byte(ocr2_buf *b, uint8_t c)
{
	ocr2_buf_add(b, &c, 1);
}

void ocr2_buf_printf(ocr2_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof small) {
		ocr2_buf_add(b, small, (size_t)n);
		return;
	}
	if (!grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ocr2_buf_num(ocr2_buf *b, double v)
{
	if (!isfinite(v))
		v = 0;
	/* thousandths in integers: no locale, no "-0" */
	double r = round(v * 1000.0);
	if (r > 9e15)
		r = 9e15;
	if (r < -9e15)
		r = -9e15;
	long long m = (long long)r;
	if (m == 0) {
		ocr2_buf_byte(b, '0');
		return;
	}
	char tmp[40];
	int n;
	unsigned long long a = m < 0 ? (unsigned long long)-m : (unsigned long long)m;
	unsigned frac = (unsigned)(a % 1000);
	if (frac == 0)
		n = snprintf(tmp, sizeof tmp, "%s%llu", m < 0 ? "-" : "", a / 1000);
	else if (frac % 100 == 0)
		n = snprintf(tmp, sizeof tmp, "%s%llu.%u", m < 0 ? "-" : "", a / 1000, frac / 100);
	else if (frac % 10 == 0)
		n = snprintf(tmp, sizeof tmp, "%s%llu.%02u", m < 0 ? "-" : "", a / 1000, frac / 10);
	else
		n = snprintf(tmp, sizeof tmp, "%s%llu.%03u", m < 0 ? "-" : "", a / 1000, frac);
	ocr2_buf_add(b, tmp, (size_t)n);
}

void ocr2_buf_be16(ocr2_buf *b, unsigned v)
{
	uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	ocr2_buf_add(b, t, 2);
}

void ocr2_buf_be32(ocr2_buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	ocr2_buf_add(b, t, 4);
}

char *ocr2_buf_take(ocr2_buf *b)
{
	if (b->oom) {
		ocr2_buf_free(b);
		return NULL;
	}
	char *s = b->s;
	if (!s)
		s = calloc(1, 1);
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void ocr2_buf_free(ocr2_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}
