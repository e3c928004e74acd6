/* linear.c - y = x W^T over any stored dtype: one row through the gemv
 * kernels, many through OpenBLAS sgemm on widened panels (or the opt-in bf16
 * products), several independent rows as one pool job. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute/kernels.h"

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

/* Rows [a, b) of q8 W for n rounded inputs (xq [n, k], xs [n, k/32]) into
 * y + r * ldy for input r, through the multi-input kernel in groups. */
static void q8_rows(const ocr2_tensor *w, int n, const int16_t *xq, const float *xs, int k,
		    int a, int b, float *y, int ldy)
{
	enum { G = 64 };
	const int16_t *q[G];
	const float *s[G];
	float *o[G];
	for (int r0 = 0; r0 < n; r0 += G) {
		int g = n - r0 < G ? n - r0 : G;
		for (int j = 0; j < g; j++) {
			q[j] = xq + (size_t)(r0 + j) * k;
			s[j] = xs + (size_t)(r0 + j) * (k / 32);
			o[j] = y + (size_t)(r0 + j) * ldy;
		}
		ocr2_gemv_rows_q8x_multi(w, g, q, s, k, a, b, o);
	}
}

#define GEMV_CHUNK 16 /* rows: the smallest piece a thread takes */

/* Rows of W per piece when several inputs read it: about 16 KiB of weights,
 * which the first input brings in from memory and the others find in the
 * cache, so W is streamed once however many inputs there are. Each input's
 * numbers are those of a call of its own: a row's dot product is the same
 * whichever piece it lies in. */
static int shared_piece(const ocr2_tensor *w)
{
	size_t row = w->shape[0] > 0 ? w->nbytes / (size_t)w->shape[0] : 1;
	size_t rows = ((size_t)16 << 10) / (row ? row : 1);
	return rows < 1 ? 1 : rows > 256 ? 256 : (int)rows;
}

/* Rows [a, b) of the job's range, for each of its n inputs. */
static void gemv_range(void *arg, int64_t a64, int64_t b64)
{
	const lin_job *j = arg;
	int m = j->r1 - j->r0, piece = j->n > 1 ? shared_piece(j->w) : (int)(b64 - a64);
	for (int a = (int)a64; a < (int)b64; a += piece) {
		int b = a + piece < (int)b64 ? a + piece : (int)b64;
		if (j->xq)
			q8_rows(j->w, j->n, j->xq, j->xs, j->k, j->r0 + a, j->r0 + b, j->y + a, m);
		for (int t = 0; t < j->n; t++) {
			float *yt = j->y + (size_t)t * m;
			if (!j->xq)
				ocr2_gemv_rows(j->w, j->x + (size_t)t * j->k, j->k, j->r0 + a, j->r0 + b,
					       yt + a);
			if (j->bias)
				for (int r = a; r < b; r++)
					yt[r] += j->bias[j->r0 + r];
		}
	}
}

/* The int16 copies of x that q8 products read (lib/compute/gemv.c): one buffer for
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

static int task_rows(const ocr2_gemv_task *t)
{
	return t->rows > 1 ? t->rows : 1;
}

/* Rows [r0, r1) of task ti for each of its inputs, W in shared pieces; with
 * glu, task ti is a gate, ti + 1 its up, and the gate's y becomes
 * silu(gate) * up. */
static void batch_rows(const batch_job *j, int ti, int r0, int r1)
{
	const ocr2_gemv_task *t = &j->t[ti];
	int k = (int)t->w->shape[1], m = (int)t->w->shape[0], n = task_rows(t);
	int piece = n > 1 ? shared_piece(t->w) : r1 - r0;
	for (int a = r0; a < r1; a += piece) {
		int b = a + piece < r1 ? a + piece : r1;
		for (int i = 0; i < (j->glu ? 2 : 1); i++) {
			const ocr2_gemv_task *u = t + i;
			const int16_t *xq = j->xq ? j->xq[ti + i] : NULL;
			const float *xs = j->xq ? j->xs[ti + i] : NULL;
			if (xq)
				q8_rows(u->w, n, xq, xs, k, a, b, u->y + a, m);
			else
				for (int r = 0; r < n; r++)
					ocr2_gemv_rows(u->w, u->x + (size_t)r * k, k, a, b,
						       u->y + (size_t)r * m + a);
		}
		if (j->glu)
			for (int r = 0; r < n; r++)
				ocr2_silu_mul_range(t->y + (size_t)r * m, t[1].y + (size_t)r * m, a, b);
	}
}

/* Rows [a, b) of all the tasks' rows joined end to end, each task's part in
 * turn; a gate and its up together. */
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
			total += (int)tasks[i].w->shape[1] * task_rows(&tasks[i]);
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
		int k = (int)tasks[i].w->shape[1], rows = task_rows(&tasks[i]);
		for (int p = 0; p < i && !xq[i]; p++)
			if (xq[p] && tasks[p].x == tasks[i].x && tasks[p].w->shape[1] == k &&
			    task_rows(&tasks[p]) == rows) {
				xq[i] = xq[p];
				xs[i] = xs[p];
			}
		if (!xq[i]) {
			for (int r = 0; r < rows; r++)
				ocr2_q8x_quantize(tasks[i].x + (size_t)r * k, k, q + n + r * k,
						  s + (n + r * k) / 32);
			xq[i] = q + n;
			xs[i] = s + n / 32;
			n += k * rows;
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

void ocr2_linear_vision(ocr2_pool *pool, bool bf16, const float *x, int n, int k,
			const ocr2_tensor *w, const float *bias, float *y)
{
	if (bf16 && n >= 4 && w->dtype == OCR2_DT_BF16 &&
	    ocr2_gemm_bf16(pool, x, n, k, w->data, (int)w->shape[0], bias, y))
		return;
	ocr2_linear(pool, x, n, k, w, bias, y);
}