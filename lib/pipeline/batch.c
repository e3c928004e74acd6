/* batch.c - several pages in flight on one model (ocr2.h, "several pages at
 * once"): each page starts alone (encoder, prompt, prefill:
 * ocr2_page_start), then every decode step takes all the pages still
 * generating together (dec_gen_step_batch), and a page that ends leaves for
 * ocr2_page_finish. A stand-in model (test builds) answers at once and
 * makes its pages wait decode steps of their own, so that the CLI tests see
 * pages end out of order as real ones do. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "compute/pool.h"
#include "decoder.h"
#include "ocr2-config.h"
#include "pipeline/pipeline.h"

/* The size that decoded fastest together on the machines measured (README,
 * performance: q8 on 2 threads, AMD Zen 3), where more stops paying. */
#define BATCH_MEASURED 8

typedef struct {
	void *tag;
	ocr2_page_run *run;    /* a real page */
	double t_start;        /* when it joined the decoding */
	/* a stand-in page: its result, and its steps still to go */
	ocr2_result res;
	long steps;
} page;

struct ocr2_batch {
	ocr2_model *m;
	ocr2_pipeline *p;      /* NULL: the stand-in */
	int max, n;
	page **pages;          /* [n], in the order they were added */
	dec_batch *db;
	struct dec_gen **gens; /* [max] scratch for a step */
};

ocr2_status ocr2_batch_new(ocr2_model *m, int max_pages, ocr2_batch **out)
{
	*out = NULL;
	if (max_pages < 1 || max_pages > 256)
		return ocr2_fail(OCR2_ERR_INVALID, "batch: %d pages outside 1..256", max_pages);
	ocr2_batch *b = calloc(1, sizeof *b);
	if (!b)
		return ocr2_fail(OCR2_ERR_NOMEM, "batch: out of memory");
	b->m = m;
	b->p = ocr2_model_pipeline(m);
	b->max = max_pages;
	b->pages = calloc((size_t)max_pages, sizeof *b->pages);
	b->gens = calloc((size_t)max_pages, sizeof *b->gens);
	ocr2_status st = OCR2_OK;
	if (!b->pages || !b->gens) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "batch: out of memory");
	} else if (b->p) {
		struct enc_model *enc;
		dec_model *dec;
		ocr2_pool *pool;
		const ocr2_weights *w;
		ocr2_pipeline_parts(b->p, &enc, &dec, &pool, &w);
		st = dec_batch_new(dec, max_pages, pool, &b->db);
	}
	if (st != OCR2_OK) {
		ocr2_batch_free(b);
		return st;
	}
	*out = b;
	return OCR2_OK;
}

static void page_free(page *pg)
{
	if (!pg)
		return;
	ocr2_page_run_free(pg->run);
	ocr2_result_free(&pg->res);
	free(pg);
}

void ocr2_batch_free(ocr2_batch *b)
{
	if (!b)
		return;
	for (int i = 0; b->pages && i < b->n; i++)
		page_free(b->pages[i]);
	free(b->pages);
	free(b->gens);
	dec_batch_free(b->db);
	free(b);
}

int ocr2_batch_max(const ocr2_batch *b)
{
	return b->max;
}

int ocr2_batch_count(const ocr2_batch *b)
{
	return b->n;
}

ocr2_status ocr2_batch_add(ocr2_batch *b, const ocr2_image *img, const ocr2_recognize_params *p,
			   void *tag)
{
	if (b->n == b->max)
		return ocr2_fail(OCR2_ERR_INVALID, "batch: all %d places taken", b->max);
	ocr2_recognize_params dflt = ocr2_recognize_default_params();
	if (!p)
		p = &dflt;
	ocr2_status st = ocr2_recognize_check(img, p);
	if (st != OCR2_OK)
		return st;
	page *pg = calloc(1, sizeof *pg);
	if (!pg)
		return ocr2_fail(OCR2_ERR_NOMEM, "batch: out of memory");
	pg->tag = tag;
	if (b->p) {
		st = ocr2_page_start(b->p, img, p, &pg->run);
	} else {
#if OCR2_STAND_IN
		ocr2_standin *si = ocr2_model_standin(b->m);
		st = ocr2_standin_recognize(si, img, p, &pg->res);
		pg->steps = st == OCR2_OK ? ocr2_standin_steps(si, &pg->res) : 0;
#else
		st = ocr2_fail(OCR2_ERR_INTERNAL, "batch: no model");
#endif
	}
	if (st != OCR2_OK) {
		page_free(pg);
		return st;
	}
	pg->t_start = ocr2_now();
	b->pages[b->n++] = pg;
	return OCR2_OK;
}

/* Takes page i out of the batch, keeping the others in order. */
static page *take(ocr2_batch *b, int i)
{
	page *pg = b->pages[i];
	memmove(b->pages + i, b->pages + i + 1, (size_t)(b->n - i - 1) * sizeof *b->pages);
	b->n--;
	return pg;
}

/* The first page (in the order added) whose generation has ended, or -1. */
static int first_done(const ocr2_batch *b)
{
	for (int i = 0; i < b->n; i++)
		if (dec_gen_done(ocr2_page_gen(b->pages[i]->run)))
			return i;
	return -1;
}

ocr2_status ocr2_batch_next(ocr2_batch *b, void **tag, ocr2_result *out)
{
	*tag = NULL;
	memset(out, 0, sizeof *out);
	if (b->n == 0)
		return ocr2_fail(OCR2_ERR_INVALID, "batch: no page in flight");
	if (!b->p) { /* the stand-in: the page with the fewest steps left */
		int best = 0;
		for (int i = 1; i < b->n; i++)
			if (b->pages[i]->steps < b->pages[best]->steps)
				best = i;
		long done = b->pages[best]->steps;
		for (int i = 0; i < b->n; i++)
			b->pages[i]->steps -= done;
		page *pg = take(b, best);
		*tag = pg->tag;
		*out = pg->res;
		memset(&pg->res, 0, sizeof pg->res);
		out->t_decode = ocr2_now() - pg->t_start;
		page_free(pg); /* a stand-in page that failed never got in */
		return OCR2_OK;
	}
	int i;
	while ((i = first_done(b)) < 0) {
		for (int k = 0; k < b->n; k++)
			b->gens[k] = ocr2_page_gen(b->pages[k]->run);
		dec_gen_step_batch(b->db, b->gens, b->n);
	}
	page *pg = take(b, i);
	*tag = pg->tag;
	ocr2_status st = ocr2_page_finish(pg->run, out); /* frees the run */
	pg->run = NULL;
	page_free(pg);
	return st;
}

int ocr2_batch_fit(const ocr2_model *m, int max_tokens)
{
	ocr2_pipeline *p = ocr2_model_pipeline(m);
	if (!p)
		return 0;
	const ocr2_config *c = ocr2_pipeline_config(p);
	/* a page's cache at its longest (an A4 page's prompt is ~1131 tokens;
	 * the largest the crops allow stays under 2048), its row scratch and
	 * its image embeddings, with a quarter of the memory left over */
	long long pos = 2048LL + (max_tokens > 0 ? max_tokens : 8192);
	if (pos > c->max_pos)
		pos = c->max_pos;
	struct enc_model *enc;
	dec_model *dec;
	ocr2_pool *pool;
	const ocr2_weights *w;
	ocr2_pipeline_parts(p, &enc, &dec, &pool, &w);
	double per_page = (double)dec_kv_bytes_per_pos(dec) * (double)pos + 64.0 * 1024 * 1024;
	double avail = (double)ocr2_mem_available() * 0.75, fit = avail / per_page;
	return avail <= 0 ? 0 : fit < 1 ? 1 : fit > 1e6 ? 1000000 : (int)fit;
}

int ocr2_batch_default(const ocr2_model *m, int max_tokens)
{
	int fit = ocr2_batch_fit(m, max_tokens);
	return fit == 0 || fit > BATCH_MEASURED ? BATCH_MEASURED : fit;
}
