/* screen.c - the greedy choice of W . x through an 8-bit copy of W, exactly.
 *
 * Greedy decoding needs only the argmax of the logits, not the logits. A
 * screen keeps W (lm_head, 331 MB in bf16) a second time as int8 rows with one
 * scale d per block of 32 (176 MB with f16 scales). One pass over the copy
 * gives each row an estimate S and a bound E with |L - S| <= E, where L is
 * what the full product (ocr2_gemv_rows) computes for that row. Any row's
 * S - E is a lower bound lo* of the maximum (the one with the largest S,
 * not banned, is used), so only rows with S + E >= lo* can hold it; those
 * few are computed exactly, by the same kernel as the full product, and the
 * first of their largest values is the choice: torch.argmax of the full
 * product, bit for bit.
 *
 * The bound, per row, summed over its blocks b (32 values j each):
 *   w     the stored weights; q, d the copy (|q| <= 127), w^ = d q
 *   x     the f32 input; the q8 kernel reads x~ = s r, r = rint(x * fl(32767/m))
 *         in int16 and s = fl(m / 32767), m = max |x_j| of the block
 *   l1, m the block's sum and maximum of |x_j|; u = 2^-24
 * (1) The full product's own rounding, any summation order of k terms:
 *     |L - w.x| <= g_k sum |w_j x_j| <= g_k (127 + rho) d l1, g_k = (k+1)u/(1-(k+1)u),
 *     since |w_j| <= |w^_j| + rho d.
 * (2) The copy: |(w - w^).x| <= rho d l1, rho = max |w - w^| / d over all of W,
 *     measured when the copy is made (at least 1/2 is used).
 * (3) x rounded to int16: |x_j - x~_j| <= ex = 0.5 s + 3.01 u m <= 1.6e-5 m
 *     (m >= 1e-30; below that the block is read as zeros and ex = m), so
 *     |w^.(x - x~)| <= 127 * 32 * ex d = 4064 ex d.
 * (4) The estimate's rounding: S sums 16 nb terms (exact int32 lane sums
 *     times fl(d s)): |S - w^.x~| <= g_s sum d s |q_j r_j| <= g_s 4064 (1 + 2e-5) m d,
 *     g_s = (16 nb + 1)u/(1-(16 nb + 1)u).
 * So E = sum_b d_b c_b with c_b = (rho + (127 + rho) g_k) l1 + 4064 ex + 4065 g_s m,
 * each c_b raised by 2^-10 to cover the rounding of E itself and of S +- E
 * (at most ~150 u of sum d l1, against the 2^-10 * rho * sum d l1 >= 4.9e-4
 * sum d l1 it adds).
 *
 * The pass over the copy is the plain q8 kernel (S only). E is summed from a
 * row's scales only where needed: for the row that gives lo*, and for the
 * rows that pass a cheaper test first, S + 1.01 D cmax >= lo*, with
 * D = sum_b d_b of the row (kept with the copy, rounded up) and cmax the
 * largest c_b: D cmax >= E, and the 1 % covers the rounding of the test
 * (u |S| <= 256 u E). An x with cmax * max D > 1e33 makes the call give up
 * before anything can overflow (|S| <= 256 E), and the caller computes the
 * full product, as it does for a model where the copy cannot be made. The
 * exact rows are checked against their bounds as they are computed: one
 * outside makes the call give up too. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "compute/kernels.h"
#include "compute/screen.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#else
#define HAVE_X86 0
#endif

#define BLK 32
#define BUILD_ROWS 256     /* rows per work item while the copy is made */
#define EST_CHUNK 16       /* least rows per chunk of the estimate pass */
#define MAX_EXACT 4096     /* more candidate rows than this: the full product */
#define HUGE_BOUND 1e33    /* cmax * max D above this: give up */

struct ocr2_screen {
	const ocr2_tensor *w; /* the matrix: the exact rows come from it */
	ocr2_tensor q;        /* the copy: Q8 rows with f16 or f32 scales */
	void *qmem, *smem;
	size_t qbytes, sbytes;
	float *dsum;          /* [rows]: sum of the row's scales, rounded up */
	float dmax;           /* the largest dsum */
	int rows, k, nb;
	float rho; /* max |w - d q| / d over W, at least 1/2, rounded up */
};

/* ---- making the copy ------------------------------------------------------ */

typedef struct {
	const ocr2_tensor *w;
	int rows, k;
	bool half;             /* f16 scales (else f32) */
	int8_t *q;
	uint16_t *sh;
	float *sf;
	double *rho;           /* per item: max |w - d q| / d; INFINITY = unusable */
	unsigned char *nofit;  /* per item: a scale outside f16's normal range */
	int failed;            /* out of memory in an item */
} build_job;

/* 2^23 + 2^22: adding and subtracting it rounds |v| < 2^22 to the nearest
 * integer, ties to even, as rintf does, without a library call (the loop
 * below then vectorizes). */
#define ROUNDER 12582912.0f

/* One block of 32: d = max |w| / 127 (as stored: f16 or f32), q = w / d
 * rounded and clamped to +-127. Returns max |w - d q| / d (0 for a block
 * of zeros; INFINITY when d rounded to 0 under a nonzero block or w is not
 * finite). */
static double quant_block(const float *w, int8_t *q, uint16_t *sh, float *sf, bool *nofit)
{
	float mx = 0;
	bool bad = false;
	for (int t = 0; t < BLK; t++) {
		float a = fabsf(w[t]);
		bad |= !(a <= FLT_MAX);
		mx = a > mx ? a : mx;
	}
	if (bad)
		return INFINITY;
	float s = mx / 127.f, d = s;
	if (sh) {
		if (s != 0 && !(s >= 0x1p-14f && s <= 65504.f))
			*nofit = true;
		*sh = ocr2_f32_to_f16(s);
		d = ocr2_f16_to_f32(*sh);
	} else {
		*sf = s;
	}
	float inv = d > 0 ? 1.f / d : 0.f;
	double err = 0;
	for (int t = 0; t < BLK; t++) {
		float v = w[t] * inv;
		v = v > 127.f ? 127.f : v < -127.f ? -127.f : v;
		v = (v + ROUNDER) - ROUNDER;
		q[t] = (int8_t)v;
		/* d v has at most 24 + 8 bits: exact in double, and so is the
		 * difference up to one rounding at 2^-53 */
		double e = fabs((double)w[t] - (double)d * v);
		err = e > err ? e : err;
	}
	if (err == 0)
		return 0;
	return d > 0 ? err / d : INFINITY;
}

#if HAVE_X86
/* quant_block for a row of nb blocks, 32 values in two vectors: the same q
 * and scales (clamp, then round to nearest even). The error is w - d q in
 * one fused step: exact before its one rounding, so the ratio is at most
 * 2^-24 low, which the 2^-20 ocr2_screen_new adds to rho covers. */
AVX512 static double quant_row_avx512(const float *w, int nb, int8_t *q, uint16_t *sh,
				      float *sf, bool *nofit)
{
	const __m512 big = _mm512_set1_ps(FLT_MAX), lim = _mm512_set1_ps(127.f);
	double rho = 0;
	for (int b = 0; b < nb; b++) {
		__m512 a = _mm512_loadu_ps(w + b * BLK), c = _mm512_loadu_ps(w + b * BLK + 16);
		__m512 aa = _mm512_abs_ps(a), ac = _mm512_abs_ps(c);
		if (_mm512_cmp_ps_mask(aa, big, _CMP_NLE_UQ) | _mm512_cmp_ps_mask(ac, big, _CMP_NLE_UQ))
			return INFINITY;
		float s = _mm512_reduce_max_ps(_mm512_max_ps(aa, ac)) / 127.f, d = s;
		if (sh) {
			if (s != 0 && !(s >= 0x1p-14f && s <= 65504.f))
				*nofit = true;
			sh[b] = ocr2_f32_to_f16(s);
			d = ocr2_f16_to_f32(sh[b]);
		} else {
			sf[b] = s;
		}
		__m512 inv = _mm512_set1_ps(d > 0 ? 1.f / d : 0.f), vd = _mm512_set1_ps(d);
		__m512 va = _mm512_mul_ps(a, inv), vc = _mm512_mul_ps(c, inv);
		va = _mm512_min_ps(_mm512_max_ps(va, _mm512_sub_ps(_mm512_setzero_ps(), lim)), lim);
		vc = _mm512_min_ps(_mm512_max_ps(vc, _mm512_sub_ps(_mm512_setzero_ps(), lim)), lim);
		va = _mm512_roundscale_ps(va, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		vc = _mm512_roundscale_ps(vc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		_mm_storeu_si128((__m128i *)(q + b * BLK), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(va)));
		_mm_storeu_si128((__m128i *)(q + b * BLK + 16),
				 _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(vc)));
		__m512 ea = _mm512_abs_ps(_mm512_fnmadd_ps(vd, va, a));
		__m512 ec = _mm512_abs_ps(_mm512_fnmadd_ps(vd, vc, c));
		float err = _mm512_reduce_max_ps(_mm512_max_ps(ea, ec));
		if (err > 0) {
			double r = d > 0 ? (double)err / d : INFINITY;
			if (!(r <= rho))
				rho = r;
		}
	}
	return rho;
}
#endif

static void quant_part(void *arg, int i, int n)
{
	(void)n;
	build_job *j = arg;
	int r0 = i * BUILD_ROWS, r1 = r0 + BUILD_ROWS < j->rows ? r0 + BUILD_ROWS : j->rows;
	int k = j->k, nb = k / BLK;
	float *row = malloc((size_t)k * sizeof *row);
	if (!row) {
		j->failed = 1;
		return;
	}
	double rho = 0;
	bool nofit = false;
	for (int r = r0; r < r1; r++) {
		ocr2_tensor_rows_f32(j->w, r, r + 1, row);
#if HAVE_X86
		if (ocr2_have_avx512()) {
			size_t sb = (size_t)r * nb;
			double e = quant_row_avx512(row, nb, j->q + sb * BLK, j->half ? j->sh + sb : NULL,
						    j->half ? NULL : j->sf + sb, &nofit);
			if (!(e <= rho))
				rho = e;
			continue;
		}
#endif
		for (int b = 0; b < nb; b++) {
			size_t sb = (size_t)r * nb + b;
			double e = quant_block(row + b * BLK, j->q + sb * BLK,
					       j->half ? j->sh + sb : NULL, j->half ? NULL : j->sf + sb,
					       &nofit);
			if (!(e <= rho))
				rho = e;
		}
	}
	j->rho[i] = rho;
	j->nofit[i] = nofit;
	free(row);
}

ocr2_screen *ocr2_screen_new(const ocr2_tensor *w, ocr2_pool *pool)
{
	if (!w || w->ndim != 2 || w->shape[1] % BLK != 0 || w->shape[0] < 1 ||
	    w->shape[0] > INT32_MAX / 2 || w->shape[1] > (int64_t)1 << 20 ||
	    (w->dtype != OCR2_DT_BF16 && w->dtype != OCR2_DT_F32 && w->dtype != OCR2_DT_F16))
		return NULL;
	int rows = (int)w->shape[0], k = (int)w->shape[1], nb = k / BLK;
	int items = (rows + BUILD_ROWS - 1) / BUILD_ROWS;
	ocr2_screen *s = calloc(1, sizeof *s);
	build_job j = {.w = w, .rows = rows, .k = k};
	j.rho = calloc((size_t)items, sizeof *j.rho);
	j.nofit = calloc((size_t)items, 1);
	if (!s || !j.rho || !j.nofit)
		goto fail;
	s->w = w;
	s->rows = rows;
	s->k = k;
	s->nb = nb;
	s->qbytes = (size_t)rows * k;
	s->qmem = ocr2_alloc_huge(s->qbytes);
	if (!s->qmem)
		goto fail;
	/* f16 scales unless one falls outside f16's normal range, where it
	 * would lose bits: then once more with f32 scales */
	for (int half = 1; half >= 0; half--) {
		s->sbytes = (size_t)rows * nb * (half ? 2 : 4);
		s->smem = ocr2_alloc_huge(s->sbytes);
		if (!s->smem)
			goto fail;
		j.half = half;
		j.q = s->qmem;
		j.sh = half ? s->smem : NULL;
		j.sf = half ? NULL : s->smem;
		ocr2_pool_run(pool, quant_part, &j, items);
		if (j.failed)
			goto fail;
		bool fits = true;
		for (int i = 0; i < items; i++)
			fits &= !j.nofit[i];
		if (fits || !half)
			break;
		ocr2_free_huge(s->smem, s->sbytes);
		s->smem = NULL;
	}
	double rho = 0.5;
	for (int i = 0; i < items; i++)
		if (!(j.rho[i] <= rho))
			rho = j.rho[i];
	if (!(rho <= 2.0)) /* not finite, or a scale that could not hold its block */
		goto fail;
	/* rounded up, with room for the rounding of the ratio itself */
	s->rho = nextafterf((float)(rho * (1 + 0x1p-20)), INFINITY);
	s->q = (ocr2_tensor){.name = "screen", .dtype = OCR2_DT_Q8, .ndim = 2,
			     .shape = {rows, k}, .nelem = (int64_t)rows * k, .data = s->qmem,
			     .nbytes = s->qbytes, .scales = j.sf, .scales_h = j.sh};
	if (!(s->dsum = malloc((size_t)rows * sizeof *s->dsum)))
		goto fail;
	for (int r = 0; r < rows; r++) {
		double d = 0;
		for (int b = 0; b < nb; b++)
			d += ocr2_q8_scale(&s->q, (int64_t)r * nb + b);
		float f = (float)d;
		s->dsum[r] = (double)f < d ? nextafterf(f, INFINITY) : f;
		s->dmax = s->dsum[r] > s->dmax ? s->dsum[r] : s->dmax;
	}
	free(j.rho);
	free(j.nofit);
	return s;
fail:
	free(j.rho);
	free(j.nofit);
	ocr2_screen_free(s);
	return NULL;
}

void ocr2_screen_free(ocr2_screen *s)
{
	if (!s)
		return;
	ocr2_free_huge(s->qmem, s->qbytes);
	ocr2_free_huge(s->smem, s->sbytes);
	free(s->dsum);
	free(s);
}

size_t ocr2_screen_bytes(const ocr2_screen *s)
{
	return s ? s->qbytes + s->sbytes + (size_t)s->rows * sizeof *s->dsum : 0;
}

/* ---- the choice ------------------------------------------------------------ */

/* c_b of the header for x, and their largest in *cmax; false when x is not
 * finite or so large that a bound could overflow. */
static bool block_factors(const ocr2_screen *s, const float *x, float *cb, float *cmax)
{
	const double u = 0x1p-24;
	double nk = (double)s->k + 1, ns = 16.0 * s->nb + 1;
	double gk = nk * u / (1 - nk * u), gs = ns * u / (1 - ns * u);
	double f1 = s->rho + (127.0 + s->rho) * gk, f3 = 4065.0 * gs;
	const double raise = 1.0 + 0x1p-10;
	*cmax = 0;
	for (int b = 0; b < s->nb; b++) {
		double l1 = 0, m = 0;
		for (int t = 0; t < BLK; t++) {
			double a = fabs((double)x[b * BLK + t]);
			if (!(a <= FLT_MAX))
				return false;
			l1 += a;
			if (a > m)
				m = a;
		}
		double ex = m < 1e-30 ? m : 1.6e-5 * m;
		double c = raise * (f1 * l1 + 4064.0 * ex + f3 * m);
		if (!(c * s->dmax <= HUGE_BOUND))
			return false;
		cb[b] = (float)c;
		if ((double)cb[b] < c) /* keep every factor rounded up */
			cb[b] = nextafterf(cb[b], INFINITY);
		*cmax = cb[b] > *cmax ? cb[b] : *cmax;
	}
	return true;
}

/* E of row r: sum_b d_b c_b. */
static float row_bound(const ocr2_screen *s, int r, const float *cb)
{
	float e = 0;
	for (int b = 0; b < s->nb; b++)
		e += ocr2_q8_scale(&s->q, (int64_t)r * s->nb + b) * cb[b];
	return e;
}

/* The largest S of the rows not banned, as one 64-bit key: the float's
 * order-preserving bits above the inverted row (ties: the lower row). */
static uint64_t best_key(float v, int row)
{
	uint32_t b;
	memcpy(&b, &v, sizeof b);
	b = b & 0x80000000u ? ~b : b | 0x80000000u;
	return (uint64_t)b << 32 | (uint32_t)~(uint32_t)row;
}

static int first_at_least(const int32_t *v, int n, int x)
{
	int lo = 0, hi = n;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

typedef struct {
	const ocr2_screen *s;
	const int16_t *xq;
	const float *xs;
	float *est; /* [rows] */
	const int32_t *banned;
	int n_banned;
	_Atomic uint64_t best; /* best_key of the largest S not banned; 0 = none */
} est_job;

static void est_range(void *arg, int64_t a64, int64_t b64)
{
	est_job *j = arg;
	int a = (int)a64, b = (int)b64;
	float *est = j->est;
	ocr2_gemv_rows_q8x(&j->s->q, j->xq, j->xs, j->s->k, a, b, est + a);
	int bi = a;
	for (int i = a + 1; i < b; i++)
		bi = est[i] > est[bi] ? i : bi;
	int bp = first_at_least(j->banned, j->n_banned, a);
	if (bp < j->n_banned && j->banned[bp] < b) {
		/* a banned row in the range: the slow way */
		bi = -1;
		for (int i = a; i < b; i++) {
			while (bp < j->n_banned && j->banned[bp] < i)
				bp++;
			if ((bp < j->n_banned && j->banned[bp] == i) || est[i] != est[i])
				continue;
			if (bi < 0 || est[i] > est[bi])
				bi = i;
		}
	}
	if (bi < 0 || est[bi] != est[bi]) /* all banned, or NaN (cannot be: x is checked) */
		return;
	uint64_t key = best_key(est[bi], bi), cur = atomic_load(&j->best);
	while (key > cur && !atomic_compare_exchange_weak(&j->best, &cur, key))
		;
}

/* Tests (ocr2_screen_adversary): every estimate as wrong as its bound
 * allows, against the right choice: the full product's maximum (first of
 * equals, not banned) at 0.999 E below its value, every other row 0.999 E
 * above. The choice must come out the same. Returns the new largest
 * estimate's row. */
static bool adversary;

void ocr2_screen_adversary(bool on)
{
	adversary = on;
}

static int make_worst(const ocr2_screen *s, const float *x, const int32_t *banned, int nb,
		      const float *cb, float *est)
{
	int m = -1, bp = 0;
	float mv = 0;
	for (int i = 0; i < s->rows; i++) {
		float v;
		ocr2_gemv_rows(s->w, x, s->k, i, i + 1, &v);
		est[i] = v;
		while (bp < nb && banned[bp] < i)
			bp++;
		if (!(bp < nb && banned[bp] == i) && (m < 0 || v > mv)) {
			m = i;
			mv = v;
		}
	}
	int top = -1;
	bp = 0;
	for (int i = 0; i < s->rows; i++) {
		est[i] += (i == m ? -0.999f : 0.999f) * row_bound(s, i, cb);
		while (bp < nb && banned[bp] < i)
			bp++;
		if (!(bp < nb && banned[bp] == i) && (top < 0 || est[i] > est[top]))
			top = i;
	}
	return top;
}

/* Scratch: est [rows]; xs, cb [nb]; xq [k] int16. */
static size_t scratch_floats(const ocr2_screen *s)
{
	return (size_t)s->rows + 2 * (size_t)s->nb + ((size_t)s->k + 1) / 2;
}

size_t ocr2_screen_scratch_bytes(const ocr2_screen *s)
{
	return s ? scratch_floats(s) * sizeof(float) : 0;
}

int ocr2_screen_argmax(const ocr2_screen *s, ocr2_pool *pool, const float *x,
		       const int32_t *banned, int nb, float *scratch, int *n_exact)
{
	*n_exact = 0;
	int rows = s->rows, k = s->k;
	float *est = scratch, *xs = est + rows, *cb = xs + s->nb, cmax;
	int16_t *xq = (int16_t *)(cb + s->nb);
	if (nb < 0)
		nb = 0;
	if (!block_factors(s, x, cb, &cmax))
		return -1;
	ocr2_q8x_quantize(x, k, xq, xs);
	est_job j = {.s = s, .xq = xq, .xs = xs, .est = est, .banned = banned, .n_banned = nb};
	atomic_init(&j.best, 0);
	ocr2_pool_run_ranges(pool, est_range, &j, rows, EST_CHUNK);
	uint64_t key = atomic_load(&j.best);
	if (!key)
		return -1;
	int top = (int)~(uint32_t)key;
	if (adversary)
		top = make_worst(s, x, banned, nb, cb, est);
	float floor_lo = est[top] - row_bound(s, top, cb);
	/* the candidates, in ascending order: the first of equal maxima wins */
	float wide = 1.01f * cmax;
	int cand[MAX_EXACT], nc = 0, bp = 0;
	for (int i = 0; i < rows; i++) {
		if (!(est[i] + s->dsum[i] * wide >= floor_lo))
			continue;
		while (bp < nb && banned[bp] < i)
			bp++;
		if (bp < nb && banned[bp] == i)
			continue;
		if (!(est[i] + row_bound(s, i, cb) >= floor_lo))
			continue;
		if (nc == MAX_EXACT)
			return -1;
		cand[nc++] = i;
	}
	int best = -1;
	float bv = 0;
	for (int c = 0; c < nc; c++) {
		int i = cand[c];
		float v, e = row_bound(s, i, cb);
		ocr2_gemv_rows(s->w, x, k, i, i + 1, &v);
		if (!(v >= est[i] - e && v <= est[i] + e)) /* a broken bound (or NaN): give up */
			return -1;
		if (best < 0 || v > bv) {
			best = i;
			bv = v;
		}
	}
	*n_exact = nc;
	return best;
}

void ocr2_screen_estimate(const ocr2_screen *s, const float *x, int r0, int r1, float *est,
			  float *bound)
{
	float *xs = malloc((size_t)s->nb * 2 * sizeof *xs), cmax;
	int16_t *xq = malloc((size_t)s->k * sizeof *xq);
	if (xs && xq && block_factors(s, x, xs + s->nb, &cmax)) {
		ocr2_q8x_quantize(x, s->k, xq, xs);
		ocr2_gemv_rows_q8x(&s->q, xq, xs, s->k, r0, r1, est);
		for (int r = r0; r < r1; r++)
			bound[r - r0] = row_bound(s, r, xs + s->nb);
	} else {
		for (int r = r0; r < r1; r++)
			est[r - r0] = bound[r - r0] = NAN;
	}
	free(xs);
	free(xq);
}
