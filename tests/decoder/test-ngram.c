/* test-ngram.c - dec_ngram_banned against ngram-vectors.txt, the bans that
 * make-ngram-vectors.py computes with the official vLLM and HF loops; and
 * dec_argmax, the choice after the bans, against torch.argmax's rules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_SHOW_MAX 10
#include "check.h"
#include "ocr2.h"
#include "decoder.h"

static int read_ints(FILE *f, int32_t *dst, int n)
{
	for (int i = 0; i < n; i++) {
		long v;
		if (fscanf(f, "%ld", &v) != 1)
			return -1;
		dst[i] = (int32_t)v;
	}
	return 0;
}

/* " 1 2 3 " for a failure message (two at a time) */
static const char *ids_text(const int32_t *v, int n)
{
	static char buf[2][16 * 4096 + 2];
	static int k;
	char *b = buf[k++ % 2];
	size_t o = 0;
	for (int i = 0; i < n && i < 4096; i++)
		o += (size_t)snprintf(b + o, sizeof buf[0] - o, " %d", (int)v[i]);
	snprintf(b + o, sizeof buf[0] - o, " ");
	return b;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test-ngram ngram-vectors.txt\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		fprintf(stderr, "%s: cannot open\n", argv[1]);
		return 1;
	}
	enum { MAXN = 4096 };
	static int32_t white[16], seq[MAXN], want[MAXN], got[MAXN];
	int cases = 0, with_bans = 0;
	for (;;) {
		int n, window, nw, len, nb;
		if (fscanf(f, "%d %d %d", &n, &window, &nw) != 3)
			break;
		if (nw > 16 || read_ints(f, white, nw) || fscanf(f, "%d", &len) != 1 || len > MAXN ||
		    read_ints(f, seq, len) || fscanf(f, "%d", &nb) != 1 || nb > MAXN ||
		    read_ints(f, want, nb)) {
			fprintf(stderr, "%s: case %d: malformed\n", argv[1], cases + 1);
			return 1;
		}
		cases++;
		with_bans += nb > 0;
		/* len entries always suffice; give exactly that to test the bound */
		int k = dec_ngram_banned(seq, len, n, window, white, nw, got, len > 0 ? len : 1);
		bool ok = k == nb;
		for (int i = 0; ok && i < nb; i++)
			ok = got[i] == want[i];
		CHECK(ok, "case %d (n=%d window=%d len=%d): want %d bans [%s], got %d [%s]", cases, n,
		      window, len, nb, ids_text(want, nb), k, ids_text(got, k));
	}
	fclose(f);
	/* A buffer smaller than the distinct bans is reported, not overrun. */
	int32_t s[] = {1, 9, 1, 8, 1, 7, 1}, small[2];
	int k = dec_ngram_banned(s, 7, 2, 0, NULL, 0, small, 2);
	CHECK(k == -1, "overflow: want -1, got %d", k);
	/* torch.argmax: the first maximum; a NaN (the first one) wins; all -inf
	 * gives 0; -0 and +0 are equal. Random rows against the one-pass loop. */
	{
		float a[] = {1, 3, 2, 3}, b[] = {1, NAN, 5, NAN}, c[] = {-INFINITY, -INFINITY};
		float d[] = {-0.0f, 0.0f, -1}, e[] = {-5, INFINITY, INFINITY};
		struct { const float *x; int n, want; } t[] = {
			{a, 4, 1}, {b, 4, 1}, {c, 2, 0}, {d, 3, 0}, {e, 3, 1}};
		for (size_t i = 0; i < sizeof t / sizeof *t; i++)
			CHECK(dec_argmax(t[i].x, t[i].n) == t[i].want, "argmax case %zu: want %d, got %d",
			      i, t[i].want, (int)dec_argmax(t[i].x, t[i].n));
		static float r[5000];
		uint32_t st = 12345;
		for (int rep = 0; rep < 200; rep++) {
			int n = 1 + rep * 25;
			for (int i = 0; i < n; i++) {
				st = st * 1664525u + 1013904223u;
				r[i] = (float)(st >> 24) - 128; /* many ties */
			}
			if (rep % 10 == 9)
				r[(rep * 7) % n] = NAN;
			int want = 0;
			for (int i = 0; i < n; i++) {
				if (isnan(r[i])) {
					want = i;
					break;
				}
				if (r[i] > r[want])
					want = i;
			}
			CHECK(dec_argmax(r, n) == want, "argmax rep %d: want %d, got %d", rep, want,
			      (int)dec_argmax(r, n));
		}
	}
	printf("%d cases (%d with bans)\n", cases, with_bans);
	CHECK(cases >= 100, "%s: only %d cases read", argv[1], cases);
	return check_done();
}
