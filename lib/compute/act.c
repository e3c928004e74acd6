/* act.c - the activations, norms and RoPE both model halves apply between
 * products; a leaf: it calls only the pool and the SIMD pieces. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute/kernels.h"
#include "compute/simd.h"

#if HAVE_X86
AVX512 static void softmax_avx512(float *x, int n)
{
	__m512 mv = _mm512_set1_ps(-INFINITY);
	int i = 0;
	for (; i + 16 <= n; i += 16)
		mv = _mm512_max_ps(mv, _mm512_loadu_ps(x + i));
	float mx = _mm512_reduce_max_ps(mv);
	for (; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	if (mx == -INFINITY) { /* everything masked: define as zeros, like the loop */
		memset(x, 0, (size_t)n * sizeof *x);
		return;
	}
	__m512 m = _mm512_set1_ps(mx), sv = _mm512_setzero_ps();
	for (i = 0; i + 16 <= n; i += 16) {
		__m512 e = exp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
		_mm512_storeu_ps(x + i, e);
		sv = _mm512_add_ps(sv, e);
	}
	if (i < n) {
		__mmask16 k = (__mmask16)((1u << (n - i)) - 1);
		__m512 e = exp_neg(_mm512_sub_ps(_mm512_mask_loadu_ps(m, k, x + i), m));
		e = _mm512_maskz_mov_ps(k, e);
		_mm512_mask_storeu_ps(x + i, k, e);
		sv = _mm512_add_ps(sv, e);
	}
	__m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv));
	for (i = 0; i + 16 <= n; i += 16)
		_mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
	if (i < n) {
		__mmask16 k = (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv));
	}
}

/* The same with AVX2 (8 lanes, its own summation order): a tail of n % 8 is
 * computed in a padded copy, -inf in the exponential pass (giving 0). */
AVX2 static void softmax_avx2(float *x, int n)
{
	__m256 mv = _mm256_set1_ps(-INFINITY);
	int i = 0;
	for (; i + 8 <= n; i += 8)
		mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
	__m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
	m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
	m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
	float mx = _mm_cvtss_f32(m4);
	for (; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	if (mx == -INFINITY) { /* everything masked: define as zeros, like the loop */
		memset(x, 0, (size_t)n * sizeof *x);
		return;
	}
	__m256 m = _mm256_set1_ps(mx), sv = _mm256_setzero_ps();
	for (i = 0; i + 8 <= n; i += 8) {
		__m256 e = exp_neg8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
		_mm256_storeu_ps(x + i, e);
		sv = _mm256_add_ps(sv, e);
	}
	_Alignas(32) float tail[8];
	int nt = n - i;
	if (nt > 0) {
		for (int t = 0; t < 8; t++)
			tail[t] = t < nt ? x[i + t] : -INFINITY;
		__m256 e = exp_neg8(_mm256_sub_ps(_mm256_load_ps(tail), m));
		_mm256_store_ps(tail, e);
		memcpy(x + i, tail, (size_t)nt * sizeof *x);
		sv = _mm256_add_ps(sv, e);
	}
	__m256 inv = _mm256_set1_ps(1.0f / hsum8(sv));
	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
	for (; i < n; i++)
		x[i] *= _mm256_cvtss_f32(inv);
}

/* erf by Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7):
 * 1 - t(a1 + t(a2 + t(a3 + t(a4 + t a5)))) exp(-x^2), t = 1/(1 + p|x|). */
AVX512 static void gelu_avx512(float *x, int n)
{
	const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
	const __m512 rs2 = _mm512_set1_ps(0.70710678118654752f);
	for (int i = 0; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		__m512 v = _mm512_maskz_loadu_ps(m, x + i);
		__m512 z = _mm512_mul_ps(v, rs2);
		__m512 az = _mm512_abs_ps(z);
		__m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), az, one));
		__m512 p = _mm512_set1_ps(1.061405429f);
		p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
		p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
		p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
		p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
		p = _mm512_mul_ps(p, t);
		__m512 e = exp_neg(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), az), az));
		__m512 erf_abs = _mm512_fnmadd_ps(p, e, one);
		/* copy the sign of z */
		__m512 erf = _mm512_castsi512_ps(_mm512_or_si512(
			_mm512_castps_si512(erf_abs),
			_mm512_and_si512(_mm512_castps_si512(z), _mm512_set1_epi32((int)0x80000000))));
		__m512 g = _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf));
		_mm512_mask_storeu_ps(x + i, m, g);
	}
}

/* The same operations with AVX2, lane for lane the same floats as
 * gelu_avx512; a tail of n % 8 in a zero-padded copy. */
AVX2 static void gelu_avx2(float *x, int n)
{
	const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
	const __m256 rs2 = _mm256_set1_ps(0.70710678118654752f);
	const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000));
	_Alignas(32) float tail[8];
	for (int i = 0; i < n; i += 8) {
		int len = n - i >= 8 ? 8 : n - i;
		float *px = x + i;
		if (len < 8) {
			memset(tail, 0, sizeof tail);
			memcpy(tail, px, (size_t)len * sizeof *x);
			px = tail;
		}
		__m256 v = _mm256_loadu_ps(px);
		__m256 z = _mm256_mul_ps(v, rs2);
		__m256 az = _mm256_andnot_ps(sign, z);
		__m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), az, one));
		__m256 p = _mm256_set1_ps(1.061405429f);
		p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
		p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
		p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
		p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
		p = _mm256_mul_ps(p, t);
		__m256 e = exp_neg8(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), az), az));
		__m256 erf_abs = _mm256_fnmadd_ps(p, e, one);
		__m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(z, sign)); /* the sign of z */
		_mm256_storeu_ps(px, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf)));
		if (len < 8)
			memcpy(x + i, tail, (size_t)len * sizeof *x);
	}
}
#endif

/* The attention softmax and GELU: vectorised where the CPU allows (AVX-512,
 * else AVX2); ocr2_softmax_ref and ocr2_gelu_ref below stay the oracles
 * (tests/compute/test-gemv.c, also run capped at AVX2). */
bool ocr2_softmax_simd(float *x, int n)
{
#if HAVE_X86
	if (ocr2_have_avx512()) {
		softmax_avx512(x, n);
		return true;
	}
	if (ocr2_have_avx2()) {
		softmax_avx2(x, n);
		return true;
	}
#endif
	return false;
}

bool ocr2_gelu_simd(float *x, int n)
{
#if HAVE_X86
	if (ocr2_have_avx512()) {
		gelu_avx512(x, n);
		return true;
	}
	if (ocr2_have_avx2()) {
		gelu_avx2(x, n);
		return true;
	}
#endif
	(void)x;
	(void)n;
	return false;
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

void ocr2_silu_mul_range(float *g, const float *u, int a, int b)
{
	for (int t = a; t < b; t++)
		g[t] = g[t] / (1.0f + expf(-g[t])) * u[t];
}

static void silu_mul_part(void *arg, int i, int n_items)
{
	(void)n_items;
	const ew_job *j = arg;
	int a = i * EW_CHUNK, b = a + EW_CHUNK < j->n ? a + EW_CHUNK : j->n;
	ocr2_silu_mul_range(j->x, j->u, a, b);
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
