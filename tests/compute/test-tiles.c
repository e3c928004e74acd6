/* test-tiles.c - lib/compute/tiles.c (the vision encoder's attention products)
 * against double-precision sums, on every head dimension it takes (16, 32,
 * 48, 64: the tiny models' 16 is all the encoder goldens reach) and on key
 * and row counts around its tile edges (8 rows x 48 keys for q k^T, 4 rows
 * x 64-key chunks for p v).
 *
 * Bound: each output is one chain of n fused multiply-adds (n = hd or T),
 * so |got - exact| <= n u sum |a_i b_i| (u = 2^-24), and q k^T's scale
 * adds one rounding. Anything else (a wrong panel offset, a lost chunk, a
 * tail mask one off) is off by about a whole term. The outputs are written
 * into larger buffers whose other cells must keep their sentinel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_SHOW_MAX 10
#include "check.h"
#include "compute/kernels.h"
#include "rand.h"

#define SENTINEL 12345.0f

static void check(const char *what, int hd, int T, int nr, int r, int c, double got, double exact,
		  double bound)
{
	CHECK(check_near(got, exact, bound),
	      "%s hd %d T %d rows %d: [%d, %d] = %.9g, exact %.9g, bound %.3g", what, hd, T, nr, r,
	      c, got, exact, bound);
}

static void sentinels(const char *what, const float *buf, size_t n, const char *mask, int hd,
		      int T, int nr)
{
	for (size_t i = 0; i < n; i++)
		if (!mask[i] && buf[i] != SENTINEL) {
			FAIL("%s hd %d T %d rows %d: wrote cell %zu outside", what, hd, T, nr, i);
			return;
		}
}

/* sum_i a[i sa] b[i sb] in double, and the sum of the terms' magnitudes */
static double ref_dot(const float *a, size_t sa, const float *b, size_t sb, int n, double *mag)
{
	double e = 0;
	*mag = 0;
	for (int i = 0; i < n; i++) {
		double t = (double)a[i * sa] * b[i * sb];
		e += t;
		*mag += fabs(t);
	}
	return e;
}

static void one(uint64_t *st, int hd, int T, int nr)
{
	const double u = 1.0 / 16777216.0;
	int ld = 3 * hd + 5, lds = T + 7, ldo = hd + 3;
	float alpha = 0.125f;
	float *qkv = malloc((size_t)(T > nr ? T : nr) * ld * sizeof *qkv);
	float *kt = malloc(ocr2_tile_kt_floats(T, hd) * sizeof *kt);
	float *vc = malloc((size_t)T * hd * sizeof *vc);
	size_t ns = (size_t)(nr + 2) * lds, no = (size_t)(nr + 2) * ldo;
	float *s = malloc(ns * sizeof *s), *o = malloc(no * sizeof *o);
	char *ms = calloc(ns, 1), *mo = calloc(no, 1);
	if (!qkv || !kt || !vc || !s || !o || !ms || !mo) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < (size_t)(T > nr ? T : nr) * ld; i++)
		qkv[i] = 2.0f * test_frand(st);
	const float *q = qkv, *k = qkv + hd, *v = qkv + 2 * hd;
	for (size_t i = 0; i < ns; i++)
		s[i] = SENTINEL;
	for (size_t i = 0; i < no; i++)
		o[i] = SENTINEL;
	ocr2_tile_pack_k(k, ld, T, hd, kt);
	ocr2_tile_pack_v(v, ld, T, hd, vc);
	/* rows start one row into the buffers, so a write before them shows */
	ocr2_tile_qk(q, ld, nr, kt, T, hd, alpha, s + lds, lds);
	for (int r = 0; r < nr; r++)
		for (int c = 0; c < T; c++) {
			double a, e = ref_dot(q + (size_t)r * ld, 1, k + (size_t)c * ld, 1, hd, &a);
			size_t at = (size_t)(r + 1) * lds + c;
			ms[at] = 1;
			check("qk", hd, T, nr, r, c, s[at], alpha * e, alpha * (hd + 2) * u * a);
		}
	sentinels("qk", s, ns, ms, hd, T, nr);
	/* p v with the scores as p (any values do: the kernel does not normalise) */
	const float *p = s + lds;
	ocr2_tile_pv(p, lds, nr, vc, T, hd, o + ldo, ldo);
	for (int r = 0; r < nr; r++)
		for (int c = 0; c < hd; c++) {
			double a, e = ref_dot(p + (size_t)r * lds, 1, v + c, (size_t)ld, T, &a);
			size_t at = (size_t)(r + 1) * ldo + c;
			mo[at] = 1;
			check("pv", hd, T, nr, r, c, o[at], e, (T + 1) * u * a);
		}
	sentinels("pv", o, no, mo, hd, T, nr);
	free(qkv);
	free(kt);
	free(vc);
	free(s);
	free(o);
	free(ms);
	free(mo);
}

int main(void)
{
	static const int hds[] = {16, 32, 48, 64};
	static const int Ts[] = {1, 15, 16, 17, 47, 48, 49, 63, 64, 65, 127, 196, 4096};
	static const int nrs[] = {1, 3, 4, 5, 8, 9, 32};
	if (!ocr2_tile_ok(64))
		return check_skip("no AVX-512 here (or OCR2_NO_SIMD): the encoder takes sgemm; skipped");
	CHECK(!(ocr2_tile_ok(8) || ocr2_tile_ok(80) || ocr2_tile_ok(24)),
	      "ocr2_tile_ok takes a head dimension the kernels cannot");
	uint64_t st = 0x9e3779b97f4a7c15u;
	int cases = 0;
	for (size_t a = 0; a < sizeof hds / sizeof *hds; a++)
		for (size_t b = 0; b < sizeof Ts / sizeof *Ts; b++)
			for (size_t c = 0; c < sizeof nrs / sizeof *nrs; c++) {
				if (Ts[b] == 4096 && nrs[c] != 9)
					continue; /* the long one once: its edges are the others' */
				one(&st, hds[a], Ts[b], nrs[c]);
				cases++;
			}
	printf("%d cases\n", cases);
	return check_done();
}
