/* test-batch-pages.c - ocr2_batch (ocr2.h) end to end on a tiny model: pages
 * of different sizes (so different crop counts and prompt lengths) decoded
 * together give bit for bit the tokens and text ocr2_recognize gives each
 * alone, at every batch size, with pages ending at different lengths,
 * joining as others leave; a page that cannot start and a page cancelled
 * in flight end alone, the others unchanged.
 *
 *     test-batch-pages NAME     (NAME = tiny | tiny-f32; paths from $TESTDATA) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocr2.h"
#include "check.h"

#define NPAGE 5
static const char *const files[NPAGE] = {"p10-tiny.png", "p4-768sq.png", "p6-strip.png",
					 "p3-72dpi.png", "p9-1024sq.png"};
static const int max_tokens[NPAGE] = {12, 5, 17, 9, 14};

typedef struct {
	ocr2_image img;
	ocr2_result alone;
	volatile int cancel;
	int tokens_seen;
} page;

static void on_token(void *user, int n)
{
	((page *)user)->tokens_seen = n;
}

static ocr2_recognize_params params(page *pg, int i)
{
	ocr2_recognize_params p = ocr2_recognize_default_params();
	p.max_tokens = max_tokens[i];
	p.ngram = 3;
	p.ngram_window = i % 2 ? 0 : 10;
	p.cancel = &pg->cancel;
	p.on_token = on_token;
	p.user = pg;
	return p;
}

static bool same(const ocr2_result *a, const ocr2_result *b)
{
	return a->n_tokens == b->n_tokens && a->n_prompt == b->n_prompt &&
	       a->status == b->status && a->text && b->text && !strcmp(a->text, b->text) &&
	       !memcmp(a->tokens, b->tokens, (size_t)a->n_tokens * sizeof *a->tokens);
}

/* All pages through a batch of `width`; page `cancel_at` (or -1) has its
 * flag raised once it is in flight. */
static void run(ocr2_model *m, page *pg, int width, int cancel_at)
{
	ocr2_batch *b = NULL;
	CHECK(ocr2_batch_new(m, width, &b) == OCR2_OK, "batch of %d: %s", width, ocr2_errmsg());
	if (!b)
		return;
	int next = 0, back = 0;
	bool seen[NPAGE] = {0};
	while (back < NPAGE) {
		while (next < NPAGE && ocr2_batch_count(b) < ocr2_batch_max(b)) {
			ocr2_recognize_params p = params(&pg[next], next);
			pg[next].cancel = 0;
			CHECK(ocr2_batch_add(b, &pg[next].img, &p, &pg[next]) == OCR2_OK,
			      "width %d: add page %d: %s", width, next, ocr2_errmsg());
			if (next == cancel_at)
				pg[next].cancel = 1;
			next++;
		}
		void *tag;
		ocr2_result r;
		ocr2_status st = ocr2_batch_next(b, &tag, &r);
		page *got = tag;
		int i = got ? (int)(got - pg) : -1;
		CHECK(i >= 0 && i < NPAGE && !seen[i], "width %d: a page came back twice or none",
		      width);
		if (i < 0 || i >= NPAGE)
			break;
		seen[i] = true;
		back++;
		if (i == cancel_at) {
			CHECK(st == OCR2_ERR_INTERRUPTED, "width %d: the cancelled page: %d", width, st);
		} else {
			CHECK(st == OCR2_OK && same(&r, &pg[i].alone),
			      "width %d: page %d differs from alone (%d tokens, alone %d)", width, i,
			      r.n_tokens, pg[i].alone.n_tokens);
		}
		ocr2_result_free(&r);
	}
	void *tag;
	ocr2_result r;
	CHECK(ocr2_batch_next(b, &tag, &r) == OCR2_ERR_INVALID && !tag, "an empty batch");
	ocr2_batch_free(b);
}

int main(int argc, char **argv)
{
	const char *td = getenv("TESTDATA"), *tc = getenv("TESTCACHE");
	if (argc != 2 || !td || !tc) {
		fprintf(stderr, "usage: TESTDATA=dir TESTCACHE=dir test-batch-pages NAME\n");
		return 2;
	}
	if (getenv("OCR2_STAND_IN"))
		unsetenv("OCR2_STAND_IN"); /* the real pipeline */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/models/%s", td, argv[1]);
	ocr2_model_params mp = ocr2_model_default_params();
	mp.n_threads = 2;
	ocr2_model *m = NULL;
	if (ocr2_model_load(dir, &mp, &m) != OCR2_OK) {
		fprintf(stderr, "%s (run: /usr/bin/python3 testdata/make-tiny.py --out testdata/models)\n",
			ocr2_errmsg());
		return 1;
	}
	page pg[NPAGE];
	memset(pg, 0, sizeof pg);
	for (int i = 0; i < NPAGE; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/enc-pages/%s", tc, files[i]);
		ocr2_doc *d = NULL;
		if (ocr2_doc_open(path, NULL, &d) != OCR2_OK || ocr2_doc_render(d, 0, &pg[i].img)) {
			fprintf(stderr, "%s (run: bash testdata/fetch.sh)\n", ocr2_errmsg());
			return 1;
		}
		ocr2_doc_free(d);
		ocr2_recognize_params p = params(&pg[i], i);
		CHECK(ocr2_recognize(m, &pg[i].img, &p, &pg[i].alone) == OCR2_OK, "page %d alone: %s",
		      i, ocr2_errmsg());
	}
	/* the pages must differ in prompt length for the test to mean much */
	CHECK(pg[0].alone.n_prompt != pg[2].alone.n_prompt, "prompt lengths %d and %d",
	      pg[0].alone.n_prompt, pg[2].alone.n_prompt);
	static const int widths[] = {1, 3, NPAGE};
	for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
		run(m, pg, widths[w], -1);
	run(m, pg, 3, 1);
	/* a page that cannot start takes no place */
	ocr2_batch *b = NULL;
	ocr2_batch_new(m, 2, &b);
	ocr2_image empty = {0};
	ocr2_recognize_params p = params(&pg[0], 0);
	CHECK(ocr2_batch_add(b, &empty, &p, NULL) == OCR2_ERR_INVALID && ocr2_batch_count(b) == 0,
	      "an empty image");
	pg[0].cancel = 0;
	CHECK(ocr2_batch_add(b, &pg[0].img, &p, &pg[0]) == OCR2_OK &&
		      ocr2_batch_add(b, &pg[1].img, &p, &pg[1]) == OCR2_OK &&
		      ocr2_batch_add(b, &pg[2].img, &p, &pg[2]) == OCR2_ERR_INVALID,
	      "a full batch refuses a third page");
	ocr2_batch_free(b); /* with pages in flight: freed (leaks show under ASan) */
	CHECK(ocr2_batch_new(m, 0, &b) == OCR2_ERR_INVALID && !b, "a batch of 0");
	CHECK(ocr2_batch_new(m, 257, &b) == OCR2_ERR_INVALID && !b, "a batch of 257");
	int def = ocr2_batch_default(m, 8192), fit = ocr2_batch_fit(m, 8192);
	CHECK(def >= 1 && (fit == 0 || def <= fit), "a default batch of %d, %d fit", def, fit);
	CHECK(fit == 0 || ocr2_batch_fit(m, 100) >= fit, "shorter pages: no fewer fit");
	for (int i = 0; i < NPAGE; i++) {
		ocr2_image_free(&pg[i].img);
		ocr2_result_free(&pg[i].alone);
	}
	ocr2_model_free(m);
	return check_done();
}
