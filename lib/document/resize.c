/* resize.c - Pillow's Image.resize(BICUBIC) on 8-bit RGB, bit for bit
 * (integer coefficients, as Pillow's precompute_coeffs and 8bpc passes): the
 * encoder's views (MODEL.md §3.5) and the TIFF reader's square pixels. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "document/resize.h"

#define PRECISION_BITS 22

static double bicubic(double x)
{
	const double a = -0.5;
	if (x < 0)
		x = -x;
	if (x < 1)
		return ((a + 2) * x - (a + 3)) * x * x + 1;
	if (x < 2)
		return (((x - 5) * x + 8) * x - 4) * a;
	return 0;
}

/* Per output index: the first input index, the tap count and ksize fixed-point
 * coefficients, as Pillow's precompute_coeffs + normalize_coeffs_8bpc. */
typedef struct {
	int ksize;
	int *bounds; /* [out][2]: xmin, count */
	int32_t *k;  /* [out][ksize] */
} coeffs;

static bool make_coeffs(int in, int out, coeffs *c)
{
	double scale = (double)in / out, fs = scale < 1 ? 1 : scale;
	double support = 2.0 * fs, ss = 1.0 / fs;
	int ksize = (int)ceil(support) * 2 + 1;
	double *w = malloc((size_t)ksize * sizeof *w);
	c->ksize = ksize;
	c->bounds = malloc((size_t)out * 2 * sizeof *c->bounds);
	c->k = calloc((size_t)out * ksize, sizeof *c->k);
	if (!w || !c->bounds || !c->k) {
		free(w);
		free(c->bounds);
		free(c->k);
		return false;
	}
	for (int o = 0; o < out; o++) {
		double center = (o + 0.5) * scale, sum = 0;
		int xmin = (int)(center - support + 0.5), xmax;
		if (xmin < 0)
			xmin = 0;
		xmax = (int)(center + support + 0.5);
		if (xmax > in)
			xmax = in;
		xmax -= xmin;
		for (int x = 0; x < xmax; x++) {
			w[x] = bicubic((x + xmin - center + 0.5) * ss);
			sum += w[x];
		}
		int32_t *k = c->k + (size_t)o * ksize;
		for (int x = 0; x < xmax; x++) {
			double v = sum != 0 ? w[x] / sum : w[x];
			v *= 1 << PRECISION_BITS;
			k[x] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
		}
		c->bounds[2 * o] = xmin;
		c->bounds[2 * o + 1] = xmax;
	}
	free(w);
	return true;
}

static void coeffs_free(coeffs *c)
{
	free(c->bounds);
	free(c->k);
}

static uint8_t clip8(int64_t acc)
{
	int64_t v = acc >> PRECISION_BITS;
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass over source rows [y0, y0 + nrows). */
static void pass_h(const uint8_t *src, int sw, int y0, int nrows, uint8_t *dst, int dw,
		   const coeffs *c)
{
	for (int y = 0; y < nrows; y++) {
		const uint8_t *s = src + (size_t)(y0 + y) * sw * 3;
		uint8_t *d = dst + (size_t)y * dw * 3;
		for (int o = 0; o < dw; o++) {
			int xmin = c->bounds[2 * o], n = c->bounds[2 * o + 1];
			const int32_t *k = c->k + (size_t)o * c->ksize;
			int64_t a0 = 1 << (PRECISION_BITS - 1), a1 = a0, a2 = a0;
			for (int x = 0; x < n; x++) {
				const uint8_t *p = s + (size_t)(xmin + x) * 3;
				a0 += p[0] * k[x];
				a1 += p[1] * k[x];
				a2 += p[2] * k[x];
			}
			d[3 * o] = clip8(a0);
			d[3 * o + 1] = clip8(a1);
			d[3 * o + 2] = clip8(a2);
		}
	}
}

/* Vertical pass; the bounds are relative to src's first row minus `shift`. */
static void pass_v(const uint8_t *src, int w, int shift, uint8_t *dst, int dh, const coeffs *c)
{
	size_t stride = (size_t)w * 3;
	for (int o = 0; o < dh; o++) {
		int ymin = c->bounds[2 * o] - shift, n = c->bounds[2 * o + 1];
		const int32_t *k = c->k + (size_t)o * c->ksize;
		uint8_t *d = dst + (size_t)o * stride;
		for (size_t i = 0; i < stride; i++) {
			int64_t a = 1 << (PRECISION_BITS - 1);
			for (int y = 0; y < n; y++)
				a += src[(size_t)(ymin + y) * stride + i] * k[y];
			d[i] = clip8(a);
		}
	}
}

bool ocr2_resize_bicubic(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh)
{
	if (sw == dw && sh == dh) { /* Image.resize returns a copy */
		memcpy(dst, src, (size_t)sw * sh * 3);
		return true;
	}
	coeffs cv = {0}, ch = {0};
	if (!make_coeffs(sh, dh, &cv))
		return false;
	bool ok = true;
	if (sw != dw) {
		/* Only the source rows the vertical pass reads are filtered. */
		int first = cv.bounds[0];
		int last = cv.bounds[2 * (dh - 1)] + cv.bounds[2 * (dh - 1) + 1];
		uint8_t *tmp = NULL;
		if (sh == dh) {
			if (make_coeffs(sw, dw, &ch)) {
				pass_h(src, sw, 0, sh, dst, dw, &ch);
				coeffs_free(&ch);
			} else
				ok = false;
		} else if ((tmp = malloc((size_t)dw * (last - first) * 3)) &&
			   make_coeffs(sw, dw, &ch)) {
			pass_h(src, sw, first, last - first, tmp, dw, &ch);
			coeffs_free(&ch);
			pass_v(tmp, dw, first, dst, dh, &cv);
		} else
			ok = false;
		free(tmp);
	} else
		pass_v(src, sw, 0, dst, dh, &cv);
	coeffs_free(&cv);
	return ok;
}

