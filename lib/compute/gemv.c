/* gemv.c - the memory-bound matrix-vector products of decoding: y = W x for a
 * row range of W stored as f32, bf16 or q8, with AVX-512 and AVX2 versions chosen at
 * run time and the portable loops kept as their oracle (tests/compute). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute/kernels.h"
#include "compute/simd.h"

/* ---- portable versions (the oracle) --------------------------------------- */

static void gemv_f32_ref(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y)
{
	const float *W = w->data;
	for (int r = r0; r < r1; r++) {
		const float *wr = W + (size_t)r * k;
		float acc = 0;
		for (int i = 0; i < k; i++)
			acc += wr[i] * x[i];
		y[r - r0] = acc;
	}
}

static void gemv_bf16_ref(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y)
{
	const uint16_t *W = w->data;
	for (int r = r0; r < r1; r++) {
		const uint16_t *wr = W + (size_t)r * k;
		float acc = 0;
		for (int i = 0; i < k; i++)
			acc += ocr2_bf16_to_f32(wr[i]) * x[i];
		y[r - r0] = acc;
	}
}

/* ---- q8: int8 weights against x rounded to 16 bits ------------------------
 *
 * Each run of 32 weights along a row shares one scale (f16 or f32). Decoding reads x
 * rounded to int16 in the same blocks of 32, with a scale of its own (the
 * block's largest |x| / 32767), so a block's products are exact integer
 * sums: that halves the vector work per weight byte against widening the
 * int8 weights to f32, and the kernel then runs at memory speed. The rounding
 * of x is at most 2^-16 of the block's largest value, about 1/256 of the
 * weights' own rounding (2^-8 of theirs), so it adds nothing visible to what
 * 8-bit weights already change. */

/* below this a block of x counts as zeros: 32767 / m would overflow */
#define Q8X_TINY 1e-30f

void ocr2_q8x_quantize_ref(const float *x, int k, int16_t *q, float *s)
{
	for (int b = 0; b < k / 32; b++) {
		const float *xb = x + b * 32;
		float m = 0;
		bool bad = false;
		for (int i = 0; i < 32; i++) {
			float a = fabsf(xb[i]);
			if (!(a <= FLT_MAX))
				bad = true;
			else if (a > m)
				m = a;
		}
		if (bad || m < Q8X_TINY) { /* NaN or inf poisons the products, as in f32 */
			s[b] = bad ? NAN : 0.0f;
			memset(q + b * 32, 0, 32 * sizeof *q);
			continue;
		}
		float inv = 32767.0f / m;
		s[b] = m / 32767.0f;
		for (int i = 0; i < 32; i++) {
			float v = rintf(xb[i] * inv);
			q[b * 32 + i] = (int16_t)(v > 32767 ? 32767 : v < -32767 ? -32767 : v);
		}
	}
}

static void gemv_q8_ref(const ocr2_tensor *w, const int16_t *xq, const float *xs, int k, int r0,
			int r1, float *y)
{
	const int8_t *W = w->data;
	for (int r = r0; r < r1; r++) {
		const int8_t *wr = W + (size_t)r * k;
		int64_t b0 = (int64_t)r * (k / 32);
		float acc = 0;
		for (int b = 0; b < k / 32; b++) {
			int32_t blk = 0;
			for (int i = 0; i < 32; i++)
				blk += wr[b * 32 + i] * xq[b * 32 + i];
			acc += (float)blk * (ocr2_q8_scale(w, b0 + b) * xs[b]);
		}
		y[r - r0] = acc;
	}
}

static void gemv_any_ref(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y)
{
	for (int r = r0; r < r1; r++) {
		float acc = 0;
		for (int i = 0; i < k; i++)
			acc += ocr2_tensor_f32(w, (int64_t)r * k + i) * x[i];
		y[r - r0] = acc;
	}
}

/* ---- AVX-512 ------------------------------------------------------------- */
#if HAVE_X86
/* One row at a time: the matrix is then read as one sequential stream, which
 * the hardware prefetchers follow best (measured here: 28 GB/s on one core,
 * against 16 GB/s when two rows are interleaved). Four accumulators hide the
 * FMA latency. */
AVX512 static void gemv_bf16_avx512(const ocr2_tensor *w, const float *x, int k, int r0, int r1,
				    float *y)
{
	const uint16_t *W = w->data;
	int k64 = k & ~63, k16 = k & ~15, rem = k - k16;
	__mmask16 m = (__mmask16)((1u << rem) - 1);
	for (int r = r0; r < r1; r++) {
		const uint16_t *a = W + (size_t)r * k;
		prefetch_span(a, PREFETCH_AHEAD, (size_t)k * 2);
		__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
		int i = 0;
		for (; i < k64; i += 64) {
			s0 = _mm512_fmadd_ps(bf16x16(a + i), _mm512_loadu_ps(x + i), s0);
			s1 = _mm512_fmadd_ps(bf16x16(a + i + 16), _mm512_loadu_ps(x + i + 16), s1);
			s2 = _mm512_fmadd_ps(bf16x16(a + i + 32), _mm512_loadu_ps(x + i + 32), s2);
			s3 = _mm512_fmadd_ps(bf16x16(a + i + 48), _mm512_loadu_ps(x + i + 48), s3);
		}
		for (; i < k16; i += 16)
			s0 = _mm512_fmadd_ps(bf16x16(a + i), _mm512_loadu_ps(x + i), s0);
		if (rem)
			s1 = _mm512_fmadd_ps(bf16x16_mask(a + k16, m), _mm512_maskz_loadu_ps(m, x + k16),
					     s1);
		y[r - r0] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
							       _mm512_add_ps(s2, s3)));
	}
}

AVX512 static void gemv_f32_avx512(const ocr2_tensor *w, const float *x, int k, int r0, int r1,
				   float *y)
{
	const float *W = w->data;
	int k16 = k & ~15, rem = k - k16;
	__mmask16 m = (__mmask16)((1u << rem) - 1);
	for (int r = r0; r < r1; r++) {
		const float *a = W + (size_t)r * k;
		__m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
		int i = 0;
		for (; i + 32 <= k16; i += 32) {
			a0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(x + i), a0);
			a1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(x + i + 16),
					     a1);
		}
		for (; i < k16; i += 16)
			a0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(x + i), a0);
		if (rem)
			a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + k16),
					     _mm512_maskz_loadu_ps(m, x + k16), a1);
		y[r - r0] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
	}
}

AVX512 static void q8x_quantize_avx512(const float *x, int k, int16_t *q, float *s)
{
	const __m512 big = _mm512_set1_ps(FLT_MAX);
	for (int b = 0; b < k / 32; b++) {
		__m512 v0 = _mm512_loadu_ps(x + b * 32), v1 = _mm512_loadu_ps(x + b * 32 + 16);
		__m512 a0 = _mm512_abs_ps(v0), a1 = _mm512_abs_ps(v1);
		/* not (|x| <= FLT_MAX): NaN or inf */
		__mmask16 bad = _mm512_cmp_ps_mask(a0, big, _CMP_NLE_UQ) |
				_mm512_cmp_ps_mask(a1, big, _CMP_NLE_UQ);
		float m = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
		if (bad || m < Q8X_TINY) {
			s[b] = bad ? NAN : 0.0f;
			_mm512_storeu_si512(q + b * 32, _mm512_setzero_si512());
			continue;
		}
		__m512 inv = _mm512_set1_ps(32767.0f / m);
		s[b] = m / 32767.0f;
		/* round to nearest even, like rintf; the saturating pack never bites */
		__m256i q0 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inv)));
		__m256i q1 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inv)));
		_mm256_storeu_si256((__m256i *)(q + b * 32), q0);
		_mm256_storeu_si256((__m256i *)(q + b * 32 + 16), q1);
	}
}

/* One block: 32 int8 weights sign-extended to int16, multiplied by the int16
 * x in pairs (vpmaddwd: 16 exact int32 sums, each below 2^24 so exact in f32
 * too), then scaled by c = weight scale x block scale, read as a broadcast
 * memory operand of the FMA. Four accumulators hide the FMA latency. */
#define Q8_STEP(acc, u)                                                                     \
	do {                                                                                \
		__m512i wv = _mm512_cvtepi8_epi16(                                          \
			_mm256_loadu_si256((const __m256i *)(a + (size_t)(b + (u)) * 32))); \
		__m512i p = _mm512_madd_epi16(wv, _mm512_loadu_si512(xq + (b + (u)) * 32));  \
		acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_set1_ps(c[b - b0 + (u)]), \
				      acc);                                                 \
	} while (0)

#define Q8_CBLOCKS 256 /* blocks per pass: c[] stays on the stack */

/* Row r's block scales (one of sc, sh is NULL), and the prefetches of its
 * weights and scales that both q8 kernels issue: the scales stream 1/16 (F16)
 * or 1/8 (F32) as fast as the weights. */
static inline void q8_row(const ocr2_tensor *w, int r, int k, const float **sc,
			  const uint16_t **sh)
{
	int nb = k / 32;
	*sc = w->scales ? w->scales + (size_t)r * nb : NULL;
	*sh = w->scales_h ? w->scales_h + (size_t)r * nb : NULL;
	prefetch_span((const int8_t *)w->data + (size_t)r * k, PREFETCH_AHEAD, (size_t)k);
	if (*sh)
		prefetch_span(*sh, PREFETCH_AHEAD / 16, (size_t)nb * 2);
	else
		prefetch_span(*sc, PREFETCH_AHEAD / 8, (size_t)nb * 4);
}

AVX512 static void gemv_q8_avx512(const ocr2_tensor *w, const int16_t *xq, const float *xs,
				  int k, int r0, int r1, float *y)
{
	const int8_t *W = w->data;
	int nb = k / 32;
	_Alignas(64) float c[Q8_CBLOCKS];
	for (int r = r0; r < r1; r++) {
		const int8_t *a = W + (size_t)r * k;
		const float *sc;
		const uint16_t *sh;
		q8_row(w, r, k, &sc, &sh);
		__m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
		for (int b0 = 0; b0 < nb; b0 += Q8_CBLOCKS) {
			int b1 = nb - b0 < Q8_CBLOCKS ? nb : b0 + Q8_CBLOCKS;
			/* the per-block factors, 16 at a time */
			for (int i = b0; i < b1; i += 16) {
				__mmask16 m = b1 - i >= 16 ? (__mmask16)0xFFFF
							   : (__mmask16)((1u << (b1 - i)) - 1);
				__m512 ws = sc ? _mm512_maskz_loadu_ps(m, sc + i)
					       : _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, sh + i));
				_mm512_store_ps(c + (i - b0),
						_mm512_mul_ps(ws, _mm512_maskz_loadu_ps(m, xs + i)));
			}
			int b = b0;
			for (; b + 4 <= b1; b += 4) {
				Q8_STEP(s0, 0);
				Q8_STEP(s1, 1);
				Q8_STEP(s2, 2);
				Q8_STEP(s3, 3);
			}
			for (; b < b1; b++)
				Q8_STEP(s0, 0);
		}
		y[r - r0] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1),
							       _mm512_add_ps(s2, s3)));
	}
}
#undef Q8_STEP
#endif

/* ---- AVX2 (CPUs without AVX-512) ------------------------------------------ *
 * The same kernels on 8 lanes: one row at a time, four accumulators, the
 * weights prefetched ahead. The tail past the last full vector is summed
 * in the portable order. */
#if HAVE_X86
AVX2 static inline __m256 bf16x8(const uint16_t *p)
{
	__m128i h = _mm_loadu_si128((const __m128i *)p);
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AVX2 static void gemv_bf16_avx2(const ocr2_tensor *w, const float *x, int k, int r0, int r1,
				  float *y)
{
	const uint16_t *W = w->data;
	int k32 = k & ~31, k8 = k & ~7;
	for (int r = r0; r < r1; r++) {
		const uint16_t *a = W + (size_t)r * k;
		prefetch_span(a, PREFETCH_AHEAD, (size_t)k * 2);
		__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
		int i = 0;
		for (; i < k32; i += 32) {
			s0 = _mm256_fmadd_ps(bf16x8(a + i), _mm256_loadu_ps(x + i), s0);
			s1 = _mm256_fmadd_ps(bf16x8(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
			s2 = _mm256_fmadd_ps(bf16x8(a + i + 16), _mm256_loadu_ps(x + i + 16), s2);
			s3 = _mm256_fmadd_ps(bf16x8(a + i + 24), _mm256_loadu_ps(x + i + 24), s3);
		}
		for (; i < k8; i += 8)
			s0 = _mm256_fmadd_ps(bf16x8(a + i), _mm256_loadu_ps(x + i), s0);
		float t = 0;
		for (; i < k; i++)
			t += ocr2_bf16_to_f32(a[i]) * x[i];
		y[r - r0] = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) + t;
	}
}

AVX2 static void gemv_f32_avx2(const ocr2_tensor *w, const float *x, int k, int r0, int r1,
				 float *y)
{
	const float *W = w->data;
	int k32 = k & ~31, k8 = k & ~7;
	for (int r = r0; r < r1; r++) {
		const float *a = W + (size_t)r * k;
		prefetch_span(a, PREFETCH_AHEAD, (size_t)k * 4);
		__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
		int i = 0;
		for (; i < k32; i += 32) {
			s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
			s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
			s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(x + i + 16),
					     s2);
			s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(x + i + 24),
					     s3);
		}
		for (; i < k8; i += 8)
			s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
		float t = 0;
		for (; i < k; i++)
			t += a[i] * x[i];
		y[r - r0] = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) + t;
	}
}

/* Bit for bit the portable quantizer: the same largest |x|, the same 32767/m
 * and m/32767, and vcvtps2dq rounds to nearest even as rintf does. */
AVX2 static void q8x_quantize_avx2(const float *x, int k, int16_t *q, float *s)
{
	const __m256 big = _mm256_set1_ps(FLT_MAX);
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	for (int b = 0; b < k / 32; b++) {
		const float *xb = x + b * 32;
		__m256 v[4], mx = _mm256_setzero_ps();
		int bad = 0;
		for (int j = 0; j < 4; j++) {
			v[j] = _mm256_loadu_ps(xb + 8 * j);
			__m256 a = _mm256_and_ps(v[j], absmask);
			bad |= _mm256_movemask_ps(_mm256_cmp_ps(a, big, _CMP_NLE_UQ));
			mx = _mm256_max_ps(mx, a);
		}
		__m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
		m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
		m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
		float m = _mm_cvtss_f32(m4);
		if (bad || m < Q8X_TINY) {
			s[b] = bad ? NAN : 0.0f;
			memset(q + b * 32, 0, 32 * sizeof *q);
			continue;
		}
		__m256 inv = _mm256_set1_ps(32767.0f / m);
		s[b] = m / 32767.0f;
		for (int j = 0; j < 4; j += 2) {
			__m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], inv));
			__m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v[j + 1], inv));
			/* packs works within 128-bit lanes: put the quarters back in order */
			__m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8);
			_mm256_storeu_si256((__m256i *)(q + b * 32 + 8 * j), p);
		}
	}
}

/* A block: two halves of 16 int8 weights widened to int16 and multiplied
 * by x's int16 in pairs (vpmaddwd); the two halves' int32 sums added: each
 * of the 8 lanes then sums 4 products, below 4 * 127 * 32767 < 2^24, so
 * exact in f32 as well. */
/* Rows [r0, r1) of W against NG inputs at once (1 <= NG <= Q8_GROUP): a
 * block's weights are widened once and multiplied by each input. Each input
 * has two accumulators (even blocks, odd blocks) and its own block factors,
 * so its sums are the same operations in the same order whatever the other
 * inputs are: this is also the one-input kernel (NG = 1). */
#define Q8_GROUP 4
#define Q8_GROUP_STEP(blk, u)                                                                 \
	do {                                                                                  \
		const int8_t *ab = a + (size_t)(blk) * 32;                                    \
		__m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)ab));      \
		__m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(ab + 16))); \
		_Pragma("GCC unroll 4") for (int j = 0; j < NG; j++)                          \
		{                                                                             \
			const int16_t *xb = xq[j] + (size_t)(blk) * 32;                       \
			__m256i p = _mm256_add_epi32(                                         \
				_mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)xb)),  \
				_mm256_madd_epi16(w1,                                         \
						  _mm256_loadu_si256((const __m256i *)(xb + 16)))); \
			s[j][u] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p),                      \
						  _mm256_broadcast_ss(c[j] + ((blk) - b0)), s[j][u]); \
		}                                                                             \
	} while (0)
AVX2 static inline __attribute__((always_inline)) void
q8_avx2_group(const ocr2_tensor *w, const int16_t *const *xq, const float *const *xs, int k,
	      int r0, int r1, float *const *y, const int NG)
{
	const int8_t *W = w->data;
	int nb = k / 32;
	_Alignas(32) float c[Q8_GROUP][Q8_CBLOCKS];
	for (int r = r0; r < r1; r++) {
		const int8_t *a = W + (size_t)r * k;
		const float *sc;
		const uint16_t *sh;
		q8_row(w, r, k, &sc, &sh);
		__m256 s[Q8_GROUP][2];
		_Pragma("GCC unroll 4") for (int j = 0; j < NG; j++)
			s[j][0] = s[j][1] = _mm256_setzero_ps();
		for (int b0 = 0; b0 < nb; b0 += Q8_CBLOCKS) {
			int b1 = nb - b0 < Q8_CBLOCKS ? nb : b0 + Q8_CBLOCKS;
			for (int j = 0; j < NG; j++) {
				int i = b0;
				for (; i + 8 <= b1; i += 8) {
					__m256 ws = sc ? _mm256_loadu_ps(sc + i)
						       : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sh + i)));
					_mm256_store_ps(c[j] + (i - b0), _mm256_mul_ps(ws, _mm256_loadu_ps(xs[j] + i)));
				}
				for (; i < b1; i++)
					c[j][i - b0] = (sc ? sc[i] : ocr2_f16_to_f32(sh[i])) * xs[j][i];
			}
			int b = b0;
			for (; b + 2 <= b1; b += 2) {
				Q8_GROUP_STEP(b, 0);
				Q8_GROUP_STEP(b + 1, 1);
			}
			if (b < b1)
				Q8_GROUP_STEP(b, 0);
		}
		_Pragma("GCC unroll 4") for (int j = 0; j < NG; j++)
			y[j][r - r0] = hsum8(_mm256_add_ps(s[j][0], s[j][1]));
	}
}
#undef Q8_GROUP_STEP

AVX2 static void gemv_q8_avx2(const ocr2_tensor *w, int nx, const int16_t *const *xq,
			      const float *const *xs, int k, int r0, int r1, float *const *y)
{
	for (int j = 0; j < nx; j += Q8_GROUP) {
		switch (nx - j < Q8_GROUP ? nx - j : Q8_GROUP) {
		case 1: q8_avx2_group(w, xq + j, xs + j, k, r0, r1, y + j, 1); break;
		case 2: q8_avx2_group(w, xq + j, xs + j, k, r0, r1, y + j, 2); break;
		case 3: q8_avx2_group(w, xq + j, xs + j, k, r0, r1, y + j, 3); break;
		default: q8_avx2_group(w, xq + j, xs + j, k, r0, r1, y + j, 4); break;
		}
	}
}
#endif

/* ---- dispatch ------------------------------------------------------------ */

#define Q8X_STACK 8192

/* q8 for a single call: rounds x (on the stack up to Q8X_STACK) and runs the
 * SIMD or the portable kernel. Callers that loop over row ranges
 * (ocr2_linear, ocr2_gemv_batch) round x once and call ocr2_gemv_rows_q8x. */
static void gemv_q8(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y,
		    bool simd)
{
	int16_t qs[Q8X_STACK];
	float ss[Q8X_STACK / 32];
	int16_t *q = k <= Q8X_STACK ? qs : malloc((size_t)k * sizeof *q);
	float *s = k <= Q8X_STACK ? ss : malloc((size_t)(k / 32 + 1) * sizeof *s);
	if (!q || !s) { /* out of memory: NaN, never a silent wrong answer */
		for (int r = r0; r < r1; r++)
			y[r - r0] = NAN;
	} else if (simd) {
		ocr2_q8x_quantize(x, k, q, s);
		ocr2_gemv_rows_q8x(w, q, s, k, r0, r1, y);
	} else {
		ocr2_q8x_quantize_ref(x, k, q, s);
		gemv_q8_ref(w, q, s, k, r0, r1, y);
	}
	if (q != qs)
		free(q);
	if (s != ss)
		free(s);
}

#if HAVE_X86
AVX512 static uint64_t stream_read_avx512(const void *p, size_t n)
{
	const __m512i *v = p;
	__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
	size_t i = 0, nv = n / 64;
	for (; i + 4 <= nv; i += 4) {
		prefetch_span(v + i, PREFETCH_AHEAD, 256); /* as the weight kernels do */
		a0 = _mm512_xor_si512(a0, _mm512_loadu_si512(v + i));
		a1 = _mm512_xor_si512(a1, _mm512_loadu_si512(v + i + 1));
		a2 = _mm512_xor_si512(a2, _mm512_loadu_si512(v + i + 2));
		a3 = _mm512_xor_si512(a3, _mm512_loadu_si512(v + i + 3));
	}
	for (; i < nv; i++)
		a0 = _mm512_xor_si512(a0, _mm512_loadu_si512(v + i));
	__m512i a = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
	return (uint64_t)_mm512_reduce_add_epi64(a);
}
#endif

uint64_t ocr2_stream_read(const void *p, size_t n)
{
#if HAVE_X86
	if (ocr2_have_avx512())
		return stream_read_avx512(p, n);
#endif
	const uint64_t *w = p;
	uint64_t x = 0;
	for (size_t i = 0; i < n / 8; i++)
		x ^= w[i];
	return x;
}

const char *ocr2_gemv_kernel_name(void)
{
	return ocr2_have_avx512() ? "avx512" : ocr2_have_avx2() ? "avx2" : "portable";
}

void ocr2_gemv_rows_ref(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y)
{
	switch (w->dtype) {
	case OCR2_DT_F32: gemv_f32_ref(w, x, k, r0, r1, y); return;
	case OCR2_DT_BF16: gemv_bf16_ref(w, x, k, r0, r1, y); return;
	case OCR2_DT_Q8: gemv_q8(w, x, k, r0, r1, y, false); return;
	default: gemv_any_ref(w, x, k, r0, r1, y); return;
	}
}

void ocr2_q8x_quantize(const float *x, int k, int16_t *q, float *s)
{
#if HAVE_X86
	if (ocr2_have_avx512()) {
		q8x_quantize_avx512(x, k, q, s);
		return;
	}
	if (ocr2_have_avx2()) {
		q8x_quantize_avx2(x, k, q, s);
		return;
	}
#endif
	ocr2_q8x_quantize_ref(x, k, q, s);
}

void ocr2_gemv_rows_q8x(const ocr2_tensor *w, const int16_t *xq, const float *xs, int k, int r0,
			int r1, float *y)
{
#if HAVE_X86
	if (ocr2_have_avx512()) {
		gemv_q8_avx512(w, xq, xs, k, r0, r1, y);
		return;
	}
	if (ocr2_have_avx2()) {
		gemv_q8_avx2(w, 1, &xq, &xs, k, r0, r1, &y);
		return;
	}
#endif
	gemv_q8_ref(w, xq, xs, k, r0, r1, y);
}

void ocr2_gemv_rows_q8x_multi(const ocr2_tensor *w, int nx, const int16_t *const *xq,
			      const float *const *xs, int k, int r0, int r1, float *const *y)
{
#if HAVE_X86
	if (!ocr2_have_avx512() && ocr2_have_avx2()) {
		gemv_q8_avx2(w, nx, xq, xs, k, r0, r1, y);
		return;
	}
#endif
	/* one input after another over a piece of W small enough to stay in
	 * the cache meanwhile (the callers give pieces of about 16 KiB) */
	for (int j = 0; j < nx; j++)
		ocr2_gemv_rows_q8x(w, xq[j], xs[j], k, r0, r1, y[j]);
}

void ocr2_gemv_rows(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y)
{
#if HAVE_X86
	if (ocr2_have_avx512()) {
		switch (w->dtype) {
		case OCR2_DT_F32: gemv_f32_avx512(w, x, k, r0, r1, y); return;
		case OCR2_DT_BF16: gemv_bf16_avx512(w, x, k, r0, r1, y); return;
		case OCR2_DT_Q8: gemv_q8(w, x, k, r0, r1, y, true); return;
		default: break;
		}
	} else if (ocr2_have_avx2()) {
		switch (w->dtype) {
		case OCR2_DT_F32: gemv_f32_avx2(w, x, k, r0, r1, y); return;
		case OCR2_DT_BF16: gemv_bf16_avx2(w, x, k, r0, r1, y); return;
		case OCR2_DT_Q8: gemv_q8(w, x, k, r0, r1, y, true); return;
		default: break;
		}
	}
#endif
	ocr2_gemv_rows_ref(w, x, k, r0, r1, y);
}
