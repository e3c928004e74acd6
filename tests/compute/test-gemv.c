/* test-gemv.c - the AVX-512 matrix-vector kernels against the portable loops
 * (their oracle) for every stored dtype and awkward row lengths, and
 * ocr2_linear's gemv and sgemm paths against each other. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compute/kernels.h"
#include "rand.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void)
{
	return test_frand(&rng);
}

/* Relative to the sum of |w x| terms: the only difference between the two
 * paths is summation order, bounded by ~k * eps * sum|w x|. */
static void compare(const char *what, const float *a, const float *b, const float *scale, int n,
		    int k)
{
	double worst = 0;
	for (int i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]) / (scale[i] + 1e-30);
		if (e > worst)
			worst = e;
	}
	double tol = 4.0 * k * 1.2e-7; /* k * eps with margin */
	CHECK(worst <= tol, "%s k=%d: worst relative error %.3g > %.3g", what, k, worst, tol);
}

static void test_dtype(ocr2_dtype dt, int m, int k)
{
	size_t n = (size_t)m * k;
	float *wf = malloc(n * sizeof *wf), *x = malloc((size_t)k * sizeof *x);
	float *y0 = malloc((size_t)m * sizeof *y0), *y1 = malloc((size_t)m * sizeof *y1);
	float *scale = calloc((size_t)m, sizeof *scale);
	void *data = NULL;
	float *scales = NULL;
	for (size_t i = 0; i < n; i++)
		wf[i] = frand();
	for (int i = 0; i < k; i++)
		x[i] = frand() * 3;
	ocr2_tensor t = {.name = "w", .dtype = dt, .ndim = 2, .shape = {m, k}, .nelem = (int64_t)n};
	if (dt == OCR2_DT_F32)
		data = wf;
	else if (dt == OCR2_DT_BF16) {
		uint16_t *h = malloc(n * 2);
		for (size_t i = 0; i < n; i++)
			h[i] = ocr2_f32_to_bf16(wf[i]);
		data = h;
	} else { /* Q8 */
		int8_t *q = malloc(n);
		scales = malloc(n / 32 * sizeof *scales);
		for (size_t b = 0; b < n / 32; b++) {
			float mx = 0;
			for (int i = 0; i < 32; i++)
				mx = fmaxf(mx, fabsf(wf[b * 32 + i]));
			scales[b] = mx / 127;
			for (int i = 0; i < 32; i++)
				q[b * 32 + i] = (int8_t)lrintf(wf[b * 32 + i] / (scales[b] ? scales[b] : 1));
		}
		data = q;
		t.scales = scales;
	}
	t.data = data;
	for (int r = 0; r < m; r++)
		for (int i = 0; i < k; i++)
			scale[r] += fabsf(ocr2_tensor_f32(&t, (int64_t)r * k + i) * x[i]);
	ocr2_gemv_rows_ref(&t, x, k, 0, m, y0);
	ocr2_gemv_rows(&t, x, k, 0, m, y1);
	char what[64];
	snprintf(what, sizeof what, "gemv dtype %d", (int)dt);
	compare(what, y0, y1, scale, m, k);
	/* a row sub-range lands at y[0] */
	if (m > 3) {
		ocr2_gemv_rows(&t, x, k, 1, m - 1, y1);
		compare("gemv sub-range", y0 + 1, y1, scale + 1, m - 2, k);
	}
	/* ocr2_linear: 1 row (gemv, pooled) vs 5 rows (sgemm) give the same rows */
	{
		float *xs = malloc((size_t)5 * k * sizeof *xs), *ys = malloc((size_t)5 * m * sizeof *ys);
		for (int t5 = 0; t5 < 5; t5++)
			memcpy(xs + (size_t)t5 * k, x, (size_t)k * sizeof *x);
		ocr2_pool *pool = ocr2_pool_new(2);
		ocr2_linear(pool, x, 1, k, &t, NULL, y1);
		compare("linear n=1", y0, y1, scale, m, k);
		/* q8's sgemm path reads x unrounded: test_q8x bounds it instead */
		if (dt != OCR2_DT_Q8) {
			ocr2_linear(pool, xs, 5, k, &t, NULL, ys);
			compare("linear n=5 row 4", y0, ys + (size_t)4 * m, scale, m, k);
		}
		ocr2_pool_free(pool);
		free(xs);
		free(ys);
	}
	if (data != wf)
		free(data);
	free(scales);
	free(wf);
	free(x);
	free(y0);
	free(y1);
	free(scale);
}

static bool same_bits(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n) == 0;
}

/* The q8 products' own numbers: x rounded to int16 per block of 32.
 * - the SIMD quantizer gives the portable one's q and s bit for bit, edge
 *   blocks included (zeros, below the tiny cut, NaN, inf, huge, ties);
 * - every path (portable, SIMD, ocr2_linear n=1, ocr2_gemv_batch) stays
 *   within the rounding bound of the exact product with the dequantized
 *   weights: sum_b |scale_b| sum_i |q_i| (s_b / 2) (+ 1 % for the f32 rounding
 *   of x * 32767/m and of s itself) + k eps sum |w x|; the prequantized paths
 *   equal ocr2_gemv_rows bit for bit; the sgemm path (n >= 4) reads x
 *   unrounded and stays within k eps;
 * - a NaN or inf in x makes every output NaN, as f32 arithmetic would. */
static void test_q8x(int m, int k)
{
	size_t n = (size_t)m * k;
	int nb = k / 32;
	int8_t *q = malloc(n);
	float *sc = malloc(n / 32 * sizeof *sc), *x = malloc((size_t)k * sizeof *x);
	int16_t *xq0 = malloc((size_t)k * 2), *xq1 = malloc((size_t)k * 2);
	float *xs0 = malloc((size_t)nb * 4), *xs1 = malloc((size_t)nb * 4);
	float *y[4], *ys = malloc((size_t)5 * m * sizeof *ys), *xs5 = malloc((size_t)5 * k * 4);
	for (int i = 0; i < 4; i++)
		y[i] = malloc((size_t)m * sizeof **y);
	for (size_t i = 0; i < n; i++)
		q[i] = (int8_t)(frand() * 127.99f);
	for (size_t b = 0; b < n / 32; b++)
		sc[b] = (0.5f + frand()) * 0.01f;
	/* blocks of very different size, as activations with outlier channels */
	for (int i = 0; i < k; i++)
		x[i] = frand() * ((i / 32) % 4 == 1 ? 300.0f : (i / 32) % 4 == 2 ? 1e-3f : 1.0f);
	ocr2_tensor t = {.name = "w", .dtype = OCR2_DT_Q8, .ndim = 2, .shape = {m, k},
			 .nelem = (int64_t)n, .data = q, .scales = sc};
	ocr2_q8x_quantize_ref(x, k, xq0, xs0);
	ocr2_q8x_quantize(x, k, xq1, xs1);
	CHECK(same_bits(xq0, xq1, (size_t)k * 2) && same_bits(xs0, xs1, (size_t)nb * 4),
	      "q8x quantize k=%d: SIMD and portable differ", k);
	ocr2_gemv_rows_ref(&t, x, k, 0, m, y[0]);
	ocr2_gemv_rows(&t, x, k, 0, m, y[1]);
	ocr2_pool *pool = ocr2_pool_new(2);
	ocr2_linear(pool, x, 1, k, &t, NULL, y[2]);
	ocr2_gemv_task task = {&t, x, y[3], 1};
	ocr2_gemv_batch(pool, &task, 1);
	for (int i = 0; i < 5; i++)
		memcpy(xs5 + (size_t)i * k, x, (size_t)k * 4);
	ocr2_linear(pool, xs5, 5, k, &t, NULL, ys);
	ocr2_pool_free(pool);
	CHECK(same_bits(y[1], y[2], (size_t)m * 4) && same_bits(y[1], y[3], (size_t)m * 4),
	      "q8 k=%d: ocr2_linear/ocr2_gemv_batch differ from ocr2_gemv_rows", k);
	double worst = 0, worst_sgemm = 0, used = 0;
	for (int r = 0; r < m; r++) {
		double exact = 0, mag = 0, round = 0;
		for (int b = 0; b < nb; b++)
			for (int i = 0; i < 32; i++) {
				size_t e = (size_t)r * k + b * 32 + i;
				double w = (double)q[e] * sc[e / 32];
				exact += w * x[b * 32 + i];
				mag += fabs(w * x[b * 32 + i]);
				round += fabs(w) * 0.505 * xs0[b];
			}
		double bound = round + 4.0 * k * 1.2e-7 * mag;
		for (int i = 0; i < 4; i++) {
			double e = fabs(y[i][r] - exact) / bound;
			worst = e > worst || e != e ? e : worst;
		}
		double e5 = fabs(ys[(size_t)4 * m + r] - exact) / (4.0 * k * 1.2e-7 * mag + 1e-30);
		worst_sgemm = e5 > worst_sgemm || e5 != e5 ? e5 : worst_sgemm;
		used = round / mag > used ? round / mag : used;
	}
	CHECK(worst <= 1 && worst_sgemm <= 1,
	      "q8 k=%d: error %.3g of the rounding bound (sgemm path %.3g of k eps)", k, worst,
	      worst_sgemm);
	/* the bound must stay small to mean anything */
	CHECK(used < 1e-3, "q8 k=%d: rounding bound %.3g of sum |w x|", k, used);
	/* F16 scales (what quantize writes): the same products as F32 scales
	 * holding the same (f16-rounded) values, bit for bit, on both paths */
	{
		uint16_t *sh = malloc(n / 32 * sizeof *sh);
		float *sr = malloc(n / 32 * sizeof *sr), *h0 = malloc((size_t)m * 4),
		      *h1 = malloc((size_t)m * 4);
		for (size_t b = 0; b < n / 32; b++) {
			sh[b] = ocr2_f32_to_f16(sc[b]);
			sr[b] = ocr2_f16_to_f32(sh[b]);
		}
		ocr2_tensor th = t, tr = t;
		th.scales = NULL;
		th.scales_h = sh;
		tr.scales = sr;
		for (int simd = 0; simd < 2; simd++) {
			if (simd) {
				ocr2_gemv_rows(&th, x, k, 0, m, h0);
				ocr2_gemv_rows(&tr, x, k, 0, m, h1);
			} else {
				ocr2_gemv_rows_ref(&th, x, k, 0, m, h0);
				ocr2_gemv_rows_ref(&tr, x, k, 0, m, h1);
			}
			CHECK(same_bits(h0, h1, (size_t)m * 4),
			      "q8 k=%d: F16 scales differ from the same values in F32 (%s)", k,
			      simd ? "SIMD" : "portable");
		}
		free(sh);
		free(sr);
		free(h0);
		free(h1);
	}
	/* NaN and inf in x poison every output */
	for (int bad = 0; bad < 2 && k >= 64; bad++) {
		x[40] = bad ? INFINITY : NAN;
		ocr2_gemv_rows_ref(&t, x, k, 0, m, y[0]);
		ocr2_gemv_rows(&t, x, k, 0, m, y[1]);
		for (int r = 0; r < m; r++)
			if (!isnan(y[0][r]) || !isnan(y[1][r])) {
				FAIL("q8 k=%d: %s in x gave %g / %g in row %d", k, bad ? "inf" : "NaN",
				     y[0][r], y[1][r], r);
				break;
			}
	}
	/* edge blocks for the quantizer: zeros, below the tiny cut, huge, exact
	 * maxima, values on a rounding tie, NaN, -inf */
	{
		static const float edge[][4] = {{0, 0, 0, 0},        {1e-31f, -1e-32f, 0, 0},
						{3e38f, -3e38f, 1, 0}, {32767, -32767, 0.5f, -1.5f},
						{1, 0.5f / 32767, -1.5f / 32767, 2.5f / 32767},
						{NAN, 1, 2, 3},     {-INFINITY, 1, 0, 0}};
		int ne = (int)(sizeof edge / sizeof *edge), ke = ne * 32;
		float *xe = calloc((size_t)ke, sizeof *xe);
		int16_t *a = malloc((size_t)ke * 2), *bq = malloc((size_t)ke * 2);
		float *sa = malloc((size_t)ne * 4), *sb = malloc((size_t)ne * 4);
		for (int b = 0; b < ne; b++)
			for (int i = 0; i < 4; i++)
				xe[b * 32 + i * 7] = edge[b][i];
		ocr2_q8x_quantize_ref(xe, ke, a, sa);
		ocr2_q8x_quantize(xe, ke, bq, sb);
		CHECK(same_bits(a, bq, (size_t)ke * 2) && same_bits(sa, sb, (size_t)ne * 4) &&
		      sa[1] == 0 && isnan(sa[5]) && isnan(sa[6]) && a[3 * 32] == 32767 &&
		      a[4 * 32] == 32767 && a[4 * 32 + 7] == 0 && a[4 * 32 + 14] == -2 &&
		      a[4 * 32 + 21] == 2,
		      "q8x quantize: edge blocks");
		free(xe);
		free(a);
		free(bq);
		free(sa);
		free(sb);
	}
	for (int i = 0; i < 4; i++)
		free(y[i]);
	free(ys);
	free(xs5);
	free(q);
	free(sc);
	free(x);
	free(xq0);
	free(xq1);
	free(xs0);
	free(xs1);
}

/* ocr2_gemv_batch_glu against ocr2_gemv_batch then ocr2_silu_mul, bit for
 * bit: q8, bf16 and f32 pairs of different heights (big ones split into
 * pieces, small ones whole), two inputs, 1-3 threads. */
/* Several input rows in one task (decode rows of several pages): each row's
 * output is bit for bit the output of a task of that row alone, for every
 * dtype and row count (the AVX2 q8 kernel takes the rows four at a time),
 * through ocr2_gemv_batch, ocr2_gemv_batch_glu and ocr2_linear (n < 4). */
static void test_rows(ocr2_dtype dt, bool half_scales, int m, int k)
{
	size_t n = (size_t)m * k;
	enum { R = 9 };
	void *data = malloc(n * 4);
	float *sc = malloc(n / 32 * sizeof *sc);
	uint16_t *sh = malloc(n / 32 * sizeof *sh);
	for (size_t i = 0; i < n; i++) {
		float v = frand();
		if (dt == OCR2_DT_F32)
			((float *)data)[i] = v;
		else if (dt == OCR2_DT_BF16)
			((uint16_t *)data)[i] = ocr2_f32_to_bf16(v);
		else
			((int8_t *)data)[i] = (int8_t)(v * 127.99f);
	}
	for (size_t b = 0; b < n / 32; b++) {
		sc[b] = (0.5f + frand()) * 0.01f;
		sh[b] = 0x2000 + (uint16_t)(b % 512); /* f16 around 2^-7 */
	}
	ocr2_tensor t = {.name = "w", .dtype = dt, .ndim = 2, .shape = {m, k}, .nelem = (int64_t)n,
			 .data = data, .nbytes = n * (dt == OCR2_DT_F32 ? 4 : dt == OCR2_DT_BF16 ? 2 : 1)};
	if (dt == OCR2_DT_Q8) {
		if (half_scales)
			t.scales_h = sh;
		else
			t.scales = sc;
	}
	float *x = malloc((size_t)R * k * 4), *y = malloc((size_t)R * m * 4);
	float *one = malloc((size_t)m * 4), *g = malloc((size_t)R * m * 4);
	float *u = malloc((size_t)R * m * 4), *g1 = malloc((size_t)m * 4), *u1 = malloc((size_t)m * 4);
	for (int i = 0; i < R * k; i++)
		x[i] = frand() * (i % 97 == 0 ? 50.0f : 1.0f);
	ocr2_pool *pool = ocr2_pool_new(2);
	for (int rows = 1; rows <= R; rows++) {
		ocr2_gemv_task tk = {&t, x, y, rows};
		ocr2_gemv_batch(pool, &tk, 1);
		ocr2_gemv_task glu[2] = {{&t, x, g, rows}, {&t, x + k, u, rows}};
		if (rows < R)
			ocr2_gemv_batch_glu(pool, glu, 1);
		int bad = 0, bad_glu = 0, bad_lin = 0;
		for (int r = 0; r < rows; r++) {
			ocr2_gemv_task t1 = {&t, x + (size_t)r * k, one, 1};
			ocr2_gemv_batch(pool, &t1, 1);
			bad += !same_bits(one, y + (size_t)r * m, (size_t)m * 4);
			if (rows < R) {
				ocr2_gemv_task p1[2] = {{&t, x + (size_t)r * k, g1, 1},
							{&t, x + (size_t)(r + 1) * k, u1, 1}};
				ocr2_gemv_batch_glu(pool, p1, 1);
				bad_glu += !same_bits(g1, g + (size_t)r * m, (size_t)m * 4);
			}
		}
		if (rows < 4) { /* ocr2_linear's row loop */
			ocr2_linear(pool, x, rows, k, &t, NULL, u);
			bad_lin = !same_bits(u, y, (size_t)rows * m * 4);
		}
		CHECK(!bad && !bad_glu && !bad_lin,
		      "%s%s m=%d k=%d, %d rows in one task: %d rows differ from alone (glu %d, linear %d)",
		      ocr2_dtype_name(dt), half_scales ? " (f16 scales)" : "", m, k, rows, bad,
		      bad_glu, bad_lin);
	}
	ocr2_pool_free(pool);
	free(data);
	free(sc);
	free(sh);
	free(x);
	free(y);
	free(one);
	free(g);
	free(u);
	free(g1);
	free(u1);
}

static void test_glu(void)
{
	enum { PAIRS = 5, K = 256 };
	int rows[PAIRS] = {896, 40, 1792, 7, 300};
	ocr2_dtype dts[PAIRS] = {OCR2_DT_Q8, OCR2_DT_Q8, OCR2_DT_BF16, OCR2_DT_F32, OCR2_DT_Q8};
	ocr2_tensor w[2 * PAIRS];
	void *data[2 * PAIRS];
	float *sc[2 * PAIRS], *x[2], *y0[2 * PAIRS], *y1[2 * PAIRS];
	for (int i = 0; i < 2; i++) {
		x[i] = malloc(K * sizeof(float));
		for (int e = 0; e < K; e++)
			x[i][e] = 2 * frand();
	}
	for (int i = 0; i < 2 * PAIRS; i++) {
		int m = rows[i / 2];
		size_t n = (size_t)m * K;
		ocr2_dtype dt = dts[i / 2];
		w[i] = (ocr2_tensor){.name = "w", .dtype = dt, .ndim = 2, .shape = {m, K},
				     .nelem = (int64_t)n};
		sc[i] = NULL;
		if (dt == OCR2_DT_Q8) {
			int8_t *q = malloc(n);
			sc[i] = malloc(n / 32 * sizeof(float));
			for (size_t e = 0; e < n; e++)
				q[e] = (int8_t)(frand() * 127.99f);
			for (size_t b = 0; b < n / 32; b++)
				sc[i][b] = (0.5f + frand()) * 0.02f;
			data[i] = q;
			w[i].scales = sc[i];
		} else if (dt == OCR2_DT_BF16) {
			uint16_t *h = malloc(n * 2);
			for (size_t e = 0; e < n; e++)
				h[e] = ocr2_f32_to_bf16(frand() * 0.2f);
			data[i] = h;
		} else {
			float *f = malloc(n * sizeof *f);
			for (size_t e = 0; e < n; e++)
				f[e] = frand() * 0.2f;
			data[i] = f;
		}
		w[i].data = data[i];
		y0[i] = malloc((size_t)m * sizeof(float));
		y1[i] = malloc((size_t)m * sizeof(float));
	}
	ocr2_gemv_task t0[2 * PAIRS], t1[2 * PAIRS];
	for (int i = 0; i < 2 * PAIRS; i++) {
		t0[i] = (ocr2_gemv_task){&w[i], x[(i / 2) % 2], y0[i], 1};
		t1[i] = (ocr2_gemv_task){&w[i], x[(i / 2) % 2], y1[i], 1};
	}
	int threads[] = {1, 2, 3};
	for (int ti = 0; ti < 3; ti++) {
		ocr2_pool *pool = ocr2_pool_new(threads[ti]);
		ocr2_gemv_batch(pool, t0, 2 * PAIRS);
		for (int p = 0; p < PAIRS; p++)
			ocr2_silu_mul(NULL, y0[2 * p], y0[2 * p + 1], rows[p]);
		ocr2_gemv_batch_glu(pool, t1, PAIRS);
		for (int p = 0; p < PAIRS; p++)
			CHECK(same_bits(y0[2 * p], y1[2 * p], (size_t)rows[p] * 4),
			      "glu: pair %d (%d rows) differs, %d threads", p, rows[p], threads[ti]);
		ocr2_pool_free(pool);
	}
	for (int i = 0; i < 2 * PAIRS; i++) {
		free(data[i]);
		free(sc[i]);
		free(y0[i]);
		free(y1[i]);
	}
	free(x[0]);
	free(x[1]);
}

/* ocr2_pool_run_ranges covers [0, n) exactly once with non-empty chunks
 * inside it, whatever the thread count and the smallest chunk, also when
 * one share is slow and the others steal from it. */
typedef struct {
	_Atomic int *seen;
	int64_t n, min_chunk, share0_end;
	_Atomic int bad, chunks;
} ranges_check;

static void ranges_fn(void *arg, int64_t a, int64_t b)
{
	ranges_check *r = arg;
	if (a < 0 || b > r->n || a >= b)
		atomic_fetch_add(&r->bad, 1);
	atomic_fetch_add(&r->chunks, 1);
	for (int64_t i = a; i < b && i >= 0 && i < r->n; i++) {
		atomic_fetch_add(&r->seen[i], 1);
		if (i < r->share0_end) { /* the first share is slow */
			volatile double x = 1;
			for (int s = 0; s < 2000; s++)
				x = x * 1.0000001;
		}
	}
}

static void test_ranges(void)
{
	int threads[] = {1, 2, 3, 5};
	int64_t ns[] = {0, 1, 15, 16, 17, 100, 1000, 100003};
	int64_t mins[] = {1, 16, 64};
	for (size_t ti = 0; ti < 4; ti++) {
		ocr2_pool *pool = ocr2_pool_new(threads[ti]);
		for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
			for (size_t mi = 0; mi < 3; mi++)
				for (int slow = 0; slow < 2; slow++) {
					int64_t n = ns[ni];
					if (slow && n > 1000)
						continue;
					ranges_check r = {calloc((size_t)n + 1, sizeof(int)), n, mins[mi],
							  slow ? n / threads[ti] : 0, 0, 0};
					ocr2_pool_run_ranges(pool, ranges_fn, &r, n, mins[mi]);
					int64_t wrong = 0;
					for (int64_t i = 0; i < n; i++)
						wrong += atomic_load(&r.seen[i]) != 1;
					CHECK(!(wrong || atomic_load(&r.bad) ||
						(n > 0 && atomic_load(&r.chunks) < 1) ||
						atomic_load(&r.chunks) > n),
					      "ranges: %d threads, n=%lld, min %lld, slow %d: "
					      "%lld rows not seen once, %d bad chunks",
					      threads[ti], (long long)n, (long long)mins[mi], slow,
					      (long long)wrong, atomic_load(&r.bad));
					free((void *)r.seen);
				}
		ocr2_pool_free(pool);
	}
}

int main(void)
{
	printf("gemv kernel: %s\n", ocr2_gemv_kernel_name());
	int ks[] = {1, 15, 16, 17, 31, 32, 33, 64, 100, 896, 1280, 1281};
	for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
		test_dtype(OCR2_DT_F32, 37, ks[i]);
		test_dtype(OCR2_DT_BF16, 37, ks[i]);
		if (ks[i] % 32 == 0)
			test_dtype(OCR2_DT_Q8, 37, ks[i]);
	}
	test_dtype(OCR2_DT_BF16, 1000, 1280);
	test_ranges();
	test_glu();
	test_rows(OCR2_DT_F32, false, 300, 100);
	test_rows(OCR2_DT_BF16, false, 300, 1281);
	test_rows(OCR2_DT_Q8, false, 300, 1280);
	test_rows(OCR2_DT_Q8, true, 300, 896);
	test_rows(OCR2_DT_Q8, true, 50, 8192 + 32);
	int qks[] = {32, 64, 96, 896, 1280, 6848, 8192 + 32};
	for (size_t i = 0; i < sizeof qks / sizeof *qks; i++)
		test_q8x(45, qks[i]);
	/* one attention row: the SIMD kernel (AVX-512: hd % 16 == 0, AVX2: hd % 8) against the plain loop,
	 * head sizes on both sides of its 128-column pass, odd key counts */
	int hds[] = {8, 16, 48, 64, 128, 144, 256};
	int nks[] = {1, 2, 17, 300, 1131};
	for (size_t i = 0; i < sizeof hds / sizeof *hds; i++)
		for (size_t j = 0; j < sizeof nks / sizeof *nks; j++) {
			int hd = hds[i], nk = nks[j];
			float *q = malloc((size_t)hd * sizeof *q);
			float *K = malloc((size_t)nk * hd * sizeof *K), *V = malloc((size_t)nk * hd * sizeof *V);
			float *s0 = malloc((size_t)nk * sizeof *s0), *s1 = malloc((size_t)nk * sizeof *s1);
			float *o0 = malloc((size_t)hd * sizeof *o0), *o1 = malloc((size_t)hd * sizeof *o1);
			float *vs = malloc((size_t)hd * sizeof *vs);
			for (int e = 0; e < hd; e++)
				q[e] = 3 * frand();
			for (int e = 0; e < nk * hd; e++) {
				K[e] = frand();
				V[e] = frand();
			}
			float sc = 1.0f / sqrtf((float)hd);
			ocr2_attend_ref(q, K, V, nk, hd, sc, s0, o0);
			ocr2_attend(q, K, V, nk, hd, sc, s1, o1);
			/* the output is a convex combination of V rows: its error scale
			 * is max|V| = 1, plus what the probabilities carry */
			for (int e = 0; e < hd; e++)
				vs[e] = 1;
			char what[64];
			snprintf(what, sizeof what, "attend hd=%d nk=%d", hd, nk);
			compare(what, o0, o1, vs, hd, hd + nk);
			/* a bf16 cache: K and V rounded, then the bf16 kernel against
			 * its loop, and against the f32 loop on the widened values
			 * (the same numbers up to summation order); where the f32
			 * kernel is AVX2 too, the two kernels agree bit for bit */
			uint16_t *Kb = malloc((size_t)nk * hd * sizeof *Kb),
				 *Vb = malloc((size_t)nk * hd * sizeof *Vb);
			for (int e = 0; e < nk * hd; e++) {
				Kb[e] = ocr2_f32_to_bf16(K[e]);
				Vb[e] = ocr2_f32_to_bf16(V[e]);
				K[e] = ocr2_bf16_to_f32(Kb[e]);
				V[e] = ocr2_bf16_to_f32(Vb[e]);
			}
			ocr2_attend_bf16_ref(q, Kb, Vb, nk, hd, sc, s0, o0);
			ocr2_attend_bf16(q, Kb, Vb, nk, hd, sc, s1, o1);
			snprintf(what, sizeof what, "attend bf16 hd=%d nk=%d", hd, nk);
			compare(what, o0, o1, vs, hd, hd + nk);
			ocr2_attend_ref(q, K, V, nk, hd, sc, s1, o1);
			CHECK(!memcmp(o0, o1, (size_t)hd * sizeof *o0),
			      "attend bf16 hd=%d nk=%d: the loop is not the f32 loop on the widened cache",
			      hd, nk);
			if (ocr2_have_avx2() && !ocr2_have_avx512()) {
				ocr2_attend(q, K, V, nk, hd, sc, s0, o0);
				ocr2_attend_bf16(q, Kb, Vb, nk, hd, sc, s1, o1);
				CHECK(!memcmp(o0, o1, (size_t)hd * sizeof *o0),
				      "attend bf16 hd=%d nk=%d: not the AVX2 f32 kernel's numbers", hd, nk);
			}
			free(Kb);
			free(Vb);
			free(q);
			free(K);
			free(V);
			free(s0);
			free(s1);
			free(o0);
			free(o1);
			free(vs);
		}
	/* GELU: the polynomial erf against erff. The error of erf itself is
	 * |g - g_ref| / (|x|/2); A&S 7.1.26 promises 1.5e-7 in exact arithmetic
	 * and f32 evaluation adds a few ulp (measured: 4.6e-7). Where |x| < 1 the bound is taken
	 * against 1/2 (absolute). Edge values: signed zeros, tiny, huge. */
	{
		static const float edge[] = {0, -0.0f, 1e-30f, -1e-30f, 40, -40, 1e30f, -1e30f};
		int n = 100003, ne = (int)(sizeof edge / sizeof *edge);
		float *in = malloc((size_t)n * sizeof *in), *a = malloc((size_t)n * sizeof *a),
		      *b = malloc((size_t)n * sizeof *b);
		for (int e = 0; e < n; e++)
			in[e] = e < ne ? edge[e] : frand() * (e % 3 ? 6 : 30);
		memcpy(a, in, (size_t)n * sizeof *a);
		memcpy(b, in, (size_t)n * sizeof *b);
		ocr2_gelu_ref(a, n);
		ocr2_gelu(NULL, b, n);
		double worst = 0;
		for (int e = 0; e < n; e++) {
			double d = fabs((double)a[e] - b[e]), x = fabs((double)in[e]);
			double err = d / (0.5 * (x > 1 ? x : 1));
			if (!(err <= worst) && !(err > worst)) { /* NaN */
				worst = INFINITY;
				break;
			}
			if (err > worst)
				worst = err;
		}
		CHECK(worst <= 1e-6, "gelu: worst erf error %.3g > 1e-6", worst);
		free(in);
		free(a);
		free(b);
	}
	/* softmax: vectorised vs the loop, with masked (-inf) entries and odd lengths */
	int ns[] = {1, 7, 16, 33, 196, 1131, 4096};
	for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
		int n = ns[i];
		float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
		for (int e = 0; e < n; e++)
			a[e] = b[e] = (e % 5 == 3 && n > 1) ? -INFINITY : frand() * 30;
		ocr2_softmax_ref(a, n);
		ocr2_softmax(b, n);
		double worst = 0;
		for (int e = 0; e < n; e++) {
			if ((a[e] == 0) != (b[e] == 0)) {
				FAIL("softmax n=%d: zero pattern differs at %d", n, e);
				break;
			}
			double d = fabs((double)a[e] - b[e]) / (a[e] + 1e-30);
			if (a[e] > 1e-30 && d > worst)
				worst = d;
		}
		/* a few ulp of exp plus summation order */
		CHECK(!(worst > 1e-5), "softmax n=%d: worst relative error %.3g", n, worst);
		free(a);
		free(b);
	}
	return check_done();
}
