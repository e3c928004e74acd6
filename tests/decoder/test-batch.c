/* test-batch.c - batch invariance (decoder.h, "several sequences"): a
 * sequence stepped together with others gives bit for bit the logits and ids
 * it gets alone, whatever the others and however many, on the tiny model
 * NAME as stored and on a q8 copy of it made here (every weight dtype the
 * decoder reads: bf16 or f32, and q8).
 *
 *     test-batch NAME      (NAME = tiny | tiny-f32; paths from $TESTDATA)
 *
 * The oracle is the one-sequence path (dec_step, dec_gen_step); the
 * sequences have prompts of different lengths, join the batch at different
 * steps, leave it early, and one fails (its context full) in the middle.
 * The same with the opt-in bf16 KV cache, and a batch mixing the two. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "check.h"
#include "compute/pool.h"
#include "model/model.h"
#include "decoder.h"

#define NSEQ 6
#define STEPS 9

static const int prompt_len[NSEQ] = {5, 13, 2, 21, 8, 1};
static const int joins[NSEQ] = {0, 0, 2, 1, 4, 0};   /* the step a sequence joins at */
static const int steps_of[NSEQ] = {9, 4, 7, 9, 3, 6}; /* and how many it makes */

typedef struct {
	const dec_model *m;
	ocr2_pool *pool;
	int vocab, image_id;
	int32_t prompt[NSEQ][32];
	int32_t ids[NSEQ][STEPS + 1];      /* fed at step s: ids[s] (ids[0] from the prefill) */
	float *logits[NSEQ];               /* [STEPS][vocab]: after feeding ids[s] */
} ref;

static uint32_t rng = 12345;
static int32_t rand_id(int vocab, int avoid)
{
	for (;;) {
		rng = rng * 1664525u + 1013904223u;
		int32_t v = (int32_t)((rng >> 8) % (uint32_t)vocab);
		if (v != avoid)
			return v;
	}
}

static dec_ctx *prefilled(const ref *r, int i, int max_ctx)
{
	dec_ctx *c = NULL;
	if (dec_ctx_new(r->m, max_ctx, r->pool, &c) != OCR2_OK) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
		exit(1);
	}
	float *lg = malloc((size_t)r->vocab * sizeof *lg);
	if (!lg || dec_prefill(c, r->prompt[i], prompt_len[i], NULL, 0, lg) != OCR2_OK) {
		fprintf(stderr, "prefill: %s\n", ocr2_errmsg());
		exit(1);
	}
	free(lg);
	return c;
}

/* Each sequence alone: its greedy ids (no bans here) and the logits of
 * every step, through dec_step. */
static void make_ref(ref *r)
{
	float *lg = malloc((size_t)r->vocab * sizeof *lg);
	for (int i = 0; i < NSEQ; i++) {
		dec_ctx *c = NULL;
		dec_ctx_new(r->m, 64, r->pool, &c);
		dec_prefill(c, r->prompt[i], prompt_len[i], NULL, 0, lg);
		r->ids[i][0] = dec_argmax(lg, r->vocab);
		r->logits[i] = malloc((size_t)STEPS * r->vocab * sizeof(float));
		for (int s = 0; s < STEPS; s++) {
			float *out = r->logits[i] + (size_t)s * r->vocab;
			CHECK(dec_step(c, r->ids[i][s], out) == OCR2_OK, "seq %d step %d: %s", i, s,
			      ocr2_errmsg());
			r->ids[i][s + 1] = dec_argmax(out, r->vocab);
		}
		dec_ctx_free(c);
	}
	free(lg);
}

/* dec_step_batch with rows joining and leaving, at most `width` at once (a
 * sequence waits for room, as pages wait for a slot); sequence `fail` (or
 * -1) has a context that is full after 2 steps. Every stepped row must give
 * the reference's logits bit for bit and the same choice. */
static void run_batch(const ref *r, int width, int fail)
{
	dec_batch *b = NULL;
	CHECK(dec_batch_new(r->m, width, r->pool, &b) == OCR2_OK, "dec_batch_new(%d): %s", width,
	      ocr2_errmsg());
	if (!b)
		return;
	dec_ctx *ctx[NSEQ];
	int done[NSEQ] = {0};
	for (int i = 0; i < NSEQ; i++)
		ctx[i] = prefilled(r, i, i == fail ? prompt_len[i] + 2 : 64);
	int bad = 0, rows_seen = 0;
	for (int tick = 0; tick < 64; tick++) {
		dec_ctx *c[NSEQ];
		int32_t id[NSEQ], next[NSEQ], who[NSEQ];
		ocr2_status st[NSEQ];
		int n = 0;
		for (int i = 0; i < NSEQ && n < width; i++)
			if (tick >= joins[i] && done[i] < steps_of[i] && done[i] >= 0) {
				c[n] = ctx[i];
				id[n] = r->ids[i][done[i]];
				who[n++] = i;
			}
		if (!n)
			break;
		CHECK(dec_step_batch(b, c, n, id, NULL, NULL, next, st) == OCR2_OK, "step: %s",
		      ocr2_errmsg());
		const float *lg = dec_batch_logits(b);
		int row = 0;
		for (int k = 0; k < n; k++) {
			int i = who[k], s = done[i];
			if (i == fail && s == 2) {
				CHECK(st[k] == OCR2_ERR_INVALID && next[k] == -1,
				      "width %d: the full context stepped (status %d)", width, st[k]);
				done[i] = -1; /* it leaves */
				continue;
			}
			CHECK(st[k] == OCR2_OK, "width %d seq %d step %d: status %d", width, i, s, st[k]);
			const float *want = r->logits[i] + (size_t)s * r->vocab;
			if (memcmp(lg + (size_t)row * r->vocab, want, (size_t)r->vocab * sizeof *want))
				bad++;
			CHECK(next[k] == r->ids[i][s + 1], "width %d seq %d step %d: chose %d, alone %d",
			      width, i, s, next[k], r->ids[i][s + 1]);
			row++;
			rows_seen++;
			done[i]++;
		}
	}
	CHECK(bad == 0, "width %d (failing %d): %d rows' logits differ from the sequence alone",
	      width, fail, bad);
	int want_rows = 0;
	for (int i = 0; i < NSEQ; i++)
		want_rows += i == fail ? 2 : steps_of[i];
	CHECK(rows_seen == want_rows, "width %d: %d rows stepped, %d expected", width, rows_seen,
	      want_rows);
	for (int i = 0; i < NSEQ; i++)
		dec_ctx_free(ctx[i]);
	dec_batch_free(b);
}

/* dec_gen over the batch (bans on, several limits) against dec_generate. */
static void run_gen(const ref *r, int width)
{
	int32_t white[1] = {r->ids[0][1]};
	dec_gen_params p[NSEQ];
	int32_t *want[NSEQ];
	int n_want[NSEQ];
	bool eos_want[NSEQ];
	for (int i = 0; i < NSEQ; i++) {
		p[i] = (dec_gen_params){.max_tokens = 3 + 2 * i, .ngram = 2 + i % 3,
					.ngram_window = i % 2 ? 0 : 8, .whole_sequence = i % 2,
					.whitelist = white, .n_whitelist = 1};
		dec_ctx *c = NULL;
		dec_ctx_new(r->m, 64, r->pool, &c);
		CHECK(dec_generate(c, r->prompt[i], prompt_len[i], NULL, 0, &p[i], &want[i],
				   &n_want[i], &eos_want[i]) == OCR2_OK,
		      "dec_generate: %s", ocr2_errmsg());
		dec_ctx_free(c);
	}
	dec_batch *b = NULL;
	dec_batch_new(r->m, width, r->pool, &b);
	dec_gen *g[NSEQ];
	dec_ctx *ctx[NSEQ];
	for (int i = 0; i < NSEQ; i++) {
		dec_ctx_new(r->m, 64, r->pool, &ctx[i]);
		CHECK(dec_gen_start(ctx[i], r->prompt[i], prompt_len[i], NULL, 0, &p[i], &g[i]) ==
			      OCR2_OK,
		      "dec_gen_start: %s", ocr2_errmsg());
	}
	for (int guard = 0; guard < 100; guard++) {
		int live = 0;
		for (int i = 0; i < NSEQ; i++)
			live += !dec_gen_done(g[i]);
		if (!live)
			break;
		dec_gen_step_batch(b, g, NSEQ);
	}
	for (int i = 0; i < NSEQ; i++) {
		int32_t *got;
		int n;
		bool eos;
		CHECK(dec_gen_finish(g[i], &got, &n, &eos) == OCR2_OK, "finish: %s", ocr2_errmsg());
		CHECK(n == n_want[i] && eos == eos_want[i] &&
			      !memcmp(got, want[i], (size_t)n * sizeof *got),
		      "width %d seq %d: %d ids batched, %d alone, or they differ", width, i, n,
		      n_want[i]);
		free(got);
		free(want[i]);
		dec_ctx_free(ctx[i]);
	}
	dec_batch_free(b);
}

/* The opt-in bf16 KV cache (dec_set_kv_bf16): its prefill logits near the
 * f32 cache's; batch invariance holds for its contexts as for f32 ones, and
 * in a batch mixing the two each row keeps its own cache's numbers. */
static void kv_bf16(dec_model *m, const ref *r32)
{
	ref r = *r32;
	float *a = malloc((size_t)r.vocab * sizeof *a), *b = malloc((size_t)r.vocab * sizeof *b);
	double worst = 0;
	for (int i = 0; i < NSEQ; i++) {
		dec_set_kv_bf16(m, false);
		dec_ctx *c32 = prefilled(&r, i, 64);
		dec_set_kv_bf16(m, true);
		dec_ctx *c16 = prefilled(&r, i, 64);
		/* one more position: its attention reads the prompt's keys back */
		CHECK(dec_step(c32, r.ids[i][0], a) == OCR2_OK && dec_step(c16, r.ids[i][0], b) == OCR2_OK,
		      "bf16 cache, seq %d: %s", i, ocr2_errmsg());
		double mx = 1;
		for (int v = 0; v < r.vocab; v++)
			mx = fabs(a[v]) > mx ? fabs(a[v]) : mx;
		for (int v = 0; v < r.vocab; v++)
			worst = fabs(a[v] - b[v]) / mx > worst ? fabs(a[v] - b[v]) / mx : worst;
		CHECK(memcmp(a, b, (size_t)r.vocab * sizeof *a), "seq %d: a bf16 cache changed nothing",
		      i);
		dec_ctx_free(c32);
		dec_ctx_free(c16);
	}
	/* keys and values rounded by up to 2^-9 of themselves: the logits of
	 * these tiny random models moved by 2.2e-3 to 2.7e-3 (bf16, f32 and their
	 * q8 copies; printed); 1e-2 leaves ~4x, a wrong cache moves them by O(1) */
	fprintf(stderr, "bf16 KV cache: logits within %.3g of max(1, |f32 cache's|)\n", worst);
	CHECK(worst < 1e-2, "bf16 KV cache: logits off the f32 cache's by %.3g", worst);
	/* the one-sequence oracle with bf16 caches, then the batches */
	dec_set_kv_bf16(m, true);
	make_ref(&r);
	for (int width = 1; width <= NSEQ; width++)
		run_batch(&r, width, -1);
	run_batch(&r, NSEQ, 3);
	/* mixed: sequence 0 on an f32 cache, sequence 1 on a bf16 one */
	dec_batch *bt = NULL;
	dec_batch_new(m, 2, r.pool, &bt);
	dec_set_kv_bf16(m, false);
	dec_ctx *c[2] = {prefilled(&r, 0, 64), NULL};
	dec_set_kv_bf16(m, true);
	c[1] = prefilled(&r, 1, 64);
	int32_t id[2] = {r32->ids[0][0], r.ids[1][0]}, next[2];
	ocr2_status st[2];
	CHECK(bt && dec_step_batch(bt, c, 2, id, NULL, NULL, next, st) == OCR2_OK &&
		      st[0] == OCR2_OK && st[1] == OCR2_OK &&
		      !memcmp(dec_batch_logits(bt), r32->logits[0], (size_t)r.vocab * sizeof(float)) &&
		      !memcmp(dec_batch_logits(bt) + r.vocab, r.logits[1], (size_t)r.vocab * sizeof(float)),
	      "a batch of an f32 and a bf16 cache: not each row's own numbers");
	dec_batch_free(bt);
	dec_ctx_free(c[0]);
	dec_ctx_free(c[1]);
	dec_set_kv_bf16(m, false);
	for (int i = 0; i < NSEQ; i++)
		free(r.logits[i]);
	free(a);
	free(b);
}

static void run_model(const char *dir, const char *label)
{
	ocr2_config cf;
	ocr2_weights *w = NULL;
	dec_model *m = NULL;
	char cfgp[4200];
	snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
	if (ocr2_config_load(cfgp, &cf) != OCR2_OK || ocr2_weights_load(dir, &w) != OCR2_OK ||
	    dec_load(w, &cf, &m) != OCR2_OK) {
		FAIL("%s: %s (run: /usr/bin/python3 testdata/make-tiny.py --out testdata/models)",
		     label, ocr2_errmsg());
		return;
	}
	ocr2_pool *pool = ocr2_pool_new(2);
	dec_prepare(m, pool); /* lm_head's screen, as the pipeline has it */
	ref r = {.m = m, .pool = pool, .vocab = cf.vocab, .image_id = cf.image_token_id};
	for (int i = 0; i < NSEQ; i++)
		for (int k = 0; k < prompt_len[i]; k++)
			r.prompt[i][k] = rand_id(cf.vocab, cf.image_token_id);
	make_ref(&r);
	for (int width = 1; width <= NSEQ; width++)
		run_batch(&r, width, -1);
	run_batch(&r, NSEQ, 3);
	run_batch(&r, 2, 0);
	for (int width = 1; width <= NSEQ; width += 2)
		run_gen(&r, width);
	/* misuse: no rows, more rows than the batch, one context twice */
	dec_batch *b = NULL;
	dec_batch_new(m, 2, pool, &b);
	dec_ctx *c = prefilled(&r, 0, 64), *cc[3] = {c, c, c};
	int32_t ids[3] = {1, 1, 1}, next[3];
	ocr2_status st[3];
	CHECK(dec_step_batch(b, cc, 0, ids, NULL, NULL, next, st) == OCR2_ERR_INVALID, "0 rows");
	CHECK(dec_step_batch(b, cc, 3, ids, NULL, NULL, next, st) == OCR2_ERR_INVALID, "3 rows of 2");
	CHECK(dec_step_batch(b, cc, 2, ids, NULL, NULL, next, st) == OCR2_OK && st[0] == OCR2_OK &&
		      st[1] == OCR2_ERR_INVALID,
	      "one context twice: the second row refused");
	ids[0] = -1;
	CHECK(dec_step_batch(b, cc, 1, ids, NULL, NULL, next, st) == OCR2_OK &&
		      st[0] == OCR2_ERR_INVALID && next[0] == -1,
	      "an id outside the vocabulary");
	dec_ctx_free(c);
	dec_batch_free(b);
	kv_bf16(m, &r);
	for (int i = 0; i < NSEQ; i++)
		free(r.logits[i]);
	ocr2_pool_free(pool);
	dec_free(m);
	ocr2_weights_free(w);
	fprintf(stderr, "%s: done\n", label);
}

int main(int argc, char **argv)
{
	const char *td = getenv("TESTDATA");
	if (argc != 2 || !td) {
		fprintf(stderr, "usage: TESTDATA=dir test-batch NAME\n");
		return 2;
	}
	char mdir[4096], q8[4096];
	snprintf(mdir, sizeof mdir, "%s/models/%s", td, argv[1]);
	run_model(mdir, argv[1]);
	/* the q8 copy: the decoder's matrices as q8 */
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(q8, sizeof q8, "%s/test-batch-q8-%s-%ld", tmp, argv[1], (long)getpid());
	if (ocr2_model_quantize(mdir, q8, NULL, NULL) != OCR2_OK) {
		FAIL("quantize %s: %s", mdir, ocr2_errmsg());
	} else {
		char label[64];
		snprintf(label, sizeof label, "%s q8", argv[1]);
		run_model(q8, label);
	}
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", q8);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", q8);
	return check_done();
}
