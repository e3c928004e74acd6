/* simd.h - the SIMD pieces several compute files inline: the target
 * attributes, the weight-stream prefetch, bf16 widening, exp(-x) (AVX-512
 * and AVX2) and the AVX2 horizontal sum. Private to lib/compute/; every caller checks
 * ocr2_have_avx512() or ocr2_have_avx2() before using them. */
#ifndef OCR2_COMPUTE_SIMD_H
#define OCR2_COMPUTE_SIMD_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#if HAVE_X86
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* The sum of v's 8 lanes: halves added, then pairs, then the last two. */
AVX2 static inline float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* The weight kernels below ask for the rows PREFETCH_AHEAD bytes ahead of the
 * one they read: the hardware prefetchers alone keep too few misses in flight
 * with these instruction mixes. Measured on 2 threads, alternating in one
 * process: a q8 matrix streamed at 59-61 GB/s without, 66-75 with (a bare
 * read loop: 74-87); decode +6-8 % (q8) and +5-8 % (bf16). 2 KiB gained
 * less, 6-8 KiB no more. */
#define PREFETCH_AHEAD 4096

/* Hints for [p + ahead, p + ahead + bytes), which may lie past the end of
 * the data (a prefetch never faults): the address is formed as an integer. */
static inline void prefetch_span(const void *p, size_t ahead, size_t bytes)
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

/* exp(x) for x <= 0 (softmax and GELU): Cody-Waite reduction and a degree-6
 * polynomial; below -87.3 it is 0. */
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

/* exp_neg on 8 lanes with AVX2: the same operations lane for lane, so the
 * same floats, but 2^n built in the exponent field (n is -126..0 here, a
 * normal power of two, and multiplying by it rounds as vscalefps does). */
AVX2 static inline __m256 exp_neg8(__m256 x)
{
	__m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
	x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
	__m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
				   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
	__m256 p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
	__m256 r2 = _mm256_mul_ps(r, r);
	p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	__m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)),
				      23);
	return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}
#endif

#endif
