/* test-ngram.c - dec_ngram_banned against ngram-vectors.txt, the bans that
 * make-ngram-vectors.py computes with the official vLLM and HF loops. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
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
	int cases = 0, bad = 0, with_bans = 0;
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
		if (!ok) {
			if (bad++ < 10) {
				fprintf(stderr, "case %d (n=%d window=%d len=%d): want %d bans [", cases,
					n, window, len, nb);
				for (int i = 0; i < nb; i++)
					fprintf(stderr, " %d", (int)want[i]);
				fprintf(stderr, " ], got %d [", k);
				for (int i = 0; i < k; i++)
					fprintf(stderr, " %d", (int)got[i]);
				fprintf(stderr, " ]\n");
			}
		}
	}
	fclose(f);
	/* A buffer smaller than the distinct bans is reported, not overrun. */
	int32_t s[] = {1, 9, 1, 8, 1, 7, 1}, small[2];
	int k = dec_ngram_banned(s, 7, 2, 0, NULL, 0, small, 2);
	if (k != -1) {
		fprintf(stderr, "overflow: want -1, got %d\n", k);
		bad++;
	}
	printf("%d cases (%d with bans), %d mismatches\n", cases, with_bans, bad);
	if (cases < 100) {
		fprintf(stderr, "%s: only %d cases read\n", argv[1], cases);
		return 1;
	}
	return bad ? 1 : 0;
}
