/* scratch: compare stages against /tmp goldens */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "encoder.h"
#include "testutil.h"

static const float *get(ocr2_weights *g, const char *n, int64_t *ne)
{
	const ocr2_tensor *t = ocr2_weights_get(g, n);
	if (!t) return NULL;
	*ne = t->nelem;
	return t->data;
}

static void cmp(const char *what, const float *a, const float *b, size_t n)
{
	double ma, mr;
	size_t i = tu_maxdiff(a, b, n, &ma, &mr);
	printf("%-12s max_abs %.3g (at %zu: %g vs %g) max_ref %.3g rel %.3g\n", what, ma, i, a[i], b[i], mr, ma / mr);
}

int main(int argc, char **argv)
{
	char p[1024];
	ocr2_config c;
	snprintf(p, sizeof p, "%s/config.json", argv[1]);
	if (ocr2_config_load(p, &c)) { fprintf(stderr, "%s\n", ocr2_errmsg()); return 1; }
	ocr2_weights *w, *g;
	if (ocr2_weights_load(argv[1], &w) || ocr2_weights_load_file(argv[2], &g)) { fprintf(stderr, "%s\n", ocr2_errmsg()); return 1; }
	enc_model *m;
	if (enc_load(w, &c, &m)) { fprintf(stderr, "%s\n", ocr2_errmsg()); return 1; }
	ocr2_pool *pool = ocr2_pool_new(2);
	int64_t ne;
	const char *views[] = {"global", "crop0"};
	for (int v = 0; v < 2; v++) {
		char k[64];
		snprintf(k, sizeof k, "view_%s", views[v]);
		const float *chw = get(g, k, &ne);
		if (!chw) continue;
		int S = v == 0 ? 1024 : 768, N = (S / 64) * (S / 64);
		float *sam = malloc((size_t)N * c.enc_hidden * 4), *fl = malloc((size_t)N * c.enc_hidden * 4), *pr = malloc((size_t)N * c.hidden * 4);
		double t0 = ocr2_now();
		if (enc_sam(m, pool, chw, S, sam)) { fprintf(stderr, "%s\n", ocr2_errmsg()); return 1; }
		double t1 = ocr2_now();
		snprintf(k, sizeof k, "sam_%s", views[v]);
		const float *ref = get(g, k, &ne);
		cmp(k, sam, ref, (size_t)ne);
		if (enc_flow(m, pool, ref, N, fl)) { fprintf(stderr, "%s\n", ocr2_errmsg()); return 1; }
		double t2 = ocr2_now();
		snprintf(k, sizeof k, "flow_%s", views[v]);
		ref = get(g, k, &ne);
		cmp(k, fl, ref, (size_t)ne);
		enc_project(m, pool, ref, N, pr);
		snprintf(k, sizeof k, "proj_%s", views[v]);
		cmp(k, pr, get(g, k, &ne), (size_t)ne);
		printf("  sam %.2fs flow %.2fs\n", t1 - t0, t2 - t1);
	}
	if (argc > 3) {
		ocr2_image img;
		tu_load_png(argv[3], &img);
		float *e; int n;
		double t0 = ocr2_now();
		if (enc_image(m, pool, &img, false, &e, &n)) { fprintf(stderr, "%s\n", ocr2_errmsg()); return 1; }
		printf("image: %d embeddings in %.2fs\n", n, ocr2_now() - t0);
		const float *ref = get(g, "seq", &ne);
		if (ne != (int64_t)n * c.hidden) printf("count mismatch %lld\n", (long long)ne);
		else cmp("seq", e, ref, (size_t)ne);
	}
	return 0;
}
