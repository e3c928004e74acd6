/* tiles.c - the two products of the vision encoder's attention, in AVX-512
 * register tiles, for one (window, head) at a time:
 *
 *   S[r, t]  = alpha * sum_d Q[r, d] Kt[d, t]     (ocr2_tile_qk)
 *   O[r, :]  =         sum_t P[r, t] V[t, :]      (ocr2_tile_pv)
 *
 * with K in panels of 16 keys (ocr2_tile_pack_k) and V contiguous
 * (ocr2_tile_pack_v), packed once per (window, head) and reused by every
 * query row. OpenBLAS packs both
 * operands again on every call, and a 64-deep q k^T stores each score after
 * 64 multiply-adds: on a 4096-token global view its two calls per 256 query
 * rows ran at 61 % and 70 % of the FMA peak. Here the caller goes through
 * the rows a few dozen at a time, so that the scores between the two
 * products stay in L2.
 *
 * Each output element is one fused multiply-add chain in index order (d,
 * then t), a summation order like the reference's own up to rounding: the
 * encoder goldens check the result (tests/encoder, TOL 5e-5). Available for
 * head dimensions that are a multiple of 16 up to 64 (the published 64, the
 * tiny models' 16) on CPUs with AVX-512F; the caller keeps the sgemm path
 * for the rest and under OCR2_NO_SIMD. */
#include <stdlib.h>
#include <string.h>

#include "compute/kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#define AVX512 __attribute__((target("avx512f")))
#else
#define HAVE_X86 0
#endif

#define QK_ROWS 8  /* rows of S per register tile: 8 x 48 columns, 24 zmm */
#define PV_ROWS 4  /* rows of O per register tile: 4 x hd (<= 64), 16 zmm */

bool ocr2_tile_ok(int hd)
{
	return HAVE_X86 && hd > 0 && hd % 16 == 0 && hd <= 64 && ocr2_have_avx512();
}

size_t ocr2_tile_kt_floats(int T, int hd)
{
	return (size_t)(T + 15) / 16 * 16 * hd;
}

void ocr2_tile_pack_k(const float *k, int ld, int T, int hd, float *kt)
{
	/* panels of 16 keys, each [hd, 16] contiguous, the last one padded with
	 * zeros, so that a tile reads a few sequential streams (the rows of a
	 * plain [hd, T] are 16 KiB apart at T = 4096: one cache set for all) */
	for (int t0 = 0; t0 < T; t0 += 16) {
		float *panel = kt + (size_t)t0 * hd;
		for (int d = 0; d < hd; d++)
			for (int l = 0; l < 16; l++)
				panel[d * 16 + l] = t0 + l < T ? k[(size_t)(t0 + l) * ld + d] : 0.0f;
	}
}

void ocr2_tile_pack_v(const float *v, int ld, int T, int hd, float *vc)
{
	for (int t = 0; t < T; t++)
		memcpy(vc + (size_t)t * hd, v + (size_t)t * ld, (size_t)hd * sizeof *vc);
}

#if HAVE_X86

/* The loops over rows and vectors are unrolled by hand (pragmas) so that
 * the accumulators live in registers at -O2 as well: left to the compiler
 * at -O2, they went through memory and ran at a third of the speed. */

/* S rows [0, R) (R <= QK_ROWS), columns [c, c + 16 NV), the last vector
 * stored under the mask `last`. */
#define QK_TILE(NV)                                                                        \
	AVX512 static void qk_tile##NV(const float *q, int ldq, int R, const float *kt, int hd, \
				       int c, __mmask16 last, float alpha, float *s, int lds)  \
	{                                                                                  \
		__m512 acc[QK_ROWS][NV];                                                   \
		const float *qr[QK_ROWS];                                                  \
		_Pragma("GCC unroll 8") for (int r = 0; r < QK_ROWS; r++)                 \
		{                                                                          \
			qr[r] = q + (size_t)(r < R ? r : R - 1) * ldq;                     \
			_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)              \
				acc[r][v] = _mm512_setzero_ps();                           \
		}                                                                          \
		const float *kc = kt + (size_t)c * hd;                                     \
		for (int d = 0; d < hd; d++) {                                             \
			__m512 kv[NV];                                                     \
			_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)              \
				kv[v] = _mm512_loadu_ps(kc + ((size_t)v * hd + d) * 16);   \
			_Pragma("GCC unroll 8") for (int r = 0; r < QK_ROWS; r++)         \
			{                                                                  \
				__m512 qb = _mm512_set1_ps(qr[r][d]);                      \
				_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)      \
					acc[r][v] = _mm512_fmadd_ps(qb, kv[v], acc[r][v]); \
			}                                                                  \
		}                                                                          \
		__m512 a = _mm512_set1_ps(alpha);                                          \
		_Pragma("GCC unroll 8") for (int r = 0; r < QK_ROWS; r++)                 \
		{                                                                          \
			if (r >= R)                                                        \
				break;                                                     \
			_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)              \
			{                                                                  \
				float *dst = s + (size_t)r * lds + c + 16 * v;             \
				__m512 x = _mm512_mul_ps(acc[r][v], a);                    \
				if (v == NV - 1)                                           \
					_mm512_mask_storeu_ps(dst, last, x);               \
				else                                                       \
					_mm512_storeu_ps(dst, x);                          \
			}                                                                  \
		}                                                                          \
	}
QK_TILE(1)
QK_TILE(3)
#undef QK_TILE

/* O rows [0, R) (R <= PV_ROWS) = P . V over keys [t0, t1), NV = hd / 16,
 * continuing the sums already in O unless t0 is 0 (a sum stored and
 * reloaded is the same float: the chain is the same as without chunks). */
#define PV_TILE(NV)                                                                        \
	AVX512 static void pv_tile##NV(const float *p, int ldp, int R, const float *vc, int t0, \
				       int t1, float *o, int ldo)                              \
	{                                                                                  \
		__m512 acc[PV_ROWS][NV];                                                   \
		const float *pr[PV_ROWS];                                                  \
		_Pragma("GCC unroll 4") for (int r = 0; r < PV_ROWS; r++)                 \
		{                                                                          \
			int rr = r < R ? r : R - 1;                                        \
			pr[r] = p + (size_t)rr * ldp;                                      \
			_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)              \
				acc[r][v] = t0 ? _mm512_loadu_ps(o + (size_t)rr * ldo + 16 * v) \
					       : _mm512_setzero_ps();                      \
		}                                                                          \
		for (int t = t0; t < t1; t++) {                                            \
			const float *vt = vc + (size_t)t * (16 * NV);                      \
			__m512 vv[NV];                                                     \
			_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)              \
				vv[v] = _mm512_loadu_ps(vt + 16 * v);                      \
			_Pragma("GCC unroll 4") for (int r = 0; r < PV_ROWS; r++)         \
			{                                                                  \
				__m512 pb = _mm512_set1_ps(pr[r][t]);                      \
				_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)      \
					acc[r][v] = _mm512_fmadd_ps(pb, vv[v], acc[r][v]); \
			}                                                                  \
		}                                                                          \
		_Pragma("GCC unroll 4") for (int r = 0; r < PV_ROWS; r++)                 \
		{                                                                          \
			if (r >= R)                                                        \
				break;                                                     \
			_Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)              \
				_mm512_storeu_ps(o + (size_t)r * ldo + 16 * v, acc[r][v]); \
		}                                                                          \
	}
PV_TILE(1)
PV_TILE(2)
PV_TILE(3)
PV_TILE(4)
#undef PV_TILE

/* Column blocks outside, row tiles inside: one block of kt (48 keys x hd)
 * stays in L1 while every row tile reads it. */
void ocr2_tile_qk(const float *q, int ldq, int nr, const float *kt, int T, int hd, float alpha,
		  float *s, int lds)
{
	int c = 0;
	for (; c + 48 <= T; c += 48)
		for (int r = 0; r < nr; r += QK_ROWS)
			qk_tile3(q + (size_t)r * ldq, ldq, nr - r < QK_ROWS ? nr - r : QK_ROWS, kt,
				 hd, c, 0xffff, alpha, s + (size_t)r * lds, lds);
	for (; c < T; c += 16) {
		int left = T - c;
		__mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		for (int r = 0; r < nr; r += QK_ROWS)
			qk_tile1(q + (size_t)r * ldq, ldq, nr - r < QK_ROWS ? nr - r : QK_ROWS, kt,
				 hd, c, m, alpha, s + (size_t)r * lds, lds);
	}
}

#define PV_KEYS 64 /* keys per chunk: 16 KiB of V at hd 64, read by every row tile */

void ocr2_tile_pv(const float *p, int ldp, int nr, const float *vc, int T, int hd, float *o,
		  int ldo)
{
	for (int t0 = 0; t0 < T; t0 += PV_KEYS) {
		int t1 = t0 + PV_KEYS < T ? t0 + PV_KEYS : T;
		for (int r = 0; r < nr; r += PV_ROWS) {
			int R = nr - r < PV_ROWS ? nr - r : PV_ROWS;
			const float *pr = p + (size_t)r * ldp;
			float *or = o + (size_t)r * ldo;
			switch (hd / 16) {
			case 1: pv_tile1(pr, ldp, R, vc, t0, t1, or, ldo); break;
			case 2: pv_tile2(pr, ldp, R, vc, t0, t1, or, ldo); break;
			case 3: pv_tile3(pr, ldp, R, vc, t0, t1, or, ldo); break;
			default: pv_tile4(pr, ldp, R, vc, t0, t1, or, ldo); break;
			}
		}
	}
}

#else

void ocr2_tile_qk(const float *q, int ldq, int nr, const float *kt, int T, int hd, float alpha,
		  float *s, int lds)
{
	(void)q, (void)ldq, (void)nr, (void)kt, (void)T, (void)hd, (void)alpha, (void)s, (void)lds;
}

void ocr2_tile_pv(const float *p, int ldp, int nr, const float *vc, int T, int hd, float *o,
		  int ldo)
{
	(void)p, (void)ldp, (void)nr, (void)vc, (void)T, (void)hd, (void)o, (void)ldo;
}

#endif
