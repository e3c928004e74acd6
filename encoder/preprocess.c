/* preprocess.c - the image side of MODEL.md §3: crop grid, Pillow-exact
 * BICUBIC resize, ImageOps.pad, tiling and normalisation to [-1, 1]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "document/resize.h"
#include "encoder.h"

/* ---- crop grid (MODEL.md §3.2) ---------------------------------------------- */

/* The official code builds a Python set of (cols, rows) pairs and sorts it
 * stably by cols*rows, so ties in the product keep CPython's set iteration
 * order. For min 2 / max 6 that order is the one below (CPython 3.8+ tuple
 * hashing, checked with python3.11). Only exact ties in the aspect distance
 * make the order matter. */
static const int grid_order[][2] = {
	{1, 2}, {2, 1}, {3, 1}, {1, 3}, {4, 1}, {1, 4}, {2, 2},
	{1, 5}, {5, 1}, {6, 1}, {2, 3}, {1, 6}, {3, 2},
};

static void consider(int i, int j, double ar, double area, int tile, double *best_diff,
		     int *cols, int *rows)
{
	double d = fabs(ar - (double)i / (double)j);
	if (d < *best_diff) {
		*best_diff = d;
		*cols = i;
		*rows = j;
	} else if (d == *best_diff && area > 0.5 * tile * tile * i * j) {
		*cols = i;
		*rows = j;
	}
}

void enc_choose_grid(int w, int h, int tile, int min_crops, int max_crops, int *cols, int *rows)
{
	*cols = *rows = 1;
	if (w <= 0 || h <= 0 || (w <= tile && h <= tile) || max_crops < 1)
		return;
	double ar = (double)w / (double)h, area = (double)w * (double)h, best = INFINITY;
	if (min_crops == 2 && max_crops == 6) {
		for (size_t k = 0; k < sizeof grid_order / sizeof grid_order[0]; k++)
			consider(grid_order[k][0], grid_order[k][1], ar, area, tile, &best, cols,
				 rows);
		return;
	}
	/* Other limits (not used by the published model): products ascending,
	 * then the generator's (i, j) order. */
	for (int p = min_crops < 1 ? 1 : min_crops; p <= max_crops; p++)
		for (int i = 1; i <= p; i++)
			if (p % i == 0)
				consider(i, p / i, ar, area, tile, &best, cols, rows);
}

/* ---- Pillow BICUBIC (MODEL.md §3.5): lib/document/resize.c --------------- */

static bool resize(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh)
{
	return ocr2_resize_bicubic(src, sw, sh, dst, dw, dh);
}

ocr2_status enc_resize_bicubic(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh)
{
	if (!resize(src, sw, sh, dst, dw, dh))
		return ocr2_fail(OCR2_ERR_NOMEM, "image: out of memory resizing %dx%d to %dx%d", sw,
				 sh, dw, dh);
	return OCR2_OK;
}

/* ---- ImageOps.pad (MODEL.md §3.3) -------------------------------------------- */

/* Python's round() on a double: half to even. */
static long round_half_even(double x)
{
	double r = nearbyint(x); /* default rounding mode: to nearest, ties to even */
	return (long)r;
}

/* The size ImageOps.contain gives inside a size x size box. */
static void contain_size(int w, int h, int size, int *nw, int *nh)
{
	double im_ratio = (double)w / h;
	*nw = *nh = size;
	if (im_ratio > 1.0)
		*nh = (int)round_half_even((double)h / w * size);
	else if (im_ratio < 1.0)
		*nw = (int)round_half_even((double)w / h * size);
	/* Pillow would refuse a zero side (a > 2048:1 strip); keep one pixel. */
	if (*nw < 1)
		*nw = 1;
	if (*nh < 1)
		*nh = 1;
}

static bool pad_view(const ocr2_image *img, int size, uint8_t *dst)
{
	int nw, nh;
	contain_size(img->width, img->height, size, &nw, &nh);
	if (nw == size && nh == size)
		return resize(img->rgb, img->width, img->height, dst, size, size);
	uint8_t *tmp = malloc((size_t)nw * nh * 3);
	if (!tmp)
		return false;
	bool ok = resize(img->rgb, img->width, img->height, tmp, nw, nh);
	memset(dst, 127, (size_t)size * size * 3); /* int(0.5 * 255) */
	int x0 = 0, y0 = 0;
	if (nw != size)
		x0 = (int)round_half_even((size - nw) * 0.5);
	else
		y0 = (int)round_half_even((size - nh) * 0.5);
	for (int y = 0; y < nh; y++)
		memcpy(dst + ((size_t)(y0 + y) * size + x0) * 3, tmp + (size_t)y * nw * 3,
		       (size_t)nw * 3);
	free(tmp);
	return ok;
}

ocr2_status enc_pad_view(const ocr2_image *img, int size, uint8_t *dst)
{
	if (!pad_view(img, size, dst))
		return ocr2_fail(OCR2_ERR_NOMEM, "image: out of memory padding %dx%d",
				 img->width, img->height);
	return OCR2_OK;
}

/* ---- views (MODEL.md §3.3, §3.4) and normalisation (§3.6) --------------------- */

void enc_normalize(const uint8_t *rgb, int size, float *chw)
{
	size_t n = (size_t)size * size;
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < 3; c++) {
			/* ToTensor divides by 255 in f32, Normalize computes (v - 0.5) / 0.5 */
			float v = (float)rgb[i * 3 + c] / 255.0f;
			chw[c * n + i] = (v - 0.5f) / 0.5f;
		}
}

void enc_views_free(enc_views *v)
{
	if (!v)
		return;
	free(v->global);
	free(v->crops);
	memset(v, 0, sizeof *v);
}

ocr2_status enc_make_views(const ocr2_image *img, const ocr2_config *c, bool no_crop,
			   enc_views *out)
{
	memset(out, 0, sizeof *out);
	if (!img || !img->rgb || img->width <= 0 || img->height <= 0 || img->width > 1 << 15 ||
	    img->height > 1 << 15)
		return ocr2_fail(OCR2_ERR_TOO_LARGE, "image: unusable size %dx%d",
				 img ? img->width : 0, img ? img->height : 0);
	int S = c->base_size, T = c->tile_size, cols = 1, rows = 1;
	if (!no_crop)
		enc_choose_grid(img->width, img->height, T, c->min_crops, c->max_crops, &cols,
				&rows);
	out->cols = cols;
	out->rows = rows;
	out->global = malloc((size_t)S * S * 3);
	if (!out->global || !pad_view(img, S, out->global))
		goto oom;
	if (cols * rows > 1) {
		int W = T * cols, H = T * rows, n = cols * rows;
		uint8_t *big = malloc((size_t)W * H * 3);
		out->crops = malloc((size_t)n * T * T * 3);
		if (!big || !out->crops || !resize(img->rgb, img->width, img->height, big, W, H)) {
			free(big);
			goto oom;
		}
		for (int t = 0; t < n; t++) {
			int cx = t % cols, cy = t / cols;
			uint8_t *d = out->crops + (size_t)t * T * T * 3;
			for (int y = 0; y < T; y++)
				memcpy(d + (size_t)y * T * 3,
				       big + ((size_t)(cy * T + y) * W + (size_t)cx * T) * 3,
				       (size_t)T * 3);
		}
		free(big);
		out->n_crops = n;
	}
	return OCR2_OK;
oom:
	enc_views_free(out);
	return ocr2_fail(OCR2_ERR_NOMEM, "image: out of memory preparing %dx%d views",
			 img->width, img->height);
}
