/* gemm.c - the vision encoder's bf16 matrix products (--precision bf16, the
 * default where the CPU has avx512_bf16).
 *
 * y[n, m] = x[n, k] . W[m, k]^T (+ bias) with bf16 weights, the activations
 * x rounded to bf16 (round to nearest even) and every product summed in f32
 * by vdpbf16ps, which does twice the multiply-adds per cycle of an f32 FMA.
 * That is the precision the official implementation runs at on a GPU, not
 * the f32 target of the reference (MODEL.md §0.1): a 2^-9 relative rounding of
 * each activation. The caller chooses (enc_model.bf16, from ocr2_precision);
 * these functions only refuse when the CPU cannot run them.
 *
 * Layout: W is packed per call into panels of 32 output columns; panel q
 * holds, for each pair p of k, the 32 dwords W[q*32 + c][2p, 2p+1]. x is
 * converted to bf16 rows. A micro-kernel keeps 12 rows x 32 columns of y in
 * 24 registers and broadcasts one dword (two bf16) of x per row and pair.
 * Each y element is summed over k in order by one kernel call, so the result
 * does not depend on the thread count or the blocking.
 *
 * ocr2_gemm_bf16_ref is the portable oracle with the same rounding of x. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute/kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#define NR 32 /* columns per panel */
#define MR 12 /* rows of x per micro-kernel */

/* x to bf16 as vcvtne2ps2bf16 does it: nearest even, subnormal inputs as
 * zero (DAZ), NaN kept quiet. */
static uint16_t to_bf16_daz(float f)
{
	if (fabsf(f) < FLT_MIN)
		f = copysignf(0.0f, f);
	return ocr2_f32_to_bf16(f);
}

void ocr2_gemm_bf16_ref(const float *x, int n, int k, const uint16_t *w, int m,
			const float *bias, float *y)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m; j++) {
			float acc = 0;
			for (int p = 0; p < k; p++)
				acc += ocr2_bf16_to_f32(to_bf16_daz(x[(size_t)i * k + p])) *
				       ocr2_bf16_to_f32(w[(size_t)j * k + p]);
			y[(size_t)i * m + j] = acc + (bias ? bias[j] : 0.0f);
		}
}

static int available = -1;

bool ocr2_gemm_bf16_available(void)
{
	if (available < 0) {
#if HAVE_X86
		__builtin_cpu_init();
		/* ocr2_have_avx512 honours OCR2_NO_SIMD and OCR2_SIMD=avx2 */
		available = ocr2_have_avx512() && __builtin_cpu_supports("avx512bf16");
#else
		available = 0;
#endif
	}
	return available;
}

#if HAVE_X86
#define BF16K __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

typedef struct {
	const float *x;
	int ldx;
	const uint16_t *w;
	int n, k, m, kp, panels;
	uint16_t *xb;  /* n x k2 */
	const uint32_t *pw; /* panels x kp x NR */
	uint32_t *pw_out;   /* where pack_part writes them */
	int k2;        /* k rounded up to even */
	const float *bias;
	float alpha;
	float *y;
	int ldy;
	int rows_per, panels_per, n_row_items;
} gemm_job;

#define CONV_ROWS 16

BF16K static void conv_part(void *arg, int i, int n_items)
{
	(void)n_items;
	const gemm_job *j = arg;
	int r0 = i * CONV_ROWS, r1 = r0 + CONV_ROWS < j->n ? r0 + CONV_ROWS : j->n;
	for (int r = r0; r < r1; r++) {
		const float *src = j->x + (size_t)r * j->ldx;
		uint16_t *dst = j->xb + (size_t)r * j->k2;
		int p = 0;
		for (; p + 32 <= j->k; p += 32) {
			__m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + p + 16),
							 _mm512_loadu_ps(src + p));
			_mm512_storeu_si512(dst + p, (__m512i)h);
		}
		for (; p < j->k; p++)
			dst[p] = to_bf16_daz(src[p]);
		if (j->k2 > j->k)
			dst[j->k] = 0;
	}
}

/* 16 rows of 16 dwords -> their transpose, in place */
BF16K static void transpose16(__m512i r[16])
{
	__m512i t[16], u[16];
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
	}
	/* u[4i + j]: lane L holds column 4L + j of rows 4i..4i+3 */
	for (int i = 0; i < 16; i += 4) {
		u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
		u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
		u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
		u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	for (int j = 0; j < 4; j++) {
		__m512i s0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44);
		__m512i s1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xEE);
		__m512i s2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
		__m512i s3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xEE);
		r[j] = _mm512_shuffle_i32x4(s0, s2, 0x88);
		r[4 + j] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
		r[8 + j] = _mm512_shuffle_i32x4(s1, s3, 0x88);
		r[12 + j] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
	}
}

/* Panel q of B (m columns, k deep; column c's values at src + c*ld): for
 * each pair p, 32 dwords (zero for columns past m, and the upper half of the
 * last pair when k is odd). B is bf16 (w16, the weights) or f32 (w32,
 * rounded like x: keys in attention). Whole 16 x 16 tiles go through
 * transpose16, the edges one dword at a time. */
BF16K static void pack_panel(uint32_t *dst, int q, int m, int k, const uint16_t *w16,
			     const float *w32, size_t ld)
{
	int kp = (k + 1) / 2, full = k / 2, p16 = full & ~15;
	for (int c0 = 0; c0 < NR; c0 += 16) {
		int col0 = q * NR + c0;
		if (col0 + 16 > m)
			break;
		for (int p0 = 0; p0 < p16; p0 += 16) {
			__m512i r[16];
			for (int c = 0; c < 16; c++) {
				size_t at = (size_t)(col0 + c) * ld + 2 * (size_t)p0;
				r[c] = w16 ? _mm512_loadu_si512(w16 + at)
					   : (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(w32 + at + 16),
									  _mm512_loadu_ps(w32 + at));
			}
			transpose16(r);
			for (int i = 0; i < 16; i++)
				_mm512_storeu_si512(dst + (size_t)(p0 + i) * NR + c0, r[i]);
		}
	}
	for (int c = 0; c < NR; c++) {
		int col = q * NR + c;
		bool tiled = q * NR + (c & ~15) + 16 <= m;
		for (int p = tiled ? p16 : 0; p < kp; p++) {
			uint32_t lo = 0, hi = 0;
			if (col < m) {
				size_t at = (size_t)col * ld + 2 * (size_t)p;
				bool two = 2 * p + 1 < k;
				lo = w16 ? w16[at] : to_bf16_daz(w32[at]);
				hi = !two ? 0 : w16 ? w16[at + 1] : to_bf16_daz(w32[at + 1]);
			}
			dst[(size_t)p * NR + c] = lo | hi << 16;
		}
	}
}

BF16K static void pack_part(void *arg, int q, int n_items)
{
	(void)n_items;
	const gemm_job *j = arg;
	pack_panel(j->pw_out + (size_t)q * j->kp * NR, q, j->m, j->k, j->w, NULL, (size_t)j->k);
}

/* y rows [i0, i0+rows) x columns of panel q, rows <= MR */
BF16K static void kernel(const gemm_job *j, int i0, int rows, int q)
{
	const uint32_t *b = j->pw + (size_t)q * j->kp * NR;
	const uint16_t *a[MR];
	for (int r = 0; r < MR; r++)
		a[r] = j->xb + (size_t)(i0 + (r < rows ? r : rows - 1)) * j->k2;
	__m512 c[MR][2];
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
		c[r][0] = c[r][1] = _mm512_setzero_ps();
	for (int p = 0; p < j->kp; p++) {
		__m512bh b0 = (__m512bh)_mm512_loadu_si512(b + (size_t)p * NR);
		__m512bh b1 = (__m512bh)_mm512_loadu_si512(b + (size_t)p * NR + 16);
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			int32_t v;
			memcpy(&v, a[r] + 2 * p, 4);
			__m512bh av = (__m512bh)_mm512_set1_epi32(v);
			c[r][0] = _mm512_dpbf16_ps(c[r][0], av, b0);
			c[r][1] = _mm512_dpbf16_ps(c[r][1], av, b1);
		}
	}
	int col = q * NR, cols = j->m - col < NR ? j->m - col : NR;
	__mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
	__mmask16 m1 = cols <= 16 ? 0 : cols >= 32 ? (__mmask16)0xFFFF
						   : (__mmask16)((1u << (cols - 16)) - 1);
	__m512 bias0 = _mm512_setzero_ps(), bias1 = bias0;
	if (j->bias) {
		bias0 = _mm512_maskz_loadu_ps(m0, j->bias + col);
		bias1 = _mm512_maskz_loadu_ps(m1, j->bias + col + 16);
	}
	__m512 alpha = _mm512_set1_ps(j->alpha);
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++)
		if (r < rows) {
			float *yr = j->y + (size_t)(i0 + r) * j->ldy + col;
			__m512 v0 = _mm512_fmadd_ps(c[r][0], alpha, bias0);
			__m512 v1 = _mm512_fmadd_ps(c[r][1], alpha, bias1);
#ifdef __SANITIZE_ADDRESS__
			/* AddressSanitizer does not see masked stores: plain ones */
			float t[32];
			_mm512_storeu_ps(t, v0);
			_mm512_storeu_ps(t + 16, v1);
			for (int e = 0; e < cols; e++)
				yr[e] = t[e];
#else
			_mm512_mask_storeu_ps(yr, m0, v0);
			_mm512_mask_storeu_ps(yr + 16, m1, v1);
#endif
		}
}

/* Items of gemm_part: rows in blocks whose bf16 x stays in L2 (~256 KB)
 * while the panels pass, then panels split until there are ~4 items per
 * thread. Returns the item count. */
static int plan_items(gemm_job *j, int threads)
{
	int rows = (int)((256u << 10) / ((size_t)j->k2 * 2));
	rows = rows < MR ? MR : rows / MR * MR;
	j->rows_per = rows < j->n ? rows : j->n;
	j->n_row_items = (j->n + j->rows_per - 1) / j->rows_per;
	int pgroups = 1;
	while (j->n_row_items * pgroups < 4 * threads && pgroups < j->panels)
		pgroups++;
	j->panels_per = (j->panels + pgroups - 1) / pgroups;
	return j->n_row_items * ((j->panels + j->panels_per - 1) / j->panels_per);
}

/* item: a block of rows x a block of panels */
BF16K static void gemm_part(void *arg, int it, int n_items)
{
	(void)n_items;
	const gemm_job *j = arg;
	int ri = it % j->n_row_items, pi = it / j->n_row_items;
	int r0 = ri * j->rows_per, r1 = r0 + j->rows_per < j->n ? r0 + j->rows_per : j->n;
	int q0 = pi * j->panels_per, q1 = q0 + j->panels_per < j->panels ? q0 + j->panels_per
								   : j->panels;
	for (int q = q0; q < q1; q++)
		for (int i = r0; i < r1; i += MR)
			kernel(j, i, r1 - i < MR ? r1 - i : MR, q);
}
#endif

/* ---- one thread, a packed operand used for several products (attention) ---- */

struct ocr2_bf16_operand {
	uint32_t *pw;
	int m, k, kp, panels;
};

#if HAVE_X86
BF16K static void pack_f32_cols(ocr2_bf16_operand *o, const float *b, int ldb)
{
	for (int q = 0; q < o->panels; q++) {
		uint32_t *dst = o->pw + (size_t)q * o->kp * NR;
		for (int c0 = 0; c0 < NR; c0 += 16) {
			int col0 = q * NR + c0, cols = o->m - col0;
			cols = cols < 0 ? 0 : cols > 16 ? 16 : cols;
			__mmask16 mk = (__mmask16)((1u << cols) - 1);
			for (int p = 0; p < o->kp; p++) {
				__m512 lo = _mm512_maskz_loadu_ps(mk, b + (size_t)(2 * p) * ldb + col0);
				__m512 hi = 2 * p + 1 < o->k
						    ? _mm512_maskz_loadu_ps(mk, b + (size_t)(2 * p + 1) * ldb + col0)
						    : _mm512_setzero_ps();
				__m512i l = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
				__m512i h = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi));
				_mm512_storeu_si512(dst + (size_t)p * NR + c0,
						    _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
			}
		}
	}
}
#endif

ocr2_bf16_operand *ocr2_bf16_pack_f32(const float *b, int ldb, int m, int k, bool by_columns)
{
#if HAVE_X86
	if (!ocr2_gemm_bf16_available() || m <= 0 || k <= 0)
		return NULL;
	ocr2_bf16_operand *o = malloc(sizeof *o);
	if (!o)
		return NULL;
	o->m = m;
	o->k = k;
	o->kp = (k + 1) / 2;
	o->panels = (m + NR - 1) / NR;
	o->pw = malloc((size_t)o->panels * o->kp * NR * sizeof *o->pw);
	if (!o->pw) {
		free(o);
		return NULL;
	}
	if (by_columns)
		pack_f32_cols(o, b, ldb);
	else
		for (int q = 0; q < o->panels; q++)
			pack_panel(o->pw + (size_t)q * o->kp * NR, q, m, k, NULL, b, (size_t)ldb);
	return o;
#else
	(void)b, (void)ldb, (void)m, (void)k, (void)by_columns;
	return NULL;
#endif
}

void ocr2_bf16_operand_free(ocr2_bf16_operand *o)
{
	if (o) {
		free(o->pw);
		free(o);
	}
}

bool ocr2_gemm_bf16_st(const float *a, int lda, int n, const ocr2_bf16_operand *w, float alpha,
		       float *c, int ldc)
{
#if HAVE_X86
	if (!w || n <= 0)
		return false;
	gemm_job j = {.x = a, .ldx = lda, .n = n, .k = w->k, .m = w->m, .kp = w->kp,
		      .panels = w->panels, .pw = w->pw, .k2 = 2 * w->kp, .alpha = alpha,
		      .y = c, .ldy = ldc};
	j.xb = malloc((size_t)n * j.k2 * sizeof *j.xb);
	if (!j.xb)
		return false;
	/* a NULL pool runs the items in order on this thread */
	ocr2_pool_run(NULL, conv_part, &j, (n + CONV_ROWS - 1) / CONV_ROWS);
	ocr2_pool_run(NULL, gemm_part, &j, plan_items(&j, 1));
	free(j.xb);
	return true;
#else
	(void)a, (void)lda, (void)n, (void)w, (void)alpha, (void)c, (void)ldc;
	return false;
#endif
}

bool ocr2_gemm_bf16(ocr2_pool *pool, const float *x, int n, int k, const uint16_t *w, int m,
		    const float *bias, float *y)
{
#if HAVE_X86
	if (!ocr2_gemm_bf16_available() || n <= 0 || m <= 0 || k <= 0)
		return false;
	gemm_job j = {.x = x, .ldx = k, .w = w, .n = n, .k = k, .m = m, .bias = bias,
		      .alpha = 1.0f, .y = y, .ldy = m};
	j.kp = (k + 1) / 2;
	j.k2 = 2 * j.kp;
	j.panels = (m + NR - 1) / NR;
	size_t xb_bytes = ((size_t)n * j.k2 * 2 + 63) & ~(size_t)63;
	size_t bytes = xb_bytes + (size_t)j.panels * j.kp * NR * 4;
	void *own = pool ? NULL : malloc(bytes);
	char *buf = pool ? ocr2_pool_scratch(pool, bytes) : own;
	if (!buf)
		return false;
	j.xb = (uint16_t *)buf;
	j.pw_out = (uint32_t *)(buf + xb_bytes);
	j.pw = j.pw_out;
	ocr2_pool_run(pool, conv_part, &j, (n + CONV_ROWS - 1) / CONV_ROWS);
	ocr2_pool_run(pool, pack_part, &j, j.panels);
	ocr2_pool_run(pool, gemm_part, &j, plan_items(&j, ocr2_pool_size(pool)));
	free(own);
	return true;
#else
	(void)pool, (void)x, (void)n, (void)k, (void)w, (void)m, (void)bias, (void)y;
	return false;
#endif
}
