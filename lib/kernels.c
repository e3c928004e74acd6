/* kernels.c - the numeric building blocks both model halves share: linear
 * layers over any stored dtype, norms, activations, RoPE. Plain C here; the
 * simple loops are the oracle for any faster kernel added later. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

float ocr2_bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t ocr2_f32_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)(u >> 16 | 0x40); /* quiet NaN */
	u += 0x7fff + (u >> 16 & 1);
	return (uint16_t)(u >> 16);
}

uint16_t ocr2_f32_to_f16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
	if ((u & 0x7fffffff) > 0x7f800000)
		return sign | 0x7e00; /* NaN */
	int e = (int)(u >> 23 & 0xff) - 127 + 15;
	uint32_t m = u & 0x7fffff;
	if (e <= 0)
		return sign;
	if (e >= 31)
		return sign | 0x7c00;
	uint32_t h = (uint32_t)e << 10 | m >> 13, rem = m & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++; /* a carry into the exponent is still right; 31 is infinity */
	return sign | (uint16_t)h;
}

float ocr2_f16_to_f32(uint16_t h)
{
	uint32_t s = (uint32_t)(h >> 15) << 31, e = h >> 10 & 0x1f, m = h & 0x3ff, u;
	if (e == 0) {
		if (m == 0)
			u = s;
		else { /* subnormal */
			e = 127 - 15 + 1;
			while (!(m & 0x400)) {
				m <<= 1;
				e--;
			}
			m &= 0x3ff;
			u = s | e << 23 | m << 13;
		}
	} else if (e == 31)
		u = s | 0x7f800000 | m << 13;
	else
		u = s | (e + 127 - 15) << 23 | m << 13;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

float ocr2_tensor_f32(const ocr2_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case OCR2_DT_F32: return ((const float *)t->data)[i];
	case OCR2_DT_BF16: return ocr2_bf16_to_f32(((const uint16_t *)t->data)[i]);
	case OCR2_DT_F16: return ocr2_f16_to_f32(((const uint16_t *)t->data)[i]);
	case OCR2_DT_Q8: return ((const int8_t *)t->data)[i] * ocr2_q8_scale(t, i / 32);
	case OCR2_DT_I32: return (float)((const int32_t *)t->data)[i];
	case OCR2_DT_I64: return (float)((const int64_t *)t->data)[i];
	}
	return 0;
}

static int64_t row_len(const ocr2_tensor *t)
{
	int64_t k = 1;
	for (int d = 1; d < t->ndim; d++)
		k *= t->shape[d];
	return t->ndim <= 1 ? t->nelem : k;
}

void ocr2_tensor_rows_f32(const ocr2_tensor *t, int64_t r0, int64_t r1, float *dst)
{
	int64_t k = row_len(t), i0 = r0 * k, n = (r1 - r0) * k;
	switch (t->dtype) {
	case OCR2_DT_F32:
		memcpy(dst, (const float *)t->data + i0, (size_t)n * 4);
		return;
	case OCR2_DT_BF16: {
		const uint16_t *s = (const uint16_t *)t->data + i0;
		uint32_t *d = (uint32_t *)dst;
		for (int64_t i = 0; i < n; i++)
			d[i] = (uint32_t)s[i] << 16;
		return;
	}
	case OCR2_DT_Q8:
		if (i0 % 32 == 0 && n % 32 == 0) { /* whole blocks: one scale each */
			const int8_t *q = (const int8_t *)t->data + i0;
			for (int64_t b = 0; b < n / 32; b++) {
				float sc = ocr2_q8_scale(t, i0 / 32 + b);
				for (int i = 0; i < 32; i++)
					dst[b * 32 + i] = q[b * 32 + i] * sc;
			}
			return;
		}
		/* fall through */
	default:
		for (int64_t i = 0; i < n; i++)
			dst[i] = ocr2_tensor_f32(t, i0 + i);
	}
}

float *ocr2_tensor_to_f32(const ocr2_tensor *t)
{
	float *d = malloc((size_t)t->nelem * sizeof(float));
	if (d)
		ocr2_tensor_rows_f32(t, 0, t->ndim <= 1 ? 1 : t->shape[0], d);
	return d;
}

/* ---- pool items that call OpenBLAS ---------------------------------------- */

void ocr2_pool_run_blas(ocr2_pool *pool, void (*fn)(void *arg, int i, int n), void *arg, int n)
{
	if (!pool || ocr2_pool_size(pool) < 2 || n < 2) {
		ocr2_pool_run(pool, fn, arg, n);
		return;
	}
	int saved = openblas_get_num_threads();
	openblas_set_num_threads(1);
	ocr2_pool_run(pool, fn, arg, n);
	openblas_set_num_threads(saved);
}

/* ---- big buffers ---------------------------------------------------------- */

void *ocr2_alloc_huge(size_t bytes)
{
	if (bytes == 0)
		return NULL;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

void ocr2_free_huge(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

/* ---- linear ---------------------------------------------------------------- */

typedef struct {
	const float *x;
	int n, k, r0, r1;
	const ocr2_tensor *w;
	const float *bias;
	float *y;
	const int16_t *xq; /* q8 weights: x rounded once (n rows of k), else NULL */
	const float *xs;
} lin_job;

#define GEMV_CHUNK 16 /* rows: the smallest piece a thread takes */

/* Rows [a, b) of the job's range, for each of its n inputs. */
static void gemv_range(void *arg, int64_t a64, int64_t b64)
{
	const lin_job *j = arg;
	int m = j->r1 - j->r0, a = (int)a64, b = (int)b64;
	for (int t = 0; t < j->n; t++) {
		const float *xt = j->x + (size_t)t * j->k;
		float *yt = j->y + (size_t)t * m;
		if (j->xq)
			ocr2_gemv_rows_q8x(j->w, j->xq + (size_t)t * j->k, j->xs + (size_t)t * (j->k / 32),
					   j->k, j->r0 + a, j->r0 + b, yt + a);
		else
			ocr2_gemv_rows(j->w, xt, j->k, j->r0 + a, j->r0 + b, yt + a);
		if (j->bias)
			for (int r = a; r < b; r++)
				yt[r] += j->bias[j->r0 + r];
	}
}

/* The int16 copies of x that q8 products read (lib/gemv.c): one buffer for
 * n vectors of k, q then the scales. NULL when out of memory: the caller
 * then lets ocr2_gemv_rows round x per call, which gives the same numbers. */
static void *q8x_alloc(int n, int k, int16_t **q, float **s)
{
	size_t nq = (size_t)n * k, ns = (size_t)n * (k / 32);
	void *buf = malloc(nq * sizeof **q + ns * sizeof **s);
	if (buf) {
		*s = buf;
		*q = (int16_t *)(*s + ns);
	}
	return buf;
}

typedef struct {
	const ocr2_gemv_task *t;
	const int16_t **xq; /* per task: its x rounded for q8, or NULL */
	const float **xs;
	bool glu;           /* tasks come in (gate, up) pairs */
	const int64_t *off; /* first row of each task (pair) in the joined rows */
} batch_job;

static void batch_rows(const batch_job *j, int ti, int r0, int r1)
{
	const ocr2_gemv_task *t = &j->t[ti];
	int k = (int)t->w->shape[1];
	if (j->xq && j->xq[ti])
		ocr2_gemv_rows_q8x(t->w, j->xq[ti], j->xs[ti], k, r0, r1, t->y + r0);
	else
		ocr2_gemv_rows(t->w, t->x, k, r0, r1, t->y + r0);
}

static void silu_mul_rows(float *g, const float *u, int a, int b);

/* Rows [a, b) of all the tasks' rows joined end to end, each task's part in
 * turn; a gate and its up together, then gate = silu(gate) * up there. */
static void batch_range(void *arg, int64_t a, int64_t b)
{
	const batch_job *j = arg;
	int u = 0, step = j->glu ? 2 : 1;
	while (a < b) {
		while (j->off[u + 1] <= a)
			u++;
		int64_t e = j->off[u + 1] < b ? j->off[u + 1] : b;
		int r0 = (int)(a - j->off[u]), r1 = (int)(e - j->off[u]);
		batch_rows(j, u * step, r0, r1);
		if (j->glu) {
			batch_rows(j, u * step + 1, r0, r1);
			silu_mul_rows(j->t[u * step].y, j->t[u * step + 1].y, r0, r1);
		}
		a = e;
	}
}

/* For the q8 tasks, rounds each distinct x once (gate and up of every expert
 * share one); fills xq/xs per task. Returns the buffer to free, or NULL. */
static void *batch_q8x(const ocr2_gemv_task *tasks, int n_tasks, const int16_t **xq,
		       const float **xs)
{
	int n = 0, total = 0;
	for (int i = 0; i < n_tasks; i++) {
		xq[i] = NULL;
		xs[i] = NULL;
		if (tasks[i].w->dtype == OCR2_DT_Q8)
			total += (int)tasks[i].w->shape[1];
	}
	if (!total)
		return NULL;
	int16_t *q;
	float *s;
	void *buf = q8x_alloc(1, total, &q, &s);
	if (!buf)
		return NULL;
	for (int i = 0; i < n_tasks; i++) {
		if (tasks[i].w->dtype != OCR2_DT_Q8)
			continue;
		int k = (int)tasks[i].w->shape[1];
		for (int p = 0; p < i && !xq[i]; p++)
			if (xq[p] && tasks[p].x == tasks[i].x && tasks[p].w->shape[1] == k) {
				xq[i] = xq[p];
				xs[i] = xs[p];
			}
		if (!xq[i]) {
			ocr2_q8x_quantize(tasks[i].x, k, q + n, s + n / 32);
			xq[i] = q + n;
			xs[i] = s + n / 32;
			n += k;
		}
	}
	return buf;
}

static void batch_run(ocr2_pool *pool, const ocr2_gemv_task *tasks, int n_tasks, bool glu)
{
	int step = glu ? 2 : 1, units = n_tasks / step;
	const int16_t *xq_small[64];
	const float *xs_small[64];
	int64_t off_small[65];
	const int16_t **xq = n_tasks <= 64 ? xq_small : malloc((size_t)n_tasks * sizeof *xq);
	const float **xs = n_tasks <= 64 ? xs_small : malloc((size_t)n_tasks * sizeof *xs);
	int64_t *off = units <= 64 ? off_small : malloc((size_t)(units + 1) * sizeof *off);
	if (!off) { /* out of memory: one task (pair) at a time */
		for (int u = 0; u < units; u++)
			batch_run(pool, tasks + (size_t)u * step, step, glu);
		goto done;
	}
	void *buf = xq && xs ? batch_q8x(tasks, n_tasks, xq, xs) : NULL;
	off[0] = 0;
	for (int u = 0; u < units; u++)
		off[u + 1] = off[u] + tasks[u * step].w->shape[0];
	batch_job j = {.t = tasks, .xq = buf ? xq : NULL, .xs = buf ? xs : NULL, .glu = glu,
		       .off = off};
	ocr2_pool_run_ranges(pool, batch_range, &j, off[units], glu ? GEMV_CHUNK : 2 * GEMV_CHUNK);
	free(buf);
done:
	if (xq != xq_small)
		free(xq);
	if (xs != xs_small)
		free(xs);
	if (off != off_small)
		free(off);
}

void ocr2_gemv_batch(ocr2_pool *pool, const ocr2_gemv_task *tasks, int n_tasks)
{
	batch_run(pool, tasks, n_tasks, false);
}

void ocr2_gemv_batch_glu(ocr2_pool *pool, const ocr2_gemv_task *tasks, int n_pairs)
{
	batch_run(pool, tasks, 2 * n_pairs, true);
}

/* f32 bytes of W widened per sgemm call: whole matrices for every product of
 * the encoder and of prefill (the largest, 4864 x 896, takes 17 MB), so x is
 * packed once per product rather than once per panel. */
#define PANEL_BYTES ((size_t)64 << 20)

typedef struct {
	const ocr2_tensor *w;
	int64_t r0;     /* first row of W */
	int rows, k;
	float *dst;     /* widen: rows x k */
	const float *bias;
	float *y;       /* bias fill: n rows of m */
	int m;
} widen_job;

#define WIDEN_ROWS 64

static void widen_part(void *arg, int i, int n)
{
	(void)n;
	const widen_job *j = arg;
	int a = i * WIDEN_ROWS, b = a + WIDEN_ROWS < j->rows ? a + WIDEN_ROWS : j->rows;
	ocr2_tensor_rows_f32(j->w, j->r0 + a, j->r0 + b, j->dst + (size_t)a * j->k);
}

static void bias_part(void *arg, int t, int n)
{
	(void)n;
	const widen_job *j = arg;
	memcpy(j->y + (size_t)t * j->m, j->bias, (size_t)j->m * sizeof(float));
}

/* y[n, m] (row stride ldy) = x[n, k] . W[m, k]^T (+ y when beta is 1), the rows
 * of x split over the pool, each block a single-threaded sgemm. All threading
 * is the pool's: OpenBLAS's own threads would contend with ours for the cores
 * (and spin in sched_yield between calls, a syscall each in a VM). Each block
 * packs W again, so blocks are few and large. */
typedef struct {
	const float *x, *w;
	int n, k, m, ldy, per;
	bool by_w; /* blocks of W's rows (y's columns), else of x's rows */
	float beta;
	float *y;
} sgemm_job;

static void sgemm_part(void *arg, int i, int n_items)
{
	(void)n_items;
	const sgemm_job *j = arg;
	int a = i * j->per, len = j->by_w ? j->m : j->n;
	int cnt = a + j->per < len ? j->per : len - a;
	if (j->by_w)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, cnt, j->k, 1.0f, j->x, j->k,
			    j->w + (size_t)a * j->k, j->k, j->beta, j->y + a, j->ldy);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt, j->m, j->k, 1.0f,
			    j->x + (size_t)a * j->k, j->k, j->w, j->k, j->beta,
			    j->y + (size_t)a * j->ldy, j->ldy);
}

/* Four blocks whatever the thread count, so that results do not depend on
 * it (a block's rows may round differently with another height). Each
 * sgemm call packs all of the other operand, so the blocks split the
 * longer one: x's rows for the vision encoder's 4096 tokens, W's rows for
 * the flow encoder's 512 or 288 (its W, up to 17 MB, was packed four times
 * per product, as much traffic as a 288-row block's arithmetic). */
static void sgemm_rows(ocr2_pool *pool, const float *x, int n, int k, const float *w, int m,
		       float beta, float *y, int ldy)
{
	bool by_w = m > n;
	int len = by_w ? m : n, per = (len + 3) / 4;
	per = per < 64 ? 64 : (per + 15) & ~15;
	sgemm_job j = {x, w, n, k, m, ldy, per, by_w, beta, y};
	ocr2_pool_run_blas(pool, sgemm_part, &j, (len + per - 1) / per);
}

void ocr2_linear_rows(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
		      int r0, int r1, const float *bias, float *y)
{
	int m = r1 - r0;
	if (n <= 0 || m <= 0)
		return;
	if (n < 4) {
		/* each thread streams its own share of W's rows, then helps with
		 * the rest (ocr2_pool_run_ranges) */
		lin_job j = {x, n, k, r0, r1, w, bias, y, NULL, NULL};
		int16_t *q;
		float *s;
		void *buf = w->dtype == OCR2_DT_Q8 ? q8x_alloc(n, k, &q, &s) : NULL;
		if (buf) {
			for (int t = 0; t < n; t++)
				ocr2_q8x_quantize(x + (size_t)t * k, k, q + (size_t)t * k,
						  s + (size_t)t * (k / 32));
			j.xq = q;
			j.xs = s;
		}
		ocr2_pool_run_ranges(pool, gemv_range, &j, m, GEMV_CHUNK);
		free(buf);
		return;
	}
	/* y starts as the bias rows and sgemm adds into it (beta 1): one pass
	 * over y instead of OpenBLAS zeroing it and a second pass adding bias */
	float beta = 0.0f;
	if (bias) {
		widen_job b = {.bias = bias + r0, .y = y, .m = m};
		ocr2_pool_run(pool, bias_part, &b, n);
		beta = 1.0f;
	}
	if (w->dtype == OCR2_DT_F32) {
		sgemm_rows(pool, x, n, k, (const float *)w->data + (size_t)r0 * k, m, beta, y, m);
		return;
	}
	size_t per = PANEL_BYTES / ((size_t)k * sizeof(float));
	int pr = per < 1 ? 1 : per < (size_t)m ? (int)per : m;
	size_t bytes = (size_t)pr * k * sizeof(float);
	float *own = pool ? NULL : malloc(bytes), *panel = pool ? ocr2_pool_scratch(pool, bytes) : own;
	if (!panel) { /* fall back to the row loop rather than fail */
		lin_job j = {x, n, k, r0, r1, w, bias, y, NULL, NULL};
		ocr2_pool_run_ranges(pool, gemv_range, &j, m, GEMV_CHUNK);
		return;
	}
	for (int a = 0; a < m; a += pr) {
		int rows = a + pr < m ? pr : m - a;
		widen_job wj = {.w = w, .r0 = r0 + a, .rows = rows, .k = k, .dst = panel};
		ocr2_pool_run(pool, widen_part, &wj, (rows + WIDEN_ROWS - 1) / WIDEN_ROWS);
		sgemm_rows(pool, x, n, k, panel, rows, beta, y + a, m);
	}
	free(own);
}

void ocr2_linear(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
		 const float *bias, float *y)
{
	ocr2_linear_rows(pool, x, n, k, w, 0, (int)w->shape[0], bias, y);
}

void ocr2_linear_vision(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
			const float *bias, float *y)
{
	if (n >= 4 && w->dtype == OCR2_DT_BF16 &&
	    ocr2_gemm_bf16(pool, x, n, k, w->data, (int)w->shape[0], bias, y))
		return;
	ocr2_linear(pool, x, n, k, w, bias, y);
}

/* ---- elementwise --------------------------------------------------------- */

static void rmsnorm_rows(float *y, const float *x, const float *w, int t0, int t1, int dim,
			 float eps)
{
	for (int t = t0; t < t1; t++) {
		const float *xt = x + (size_t)t * dim;
		float *yt = y + (size_t)t * dim;
		double ss = 0;
		for (int i = 0; i < dim; i++)
			ss += (double)xt[i] * xt[i];
		float r = 1.0f / sqrtf((float)(ss / dim) + eps);
		for (int i = 0; i < dim; i++)
			yt[i] = w[i] * (xt[i] * r);
	}
}

static void layernorm_rows(float *y, const float *x, const float *w, const float *b, int t0,
			   int t1, int dim, float eps)
{
	for (int t = t0; t < t1; t++) {
		const float *xt = x + (size_t)t * dim;
		float *yt = y + (size_t)t * dim;
		double mean = 0, var = 0;
		for (int i = 0; i < dim; i++)
			mean += xt[i];
		mean /= dim;
		for (int i = 0; i < dim; i++) {
			double d = xt[i] - mean;
			var += d * d;
		}
		var /= dim;
		float r = 1.0f / sqrtf((float)var + eps), m = (float)mean;
		for (int i = 0; i < dim; i++)
			yt[i] = (xt[i] - m) * r * w[i] + b[i];
	}
}

/* Norms in blocks of rows over the pool (may be NULL). */
typedef struct {
	float *y;
	const float *x, *w, *b;
	int n, dim;
	float eps;
	bool layer;
} norm_job;

#define NORM_ROWS 64

static void norm_part(void *arg, int i, int n_items)
{
	(void)n_items;
	const norm_job *j = arg;
	int t0 = i * NORM_ROWS, t1 = t0 + NORM_ROWS < j->n ? t0 + NORM_ROWS : j->n;
	if (j->layer)
		layernorm_rows(j->y, j->x, j->w, j->b, t0, t1, j->dim, j->eps);
	else
		rmsnorm_rows(j->y, j->x, j->w, t0, t1, j->dim, j->eps);
}

static void norm_run(ocr2_pool *pool, const norm_job *j)
{
	int items = (j->n + NORM_ROWS - 1) / NORM_ROWS;
	if (pool && items > 1)
		ocr2_pool_run(pool, norm_part, (void *)j, items);
	else
		for (int i = 0; i < items; i++)
			norm_part((void *)j, i, items);
}

void ocr2_rmsnorm(ocr2_pool *pool, float *y, const float *x, const float *w, int n, int dim,
		  float eps)
{
	norm_job j = {y, x, w, NULL, n, dim, eps, false};
	norm_run(pool, &j);
}

void ocr2_layernorm(ocr2_pool *pool, float *y, const float *x, const float *w, const float *b,
		    int n, int dim, float eps)
{
	norm_job j = {y, x, w, b, n, dim, eps, true};
	norm_run(pool, &j);
}

void ocr2_softmax_ref(float *x, int n)
{
	float mx = -INFINITY;
	for (int i = 0; i < n; i++)
		if (x[i] > mx)
			mx = x[i];
	if (mx == -INFINITY) { /* everything masked: define as zeros */
		memset(x, 0, (size_t)n * sizeof *x);
		return;
	}
	double s = 0;
	for (int i = 0; i < n; i++) {
		x[i] = expf(x[i] - mx);
		s += x[i];
	}
	float inv = (float)(1.0 / s);
	for (int i = 0; i < n; i++)
		x[i] *= inv;
}

void ocr2_softmax(float *x, int n)
{
	if (!ocr2_softmax_simd(x, n))
		ocr2_softmax_ref(x, n);
}

/* Elementwise work in pieces over the pool (the encoder's activations are
 * millions of elements; one core alone would leave the other idle). */
typedef struct {
	float *x;
	const float *u;
	int n;
} ew_job;

#define EW_CHUNK 16384

static void silu_mul_rows(float *g, const float *u, int a, int b)
{
	for (int t = a; t < b; t++)
		g[t] = g[t] / (1.0f + expf(-g[t])) * u[t];
}

static void silu_mul_part(void *arg, int i, int n_items)
{
	(void)n_items;
	const ew_job *j = arg;
	int a = i * EW_CHUNK, b = a + EW_CHUNK < j->n ? a + EW_CHUNK : j->n;
	silu_mul_rows(j->x, j->u, a, b);
}

void ocr2_silu_mul(ocr2_pool *pool, float *gate, const float *up, int n)
{
	ew_job j = {gate, up, n};
	int items = (n + EW_CHUNK - 1) / EW_CHUNK;
	if (pool && items > 1)
		ocr2_pool_run(pool, silu_mul_part, &j, items);
	else
		for (int i = 0; i < items; i++)
			silu_mul_part(&j, i, items);
}

void ocr2_gelu_ref(float *x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

static void gelu_part(void *arg, int i, int n_items)
{
	(void)n_items;
	const ew_job *j = arg;
	int a = i * EW_CHUNK, len = a + EW_CHUNK < j->n ? EW_CHUNK : j->n - a;
	if (!ocr2_gelu_simd(j->x + a, len))
		ocr2_gelu_ref(j->x + a, len);
}

void ocr2_gelu(ocr2_pool *pool, float *x, int n)
{
	ew_job j = {x, NULL, n};
	int items = (n + EW_CHUNK - 1) / EW_CHUNK;
	if (pool && items > 1)
		ocr2_pool_run(pool, gelu_part, &j, items);
	else
		for (int i = 0; i < items; i++)
			gelu_part(&j, i, items);
}

static void rope_inv(int head_dim, float theta, float *inv)
{
	for (int i = 0; i < head_dim / 2; i++)
		inv[i] = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
}

static void rope_angles(int pos, int half, const float *inv, float *cs)
{
	for (int i = 0; i < half; i++) {
		/* HF computes the angle in f32 as pos * inv_freq */
		float a = (float)pos * inv[i];
		cs[i] = cosf(a);
		cs[half + i] = sinf(a);
	}
}

void ocr2_rope_angles(int pos0, int n, int head_dim, float theta, float *cs)
{
	float inv[OCR2_MAX_HEAD_DIM / 2];
	if (head_dim > OCR2_MAX_HEAD_DIM) { /* config.c refuses such models */
		for (size_t i = 0; i < (size_t)n * head_dim; i++)
			cs[i] = NAN;
		return;
	}
	rope_inv(head_dim, theta, inv);
	for (int t = 0; t < n; t++)
		rope_angles(pos0 + t, head_dim / 2, inv, cs + (size_t)t * head_dim);
}

void ocr2_rope_apply(float *x, int n_tok, int n_heads, int head_dim, const float *cs)
{
	int half = head_dim / 2;
	for (int t = 0; t < n_tok; t++) {
		const float *c = cs + (size_t)t * head_dim, *s = c + half;
		for (int h = 0; h < n_heads; h++) {
			float *v = x + ((size_t)t * n_heads + h) * head_dim;
			for (int i = 0; i < half; i++) {
				float x0 = v[i], x1 = v[i + half];
				v[i] = x0 * c[i] - x1 * s[i];
				v[i + half] = x1 * c[i] + x0 * s[i];
			}
		}
	}
}

void ocr2_rope(float *x, int n_tok, int n_heads, int head_dim, const int *pos, int pos0,
	       float theta)
{
	float inv[OCR2_MAX_HEAD_DIM / 2], cs[OCR2_MAX_HEAD_DIM];
	if (head_dim > OCR2_MAX_HEAD_DIM) { /* config.c refuses such models */
		for (size_t i = 0; i < (size_t)n_tok * n_heads * head_dim; i++)
			x[i] = NAN;
		return;
	}
	rope_inv(head_dim, theta, inv);
	for (int t = 0; t < n_tok; t++) {
		rope_angles(pos ? pos[t] : pos0 + t, head_dim / 2, inv, cs);
		ocr2_rope_apply(x + (size_t)t * n_heads * head_dim, 1, n_heads, head_dim, cs);
	}
}
