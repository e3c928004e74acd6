/* bench-decoder.c - times the decoder alone on any model directory: load,
 * prefill of BOS + n_img fake image rows + the grounding prompt, then greedy
 * steps. Not a test; for figures (run under /usr/bin/time -v for peak RSS).
 *
 *     bench-decoder MODEL_DIR [n_img=257] [steps=20] [threads=ncpu] */
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "compute/pool.h"
#include "model/model.h"
#include "decoder.h"

static int32_t argmax(const float *x, int n)
{
	int32_t b = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench-decoder MODEL_DIR [n_img] [steps] [threads]\n");
		return 2;
	}
	int n_img = argc > 2 ? atoi(argv[2]) : 257, steps = argc > 3 ? atoi(argv[3]) : 20;
	int threads = argc > 4 ? atoi(argv[4]) : ocr2_ncpu();
	char cfgp[4200];
	snprintf(cfgp, sizeof cfgp, "%s/config.json", argv[1]);
	double t0 = ocr2_now();
	ocr2_config cf;
	ocr2_weights *w = NULL;
	dec_model *m = NULL;
	if (ocr2_config_load(cfgp, &cf) != OCR2_OK || ocr2_weights_load(argv[1], &w) != OCR2_OK ||
	    dec_load(w, &cf, &m) != OCR2_OK) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
		return 1;
	}
	double t_load = ocr2_now() - t0;
	static const int32_t doc[] = {201, 128820, 21842, 270, 4940, 304, 2121, 7919, 16};
	int n = 1 + n_img + 9;
	int32_t *ids = malloc((size_t)n * sizeof *ids);
	float *img = malloc((size_t)n_img * cf.hidden * sizeof *img);
	float *logits = malloc((size_t)cf.vocab * sizeof *logits);
	ids[0] = cf.bos_id;
	for (int i = 0; i < n_img; i++)
		ids[1 + i] = cf.image_token_id;
	for (int i = 0; i < 9; i++)
		ids[1 + n_img + i] = doc[i];
	uint32_t r = 12345;
	for (size_t i = 0; i < (size_t)n_img * cf.hidden; i++) {
		r = r * 1664525u + 1013904223u;
		img[i] = ((float)(r >> 8) / (float)(1 << 24) - 0.5f) * 2.0f;
	}
	ocr2_pool *pool = ocr2_pool_new(threads);
	dec_ctx *c = NULL;
	if (dec_ctx_new(m, n + steps + 1, pool, &c) != OCR2_OK) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
		return 1;
	}
	t0 = ocr2_now();
	if (dec_prefill(c, ids, n, img, n_img, logits) != OCR2_OK) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
		return 1;
	}
	double t_pre = ocr2_now() - t0;
	printf("load %.3f s (mmap + bind), prefill %d tokens %.3f s (%.1f tok/s, first touch of "
	       "the weights included)\n", t_load, n, t_pre, n / t_pre);
	t0 = ocr2_now();
	double t_first = 0;
	for (int s = 0; s < steps; s++) {
		int32_t t = argmax(logits, cf.vocab);
		if (dec_step(c, t, logits) != OCR2_OK) {
			fprintf(stderr, "%s\n", ocr2_errmsg());
			return 1;
		}
		if (s == 0)
			t_first = ocr2_now() - t0;
		printf("%d ", (int)t);
		fflush(stdout);
	}
	double t_dec = ocr2_now() - t0;
	printf("\ndecode %d steps %.3f s: %.2f tok/s (first step %.3f s; later steps %.2f tok/s), "
	       "%d threads\n", steps, t_dec, steps / t_dec, t_first,
	       steps > 1 ? (steps - 1) / (t_dec - t_first) : 0.0, threads);
	dec_ctx_free(c);
	dec_free(m);
	ocr2_pool_free(pool);
	ocr2_weights_free(w);
	free(ids);
	free(img);
	free(logits);
	return 0;
}
