/* gemv.c - the memory-bound matrix-vector products of decoding: y = W x for a
 * row range of W stored as f32, bf16 or q8, with AVX-512 versions chosen at
 * run time and the portable loops kept as their oracle (tests/core). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

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
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

/* The weight kernels below ask for the rows PREFETCH_AHEAD bytes ahead of the
 * one they read: the hardware prefetchers alone keep too few misses in flight
 * with these instruction mixes. Measured on 2 threads, alternating in one
 * process: a q8 matrix streamed at 59-61 GB/s without, 66-75 with (a bare
 * read loop: 74-87); decode +6-8 % (q8) and +5-8 % (bf16). 2 KiB gained
 * less, 6-8 KiB no more. */
#define PREFETCH_AHEAD 4096

/* Hints for [p + ahead, p + ahead + bytes), which may lie past the end of
 * the data (a prefetch never faults): the address is formed as an integer. */
AVX512 static inline void prefetch_span(const void *p, size_t ahead, size_t bytes)
{
	uintptr_t c = (uintptr_t)p + ahead;
	for (size_t i = 0; i < bytes; i += 64)
		_mm_prefetch((const char *)(c + i), _MM_HINT_T0);
}

/* bf16 -> f32 is a 16-bit left shift, so the product is exact f32 math on
 * the stored weights: no rounding of x to bf16 (which vdpbf16ps would need). */
AVX512 static inline __m512 bf16x16(const uint16_t *p)
{
	__m256i h = _mm256_loadu_si256((const __m256i *)p);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AVX512 static inline __m512 bf16x16_mask(const uint16_t *p, __mmask16 m)
{
	__m256i h = _mm256_maskz_loadu_epi16(m, p);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

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

AVX512 static void gemv_q8_avx512(const ocr2_tensor *w, const int16_t *xq, const float *xs,
				  int k, int r0, int r1, float *y)
{
	const int8_t *W = w->data;
	int nb = k / 32;
	_Alignas(64) float c[Q8_CBLOCKS];
	for (int r = r0; r < r1; r++) {
		const int8_t *a = W + (size_t)r * k;
		const float *sc = w->scales ? w->scales + (size_t)r * nb : NULL;
		const uint16_t *sh = w->scales_h ? w->scales_h + (size_t)r * nb : NULL;
		/* the scales stream 1/16 (F16) or 1/8 (F32) as fast as the weights */
		prefetch_span(a, PREFETCH_AHEAD, (size_t)k);
		if (sh)
			prefetch_span(sh, PREFETCH_AHEAD / 16, (size_t)nb * 2);
		else
			prefetch_span(sc, PREFETCH_AHEAD / 8, (size_t)nb * 4);
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

AVX512 static inline __m512 exp_neg(__m512 x)
{
	__mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
	x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
	__m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
					_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
	__m512 p = _mm512_set1_ps(1.9875691500e-4f);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
	__m512 r2 = _mm512_mul_ps(r, r);
	p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
	return _mm512_maskz_mov_ps((__mmask16)~under, _mm512_scalef_ps(p, n));
}

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

/* One query row against nk keys and values stored contiguously (row i of K
 * and V at i*hd), hd a multiple of 16. Scores are written to s. The output is
 * summed over keys in order with hd/16 accumulators, 128 columns per pass, so
 * V is read once for the usual head size of 128. */
AVX512 static void attend_avx512(const float *q, const float *K, const float *V, int nk, int hd,
				 float scale, float *s, float *out)
{
	for (int t = 0; t < nk; t++) {
		const float *k = K + (size_t)t * hd;
		__m512 a0 = _mm512_setzero_ps(), a1 = a0;
		int c = 0;
		for (; c + 32 <= hd; c += 32) {
			a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + c), _mm512_loadu_ps(k + c), a0);
			a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + c + 16), _mm512_loadu_ps(k + c + 16), a1);
		}
		if (c < hd)
			a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + c), _mm512_loadu_ps(k + c), a0);
		s[t] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) * scale;
	}
	softmax_avx512(s, nk);
	int c0 = 0;
	for (; c0 + 128 <= hd; c0 += 128) {
		__m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0, o4 = o0, o5 = o0,
		       o6 = o0, o7 = o0;
		for (int t = 0; t < nk; t++) {
			const float *v = V + (size_t)t * hd + c0;
			__m512 p = _mm512_set1_ps(s[t]);
			o0 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v), o0);
			o1 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 16), o1);
			o2 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 32), o2);
			o3 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 48), o3);
			o4 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 64), o4);
			o5 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 80), o5);
			o6 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 96), o6);
			o7 = _mm512_fmadd_ps(p, _mm512_loadu_ps(v + 112), o7);
		}
		float *o = out + c0;
		_mm512_storeu_ps(o, o0);
		_mm512_storeu_ps(o + 16, o1);
		_mm512_storeu_ps(o + 32, o2);
		_mm512_storeu_ps(o + 48, o3);
		_mm512_storeu_ps(o + 64, o4);
		_mm512_storeu_ps(o + 80, o5);
		_mm512_storeu_ps(o + 96, o6);
		_mm512_storeu_ps(o + 112, o7);
	}
	for (; c0 < hd; c0 += 16) {
		__m512 o0 = _mm512_setzero_ps();
		for (int t = 0; t < nk; t++)
			o0 = _mm512_fmadd_ps(_mm512_set1_ps(s[t]), _mm512_loadu_ps(V + (size_t)t * hd + c0),
					     o0);
		_mm512_storeu_ps(out + c0, o0);
	}
}
#endif

/* ---- dispatch ------------------------------------------------------------ */

#define Q8X_STACK 8192

static int use_simd = -1; /* -1 unknown, 0 no, 1 AVX-512 */

static int simd_level(void)
{
	if (use_simd < 0) {
		const char *e = getenv("OCR2_NO_SIMD");
		int ok = 0;
#if HAVE_X86
		__builtin_cpu_init();
		ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		     __builtin_cpu_supports("avx512vl");
#endif
		use_simd = ok && !(e && *e && strcmp(e, "0")) ? 1 : 0;
	}
	return use_simd;
}

bool ocr2_have_avx512(void)
{
	return simd_level() == 1;
}

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
#if HAVE_X86
		q8x_quantize_avx512(x, k, q, s);
		gemv_q8_avx512(w, q, s, k, r0, r1, y);
#endif
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
	if (simd_level())
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
	return simd_level() ? "avx512" : "portable";
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
	if (simd_level()) {
		q8x_quantize_avx512(x, k, q, s);
		return;
	}
#endif
	ocr2_q8x_quantize_ref(x, k, q, s);
}

void ocr2_gemv_rows_q8x(const ocr2_tensor *w, const int16_t *xq, const float *xs, int k, int r0,
			int r1, float *y)
{
#if HAVE_X86
	if (simd_level()) {
		gemv_q8_avx512(w, xq, xs, k, r0, r1, y);
		return;
	}
#endif
	gemv_q8_ref(w, xq, xs, k, r0, r1, y);
}

void ocr2_gemv_rows(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y)
{
#if HAVE_X86
	if (simd_level()) {
		switch (w->dtype) {
		case OCR2_DT_F32: gemv_f32_avx512(w, x, k, r0, r1, y); return;
		case OCR2_DT_BF16: gemv_bf16_avx512(w, x, k, r0, r1, y); return;
		case OCR2_DT_Q8: gemv_q8(w, x, k, r0, r1, y, true); return;
		default: break;
		}
	}
#endif
	ocr2_gemv_rows_ref(w, x, k, r0, r1, y);
}

/* The attention softmax: vectorised where the CPU allows; ocr2_softmax_ref in
 * kernels.c stays the oracle (tests/core/test-gemv.c). */
bool ocr2_softmax_simd(float *x, int n)
{
#if HAVE_X86
	if (simd_level()) {
		softmax_avx512(x, n);
		return true;
	}
#endif
	return false;
}

bool ocr2_gelu_simd(float *x, int n)
{
#if HAVE_X86
	if (simd_level()) {
		gelu_avx512(x, n);
		return true;
	}
#endif
	(void)x;
	(void)n;
	return false;
}

void ocr2_attend_ref(const float *q, const float *K, const float *V, int nk, int hd, float scale,
		     float *s, float *out)
{
	for (int t = 0; t < nk; t++) {
		const float *k = K + (size_t)t * hd;
		float d = 0;
		for (int c = 0; c < hd; c++)
			d += q[c] * k[c];
		s[t] = d * scale;
	}
	ocr2_softmax_ref(s, nk);
	for (int c = 0; c < hd; c++)
		out[c] = 0;
	for (int t = 0; t < nk; t++) {
		const float *v = V + (size_t)t * hd;
		for (int c = 0; c < hd; c++)
			out[c] += s[t] * v[c];
	}
}

void ocr2_attend(const float *q, const float *K, const float *V, int nk, int hd, float scale,
		 float *s, float *out)
{
#if HAVE_X86
	if (simd_level() && hd % 16 == 0) {
		attend_avx512(q, K, V, nk, hd, scale, s, out);
		return;
	}
#endif
	ocr2_attend_ref(q, K, V, nk, hd, scale, s, out);
}
