/* attend.c - one decode-step attention row: scores, softmax, weighted sum
 * of V, in AVX-512 or AVX2 where the head size allows, from an f32 or a bf16
 * cache; the plain loops are the oracles. */
#include <math.h>

#include "compute/kernels.h"
#include "compute/simd.h"

#if HAVE_X86
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
	ocr2_softmax_simd(s, nk); /* AVX-512 too: the caller checked */
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

/* 8 bf16 -> f32: a 16-bit left shift, exact */
AVX2 static inline __m256 bf16x8(const uint16_t *p)
{
	__m128i h = _mm_loadu_si128((const __m128i *)p);
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* Elements i..i+7 of a cache row as f32: f32 as stored, or bf16 widened. */
AVX2 static inline __attribute__((always_inline)) __m256 row8(const void *p, size_t i,
								const bool bf16)
{
	return bf16 ? bf16x8((const uint16_t *)p + i) : _mm256_loadu_ps((const float *)p + i);
}

/* The same on 8 lanes, hd a multiple of 8, from an f32 or (bf16, a constant
 * in each caller) a bf16 cache: the same operations on the widened values.
 * Scores with two accumulators, the softmax (ocr2_softmax), then the output
 * 64 columns per pass (eight accumulators and the broadcast weight fit the
 * 16 registers): each pass reads its half of every V row, so V is still
 * read once. */
AVX2 static inline __attribute__((always_inline)) void
attend8(const float *q, const void *K, const void *V, int nk, int hd, float scale, float *s,
	float *out, const bool bf16)
{
	for (int t = 0; t < nk; t++) {
		size_t k = (size_t)t * hd;
		__m256 a0 = _mm256_setzero_ps(), a1 = a0;
		int c = 0;
		for (; c + 16 <= hd; c += 16) {
			a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + c), row8(K, k + c, bf16), a0);
			a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + c + 8), row8(K, k + c + 8, bf16), a1);
		}
		if (c < hd)
			a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + c), row8(K, k + c, bf16), a0);
		s[t] = hsum8(_mm256_add_ps(a0, a1)) * scale;
	}
	ocr2_softmax(s, nk);
	int c0 = 0;
	for (; c0 + 64 <= hd; c0 += 64) {
		__m256 o[8];
		for (int i = 0; i < 8; i++)
			o[i] = _mm256_setzero_ps();
		for (int t = 0; t < nk; t++) {
			size_t v = (size_t)t * hd + c0;
			__m256 p = _mm256_broadcast_ss(s + t);
			_Pragma("GCC unroll 8") for (int i = 0; i < 8; i++)
				o[i] = _mm256_fmadd_ps(p, row8(V, v + 8 * i, bf16), o[i]);
		}
		for (int i = 0; i < 8; i++)
			_mm256_storeu_ps(out + c0 + 8 * i, o[i]);
	}
	for (; c0 < hd; c0 += 8) {
		__m256 o0 = _mm256_setzero_ps();
		for (int t = 0; t < nk; t++)
			o0 = _mm256_fmadd_ps(_mm256_broadcast_ss(s + t), row8(V, (size_t)t * hd + c0, bf16),
					     o0);
		_mm256_storeu_ps(out + c0, o0);
	}
}

AVX2 static void attend_avx2(const float *q, const float *K, const float *V, int nk, int hd,
			     float scale, float *s, float *out)
{
	attend8(q, K, V, nk, hd, scale, s, out, false);
}

/* AVX2 on AVX-512 CPUs too (one kernel to keep tested). */
AVX2 static void attend_bf16_avx2(const float *q, const uint16_t *K, const uint16_t *V, int nk,
				  int hd, float scale, float *s, float *out)
{
	attend8(q, K, V, nk, hd, scale, s, out, true);
}
#endif

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
	if (ocr2_have_avx512() && hd % 16 == 0) {
		attend_avx512(q, K, V, nk, hd, scale, s, out);
		return;
	}
	if (ocr2_have_avx2() && hd % 8 == 0) {
		attend_avx2(q, K, V, nk, hd, scale, s, out);
		return;
	}
#endif
	ocr2_attend_ref(q, K, V, nk, hd, scale, s, out);
}

void ocr2_attend_bf16_ref(const float *q, const uint16_t *K, const uint16_t *V, int nk, int hd,
			  float scale, float *s, float *out)
{
	for (int t = 0; t < nk; t++) {
		const uint16_t *k = K + (size_t)t * hd;
		float d = 0;
		for (int c = 0; c < hd; c++)
			d += q[c] * ocr2_bf16_to_f32(k[c]);
		s[t] = d * scale;
	}
	ocr2_softmax_ref(s, nk);
	for (int c = 0; c < hd; c++)
		out[c] = 0;
	for (int t = 0; t < nk; t++) {
		const uint16_t *v = V + (size_t)t * hd;
		for (int c = 0; c < hd; c++)
			out[c] += s[t] * ocr2_bf16_to_f32(v[c]);
	}
}

void ocr2_attend_bf16(const float *q, const uint16_t *K, const uint16_t *V, int nk, int hd,
		      float scale, float *s, float *out)
{
#if HAVE_X86
	if (ocr2_have_avx2() && hd % 8 == 0) {
		attend_bf16_avx2(q, K, V, nk, hd, scale, s, out);
		return;
	}
#endif
	ocr2_attend_bf16_ref(q, K, V, nk, hd, scale, s, out);
}
