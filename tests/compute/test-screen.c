/* test-screen.c - the screened greedy choice (lib/compute/screen.c) against the full
 * product's torch.argmax, for bf16, f16 and f32 matrices: random rows,
 * duplicated rows (exact ties), rows one bf16 step apart, banned ids, inputs
 * with huge, tiny and zero blocks; every row's estimate within its bound;
 * and the cases where the screen must give up or not be made at all. Run
 * twice by meson: with the AVX-512 kernels and with OCR2_NO_SIMD=1. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compute/kernels.h"
#include "compute/screen.h"
#include "rand.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static float frand(void)
{
	return test_frand(&rng);
}

typedef struct {
	ocr2_tensor t;
	void *data;
	float *wf; /* the stored values as f32 */
} mat;

static void mat_make(mat *m, ocr2_dtype dt, int rows, int k, float spread)
{
	size_t n = (size_t)rows * k;
	m->wf = malloc(n * sizeof *m->wf);
	for (size_t i = 0; i < n; i++) {
		float v = frand() * 0.05f;
		/* some rows (and blocks) much larger than others */
		if (i / k % 7 == 3)
			v *= spread;
		m->wf[i] = v;
	}
	m->t = (ocr2_tensor){.name = "w", .dtype = dt, .ndim = 2, .shape = {rows, k},
			     .nelem = (int64_t)n};
}

/* Stores wf in the tensor's dtype and reads the stored values back into wf. */
static void mat_store(mat *m)
{
	size_t n = (size_t)m->t.nelem;
	free(m->data);
	if (m->t.dtype == OCR2_DT_F32) {
		m->data = malloc(n * 4);
		memcpy(m->data, m->wf, n * 4);
	} else {
		uint16_t *h = malloc(n * 2);
		for (size_t i = 0; i < n; i++)
			h[i] = m->t.dtype == OCR2_DT_BF16 ? ocr2_f32_to_bf16(m->wf[i])
							  : ocr2_f32_to_f16(m->wf[i]);
		m->data = h;
	}
	m->t.data = m->data;
	m->t.nbytes = n * ocr2_dtype_size(m->t.dtype);
	for (size_t i = 0; i < n; i++)
		m->wf[i] = ocr2_tensor_f32(&m->t, (int64_t)i);
}

static void mat_free(mat *m)
{
	free(m->data);
	free(m->wf);
	m->data = NULL;
	m->wf = NULL;
}

/* torch.argmax of the full product with banned rows at -inf */
static int full_argmax(const mat *m, ocr2_pool *pool, const float *x, const int32_t *banned,
		       int nb, float *y)
{
	int rows = (int)m->t.shape[0], k = (int)m->t.shape[1];
	ocr2_linear(pool, x, 1, k, &m->t, NULL, y);
	for (int i = 0; i < nb; i++)
		y[banned[i]] = -INFINITY;
	int best = 0;
	for (int i = 0; i < rows; i++) {
		if (isnan(y[i]))
			return i;
		if (y[i] > y[best])
			best = i;
	}
	return best;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* up to want distinct random ids, sorted */
static int random_bans(int32_t *b, int want, int rows)
{
	for (int i = 0; i < want; i++)
		b[i] = (int32_t)((frand() * 0.5f + 0.5f) * (rows - 1));
	qsort(b, (size_t)want, sizeof *b, cmp_i32);
	int n = 0;
	for (int i = 0; i < want; i++)
		if (n == 0 || b[i] != b[n - 1])
			b[n++] = b[i];
	return n;
}

/* x with a mix of block magnitudes: kind 0 plain, 1 one huge block, 2 tiny
 * and zero blocks, 3 heavy tails */
static void make_x(float *x, int k, int kind)
{
	for (int i = 0; i < k; i++)
		x[i] = frand() * 2;
	if (kind == 1)
		for (int i = 0; i < 32 && i < k; i++)
			x[i] *= 300;
	if (kind == 2) {
		for (int i = 0; i < 32 && i < k; i++)
			x[i] = 0;
		for (int i = 32; i < 64 && i < k; i++)
			x[i] *= 1e-32f;
	}
	if (kind == 3)
		for (int i = 0; i < k; i++)
			if (i % 13 == 0)
				x[i] *= 40;
}

/* Every row's estimate is within its bound of the full product. */
static void check_bounds(const char *what, const ocr2_screen *s, const mat *m, ocr2_pool *pool,
			 const float *x)
{
	int rows = (int)m->t.shape[0], k = (int)m->t.shape[1];
	float *y = malloc((size_t)rows * sizeof *y), *est = malloc((size_t)rows * sizeof *est);
	float *bd = malloc((size_t)rows * sizeof *bd);
	ocr2_linear(pool, x, 1, k, &m->t, NULL, y);
	ocr2_screen_estimate(s, x, 0, rows, est, bd);
	double worst = 0; /* largest |y - est| / bound */
	for (int i = 0; i < rows; i++) {
		double r = fabs((double)y[i] - est[i]) / bd[i];
		if (!(r <= worst))
			worst = r;
	}
	CHECK(worst <= 1.0, "%s: an estimate outside its bound (%.3g of it)", what, worst);
	/* and not a vacuous bound: the typical row is well inside it */
	CHECK(worst > 0.01, "%s: the bound is %.3g times too loose to be a test", what, 1 / worst);
	free(y);
	free(est);
	free(bd);
}

static void run_random(ocr2_dtype dt, int rows, int k, ocr2_pool *pool, int trials)
{
	mat m = {0};
	mat_make(&m, dt, rows, k, 20.0f);
	/* rows 5, 6 and rows/2 the same (an exact tie when they win) and row 7
	 * one bf16 step from row 5 in its largest element */
	mat_store(&m);
	ocr2_screen *s = ocr2_screen_new(&m.t, pool);
	CHECK(s != NULL, "dtype %d %dx%d: no screen", (int)m.t.dtype, rows, k);
	if (!s) {
		mat_free(&m);
		return;
	}
	float *x = malloc((size_t)k * sizeof *x), *y = malloc((size_t)rows * sizeof *y);
	float *scratch = malloc(ocr2_screen_scratch_bytes(s));
	int32_t banned[64];
	int decided = 0, exact_rows = 0;
	for (int tr = 0; tr < trials; tr++) {
		int kind = tr % 4;
		make_x(x, k, kind);
		if (tr % 5 == 4 && rows > 8) {
			/* make rows 5, 6, rows/2 (equal) and 7 (a step away) win */
			mat_free(&m);
			mat_make(&m, dt, rows, k, 20.0f);
			for (int i = 0; i < k; i++)
				m.wf[(size_t)5 * k + i] = x[i] > 0 ? 0.5f : -0.5f;
			memcpy(m.wf + (size_t)6 * k, m.wf + (size_t)5 * k, (size_t)k * sizeof *m.wf);
			memcpy(m.wf + (size_t)(rows / 2) * k, m.wf + (size_t)5 * k,
			       (size_t)k * sizeof *m.wf);
			memcpy(m.wf + (size_t)7 * k, m.wf + (size_t)5 * k, (size_t)k * sizeof *m.wf);
			m.wf[(size_t)7 * k + tr % k] *= 1.0f + (tr % 2 ? 1.0f : -1.0f) / 128;
			mat_store(&m);
			ocr2_screen_free(s);
			s = ocr2_screen_new(&m.t, pool);
			if (!s) {
				FAIL("dtype %d: no screen after the ties", (int)dt);
				break;
			}
		}
		int nb = tr % 3 == 0 ? 0 : random_bans(banned, 1 + tr % 40, rows);
		if (tr % 5 == 4 && tr % 2 == 0 && rows > 8) {
			/* ban the first of the tied rows: the next one must win */
			banned[0] = 5;
			nb = 1;
		}
		int want = full_argmax(&m, pool, x, banned, nb, y);
		int n_exact = 0;
		int got = ocr2_screen_argmax(s, pool, x, banned, nb, scratch, &n_exact);
		if (got >= 0) {
			decided++;
			exact_rows += n_exact;
			CHECK(got == want, "dtype %d %dx%d trial %d: screen chose %d, the full product %d",
			      (int)dt, rows, k, tr, got, want);
		}
		/* the worst estimates the bounds allow: still the same choice */
		ocr2_screen_adversary(true);
		int worst = ocr2_screen_argmax(s, pool, x, banned, nb, scratch, &n_exact);
		ocr2_screen_adversary(false);
		CHECK(worst == want || (worst == -1 && n_exact == 0 && got == -1),
		      "dtype %d %dx%d trial %d: against the worst estimates the screen chose %d, "
		      "the full product %d", (int)dt, rows, k, tr, worst, want);
		if (tr < 8) {
			char what[80];
			snprintf(what, sizeof what, "dtype %d %dx%d trial %d", (int)dt, rows, k, tr);
			check_bounds(what, s, &m, pool, x);
		}
	}
	/* the point is to read less: on these inputs the screen decides, and
	 * from few exact rows */
	CHECK(decided == trials, "dtype %d %dx%d: decided %d of %d", (int)dt, rows, k, decided,
	      trials);
	if (rows >= 4096)
		CHECK(exact_rows < trials * rows / 50, "dtype %d %dx%d: %d exact rows in %d trials",
		      (int)dt, rows, k, exact_rows, trials);
	printf("dtype %d %dx%d: %d trials, %.1f exact rows per choice\n", (int)dt, rows, k, trials,
	       (double)exact_rows / (decided ? decided : 1));
	free(x);
	free(y);
	free(scratch);
	ocr2_screen_free(s);
	mat_free(&m);
}

/* Where the screen must not be made, and where a call must give up. */
static void refusals(ocr2_pool *pool)
{
	mat m = {0};
	mat_make(&m, OCR2_DT_BF16, 100, 64, 1);
	mat_store(&m);
	ocr2_tensor t = m.t;
	t.shape[1] = 48; /* rows not a multiple of 32 long */
	t.shape[0] = 100 * 64 / 48;
	CHECK(ocr2_screen_new(&t, pool) == NULL, "a screen for rows of 48");
	t = m.t;
	t.dtype = OCR2_DT_I32;
	CHECK(ocr2_screen_new(&t, pool) == NULL, "a screen for an int32 matrix");
	((uint16_t *)m.data)[777] = 0x7F80; /* +inf */
	CHECK(ocr2_screen_new(&m.t, pool) == NULL, "a screen for a matrix with an infinity");
	((uint16_t *)m.data)[777] = 0x7FC0; /* NaN */
	CHECK(ocr2_screen_new(&m.t, pool) == NULL, "a screen for a matrix with a NaN");
	mat_free(&m);
	/* the least f32 subnormal in a block of zeros: its scale rounds to 0 */
	mat_make(&m, OCR2_DT_F32, 100, 64, 1);
	for (int i = 768; i < 800; i++)
		m.wf[i] = i == 777 ? 0x1p-149f : 0;
	mat_store(&m);
	CHECK(ocr2_screen_new(&m.t, pool) == NULL, "a screen whose scale cannot hold a block");
	mat_free(&m);

	mat_make(&m, OCR2_DT_BF16, 100, 64, 1);
	mat_store(&m);
	ocr2_screen *s = ocr2_screen_new(&m.t, pool);
	CHECK(s != NULL, "no screen for a plain 100x64 bf16 matrix");
	if (!s) {
		mat_free(&m);
		return;
	}
	float x[64], *scratch = malloc(ocr2_screen_scratch_bytes(s));
	int32_t all[100];
	int n_exact;
	make_x(x, 64, 0);
	for (int i = 0; i < 100; i++)
		all[i] = i;
	CHECK(ocr2_screen_argmax(s, pool, x, all, 100, scratch, &n_exact) == -1,
	      "a choice with every row banned");
	x[9] = NAN;
	CHECK(ocr2_screen_argmax(s, pool, x, NULL, 0, scratch, &n_exact) == -1,
	      "a choice for an x with a NaN");
	x[9] = INFINITY;
	CHECK(ocr2_screen_argmax(s, pool, x, NULL, 0, scratch, &n_exact) == -1,
	      "a choice for an x with an infinity");
	x[9] = 1e38f;
	CHECK(ocr2_screen_argmax(s, pool, x, NULL, 0, scratch, &n_exact) == -1,
	      "a choice for an x that could overflow");
	/* x = 0: every logit 0, so the first row not banned */
	memset(x, 0, sizeof x);
	int32_t b2[2] = {0, 1};
	CHECK(ocr2_screen_argmax(s, pool, x, b2, 2, scratch, &n_exact) == 2,
	      "x = 0 did not choose the first row not banned");
	free(scratch);
	ocr2_screen_free(s);
	mat_free(&m);
}

int main(void)
{
	ocr2_pool *pool = ocr2_pool_new(3);
	run_random(OCR2_DT_BF16, 5000, 1280, pool, 40);
	run_random(OCR2_DT_BF16, 5000, 1280, NULL, 10);
	run_random(OCR2_DT_BF16, 37, 64, pool, 20);
	run_random(OCR2_DT_F32, 3000, 256, pool, 20);
	run_random(OCR2_DT_F16, 3000, 96, pool, 20);
	refusals(pool);
	ocr2_pool_free(pool);
	return check_done();
}
