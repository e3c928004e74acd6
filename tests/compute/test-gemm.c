/* test-gemm.c - the bf16 products of the encoder (--precision bf16) (lib/compute/gemm.c) against their
 * portable oracle, which rounds x to bf16 the same way: awkward shapes (row
 * tails under the 12-row kernel, column tails under the 32-column panel, odd
 * k), bias, thread-count independence, and which products use it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compute/kernels.h"
#include "rand.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float frand(void)
{
	return test_frand(&rng);
}

/* relative to sum |x w| per element: the two differ only in summation order
 * (k eps with margin), both reading the same bf16 x */
static double worst_err(const float *a, const float *b, const float *x, const uint16_t *w, int n,
			int k, int m)
{
	double worst = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m; j++) {
			double mag = 1e-30;
			for (int p = 0; p < k; p++)
				mag += fabs((double)x[(size_t)i * k + p] *
					    ocr2_bf16_to_f32(w[(size_t)j * k + p]));
			double e = fabs((double)a[(size_t)i * m + j] - b[(size_t)i * m + j]) / mag;
			if (e > worst || e != e)
				worst = e;
		}
	return worst;
}

static void test_shape(int n, int k, int m, bool with_bias)
{
	float *x = malloc((size_t)n * k * sizeof *x), *bias = malloc((size_t)m * sizeof *bias);
	uint16_t *w = malloc((size_t)m * k * sizeof *w);
	float *y0 = malloc((size_t)n * m * sizeof *y0), *y1 = malloc((size_t)n * m * sizeof *y1);
	float *y2 = malloc((size_t)n * m * sizeof *y2);
	for (size_t i = 0; i < (size_t)n * k; i++)
		x[i] = frand() * (i % 11 == 0 ? 40.f : 1.f);
	for (size_t i = 0; i < (size_t)m * k; i++)
		w[i] = ocr2_f32_to_bf16(frand() * 0.1f);
	for (int j = 0; j < m; j++)
		bias[j] = frand();
	const float *b = with_bias ? bias : NULL;
	ocr2_gemm_bf16_ref(x, n, k, w, m, b, y0);
	ocr2_pool *p1 = ocr2_pool_new(1), *p3 = ocr2_pool_new(3);
	bool ran = ocr2_gemm_bf16(p1, x, n, k, w, m, b, y1) && ocr2_gemm_bf16(p3, x, n, k, w, m, b, y2);
	CHECK(ran, "gemm n=%d k=%d m=%d: did not run", n, k, m);
	if (ran) {
		double e = worst_err(y0, y1, x, w, n, k, m);
		CHECK(e <= 4.0 * (k + 1) * 1.2e-7, "gemm n=%d k=%d m=%d bias=%d: error %.3g", n, k, m,
		      with_bias, e);
		CHECK(!memcmp(y1, y2, (size_t)n * m * sizeof *y1),
		      "gemm n=%d k=%d m=%d: 1 and 3 threads differ", n, k, m);
	}
	ocr2_pool_free(p1);
	ocr2_pool_free(p3);
	free(x);
	free(bias);
	free(w);
	free(y0);
	free(y1);
	free(y2);
}

/* The one-thread products on packed f32 operands (SAM attention): strided
 * a, b as rows (keys) or as columns (values), alpha; against the oracle on
 * compact copies with b rounded to bf16 the same way. */
static void test_packed(int n, int k, int m, bool by_columns)
{
	int lda = k + 3, ldb = (by_columns ? m : k) + 5, ldc = m + 2;
	int brows = by_columns ? k : m;
	float *a = malloc((size_t)n * lda * 4), *b = malloc((size_t)brows * ldb * 4);
	float *ac = malloc((size_t)n * k * 4), *c = malloc((size_t)n * ldc * 4);
	float *ref = malloc((size_t)n * m * 4);
	uint16_t *w = malloc((size_t)m * k * 2);
	for (size_t i = 0; i < (size_t)n * lda; i++)
		a[i] = frand() * 3;
	for (size_t i = 0; i < (size_t)brows * ldb; i++)
		b[i] = frand();
	for (int i = 0; i < n; i++)
		memcpy(ac + (size_t)i * k, a + (size_t)i * lda, (size_t)k * 4);
	for (int j = 0; j < m; j++)
		for (int p = 0; p < k; p++)
			w[(size_t)j * k + p] = ocr2_f32_to_bf16(
				by_columns ? b[(size_t)p * ldb + j] : b[(size_t)j * ldb + p]);
	float alpha = 0.125f;
	ocr2_gemm_bf16_ref(ac, n, k, w, m, NULL, ref);
	for (size_t i = 0; i < (size_t)n * m; i++)
		ref[i] *= alpha;
	ocr2_bf16_operand *o = ocr2_bf16_pack_f32(b, ldb, m, k, by_columns);
	bool ran = o && ocr2_gemm_bf16_st(a, lda, n, o, alpha, c, ldc);
	ocr2_bf16_operand_free(o);
	CHECK(ran, "packed n=%d k=%d m=%d: did not run", n, k, m);
	if (ran) {
		for (int i = 0; i < n; i++) /* compact c for the comparison */
			memmove(c + (size_t)i * m, c + (size_t)i * ldc, (size_t)m * 4);
		double e = worst_err(ref, c, ac, w, n, k, m) / alpha;
		CHECK(e <= 4.0 * (k + 1) * 1.2e-7, "packed n=%d k=%d m=%d cols=%d: error %.3g", n, k,
		      m, by_columns, e);
	}
	free(a);
	free(b);
	free(ac);
	free(c);
	free(ref);
	free(w);
}

/* ocr2_linear_vision takes the bf16 path when asked, for bf16 weights and
 * n >= 4, on a CPU that runs it; ocr2_linear (the language model's) never
 * does, nor does ocr2_linear_vision when not asked: those give the f32
 * result, which differs. Without avx512_bf16 asking changes nothing. */
static void test_linear_vision(void)
{
	int n = 40, k = 96, m = 50;
	size_t ny = (size_t)n * m * 4;
	float *x = malloc((size_t)n * k * 4), *yv = malloc(ny), *yl = malloc(ny), *yoff = malloc(ny),
	      *yr = malloc(ny);
	uint16_t *w = malloc((size_t)m * k * 2);
	for (int i = 0; i < n * k; i++)
		x[i] = frand();
	for (int i = 0; i < m * k; i++)
		w[i] = ocr2_f32_to_bf16(frand());
	ocr2_tensor t = {.name = "w", .dtype = OCR2_DT_BF16, .ndim = 2, .shape = {m, k},
			 .nelem = (int64_t)m * k, .data = w};
	ocr2_pool *pool = ocr2_pool_new(2);
	ocr2_linear_vision(pool, true, x, n, k, &t, NULL, yv);
	ocr2_linear(pool, x, n, k, &t, NULL, yl);
	ocr2_gemm_bf16_ref(x, n, k, w, m, NULL, yr);
	ocr2_linear_vision(pool, false, x, n, k, &t, NULL, yoff);
	ocr2_pool_free(pool);
	if (ocr2_gemm_bf16_available())
		CHECK(worst_err(yr, yv, x, w, n, k, m) <= 4.0 * k * 1.2e-7 && memcmp(yv, yl, ny) &&
			      !memcmp(yl, yoff, ny),
		      "ocr2_linear_vision / ocr2_linear: wrong path taken");
	else
		CHECK(!memcmp(yv, yl, ny) && !memcmp(yl, yoff, ny),
		      "ocr2_linear_vision asked for bf16 without avx512_bf16: not the f32 result");
	free(x);
	free(yv);
	free(yl);
	free(yoff);
	free(yr);
	free(w);
}

int main(void)
{
	test_linear_vision();
	if (!ocr2_gemm_bf16_available()) {
		/* the CPU has no avx512_bf16: the feature must refuse, and does */
		float x[4] = {1, 2, 3, 4}, y[4];
		uint16_t w[1] = {0x3f80};
		CHECK(!ocr2_gemm_bf16(NULL, x, 4, 1, w, 1, NULL, y),
		      "bf16 products ran without avx512_bf16");
		CHECK(!ocr2_bf16_pack_f32(x, 2, 2, 2, false), "a bf16 operand packed without avx512_bf16");
		printf("no avx512_bf16 here: checked that the bf16 path stays off\n");
		return check_done();
	}
	int ns[] = {1, 4, 11, 12, 13, 37, 300};
	int ks[] = {1, 2, 3, 31, 32, 64, 768, 897};
	int ms[] = {1, 16, 31, 32, 33, 100};
	for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
		for (size_t c = 0; c < sizeof ks / sizeof *ks; c++)
			for (size_t d = 0; d < sizeof ms / sizeof *ms; d++)
				test_shape(ns[a], ks[c], ms[d], (a + c + d) % 2);
	test_shape(1000, 768, 230, true); /* several row blocks and panel groups */
	int pn[] = {1, 13, 256}, pk[] = {1, 33, 64, 196, 4096}, pm[] = {3, 64, 196, 300};
	for (size_t a = 0; a < 3; a++)
		for (size_t c = 0; c < 5; c++)
			for (size_t d = 0; d < 4; d++)
				if ((size_t)pn[a] * pk[c] * pm[d] <= 60000000) {
					test_packed(pn[a], pk[c], pm[d], false);
					test_packed(pn[a], pk[c], pm[d], true);
				}

	return check_done();
}
