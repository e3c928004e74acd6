/* pipeline.c - the model behind ocr2_model_load and ocr2_recognize: loads a
 * model directory (config, weights, tokenizer, both halves) and runs one page
 * through preprocessing, DeepEncoder V2, the prompt splice and greedy
 * decoding. Test builds (-Dstand_in=true) can put the canned stand-in of
 * standin.c behind the same interface ($OCR2_STAND_IN). */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decoder.h"
#include "encoder.h"
#include "base/error.h"
#include "base/fs.h"
#include "compute/kernels.h"
#include "ocr2-config.h"
#include "pipeline/pipeline.h"

/* OpenBLAS's own thread count; declared by its cblas.h in some versions only. */
void openblas_set_num_threads(int num_threads);

struct ocr2_pipeline {
	char *dir;
	ocr2_config cfg;
	ocr2_weights *w;
	ocr2_tokenizer *tok;
	enc_model *enc;
	dec_model *dec;
	ocr2_pool *pool;
	int bos, image_id, td, td_close;
};

void ocr2_pipeline_free(ocr2_pipeline *p)
{
	if (!p)
		return;
	dec_free(p->dec);
	enc_free(p->enc);
	ocr2_tokenizer_free(p->tok);
	ocr2_weights_free(p->w);
	ocr2_pool_free(p->pool);
	free(p->dir);
	free(p);
}

/* MODEL.md §0.1: special ids come from tokenizer.json by their text and must
 * agree with config.json where both say something. */
static ocr2_status special_id(ocr2_pipeline *p, const char *text, int expect, int *out)
{
	int id = ocr2_tokenizer_token_id(p->tok, text);
	if (id < 0)
		return ocr2_fail(OCR2_ERR_MODEL, "%s/tokenizer.json: no token \"%s\"", p->dir, text);
	if (expect >= 0 && id != expect)
		return ocr2_fail(OCR2_ERR_MODEL,
				 "%s: tokenizer.json has \"%s\" = %d but config.json says %d", p->dir,
				 text, id, expect);
	*out = id;
	return OCR2_OK;
}

/* Between the steps of a load: a raised flag ends it. */
#define CANCELLED(c) ((c) && *(c) ? (st = ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: loading cancelled", \
						   dir)) : OCR2_OK)

ocr2_status ocr2_pipeline_load(const char *dir, const ocr2_model_params *mp, ocr2_pipeline **out)
{
	*out = NULL;
	ocr2_model_params defaults = ocr2_model_default_params();
	if (!mp)
		mp = &defaults;
	int n_threads = mp->n_threads;
	volatile int *cancel = mp->cancel;
	ocr2_pipeline *p = calloc(1, sizeof *p);
	char *path = NULL;
	ocr2_status st;
	if (!p || !(p->dir = strdup(dir)))
		goto nomem;
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		st = ocr2_fail(OCR2_ERR_MODEL, "%s: no such model directory", dir);
		goto fail;
	}
	if (!(path = ocr2_path_join(dir, "config.json")))
		goto nomem;
	if ((st = ocr2_config_load(path, &p->cfg)))
		goto fail;
	free(path);
	path = NULL;
	if ((st = ocr2_weights_load(dir, &p->w)) || CANCELLED(cancel))
		goto fail;
	if ((st = ocr2_model_check_tensors(p->w, &p->cfg, dir)) || CANCELLED(cancel))
		goto fail;
	if (!(path = ocr2_path_join(dir, "tokenizer.json")))
		goto nomem;
	if ((st = ocr2_tokenizer_load(path, &p->tok))) {
		if (st != OCR2_ERR_NOMEM)
			st = OCR2_ERR_MODEL;
		goto fail;
	}
	free(path);
	path = NULL;
	if ((st = special_id(p, "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
			     p->cfg.bos_id, &p->bos)) ||
	    (st = special_id(p, "<image>", p->cfg.image_token_id, &p->image_id)) ||
	    (st = special_id(p, "<td>", -1, &p->td)) ||
	    (st = special_id(p, "</td>", -1, &p->td_close)))
		goto fail;
	int eos;
	if ((st = special_id(p, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
			     p->cfg.eos_id, &eos)))
		goto fail;
	if (ocr2_tokenizer_vocab_size(p->tok) > p->cfg.vocab) {
		st = ocr2_fail(OCR2_ERR_MODEL, "%s: tokenizer has %d tokens, the model's vocabulary %d",
			       dir, ocr2_tokenizer_vocab_size(p->tok), p->cfg.vocab);
		goto fail;
	}
	if (n_threads <= 0)
		n_threads = ocr2_ncpu();
	if (!(p->pool = ocr2_pool_new(n_threads)))
		goto nomem;
	/* before anything keeps a pointer into the tensor data */
	if ((st = ocr2_weights_resident(p->w, p->pool, cancel)) || CANCELLED(cancel))
		goto fail;
	if ((st = enc_load(p->w, &p->cfg, &p->enc)) || (st = dec_load(p->w, &p->cfg, &p->dec)) ||
	    CANCELLED(cancel))
		goto fail;
	p->enc->bf16 = ocr2_precision_resolve(mp->precision) == OCR2_PRECISION_BF16;
	dec_set_kv_bf16(p->dec, mp->kv_cache == OCR2_KV_BF16);
	dec_prepare(p->dec, p->pool); /* lm_head's screen for the greedy choices */
	if (CANCELLED(cancel))
		goto fail;
	/* every product is split over our pool (ocr2_linear_rows, the items of
	 * attention and of the experts): OpenBLAS itself stays single-threaded */
	openblas_set_num_threads(1);
	*out = p;
	return OCR2_OK;
nomem:
	st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
fail:
	free(path);
	ocr2_pipeline_free(p);
	return st;
}

const ocr2_config *ocr2_pipeline_config(const ocr2_pipeline *p)
{
	return &p->cfg;
}

void ocr2_pipeline_parts(ocr2_pipeline *p, struct enc_model **enc, struct dec_model **dec,
			 ocr2_pool **pool, const ocr2_weights **w)
{
	*enc = p->enc;
	*dec = p->dec;
	*pool = p->pool;
	*w = p->w;
}

/* [BOS] + tokens(before) + [image]*n_img + tokens(after) (MODEL.md §6). */
static ocr2_status build_prompt(ocr2_pipeline *p, const char *prompt, int n_img, int32_t **ids,
				int *n)
{
	const char *tag = strstr(prompt, "<image>");
	if (!tag || strstr(tag + 7, "<image>"))
		return ocr2_fail(OCR2_ERR_INVALID, "the prompt must contain \"<image>\" exactly once");
	int32_t *a = NULL, *b = NULL;
	int na = 0, nb = 0;
	ocr2_status st = ocr2_tokenizer_encode(p->tok, prompt, (size_t)(tag - prompt), &a, &na);
	if (!st)
		st = ocr2_tokenizer_encode(p->tok, tag + 7, strlen(tag + 7), &b, &nb);
	if (st) {
		free(a);
		return st;
	}
	int total = 1 + na + n_img + nb;
	int32_t *v = malloc((size_t)total * sizeof *v);
	if (!v) {
		free(a);
		free(b);
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	}
	int k = 0;
	v[k++] = p->bos;
	for (int i = 0; i < na; i++)
		v[k++] = a[i];
	for (int i = 0; i < n_img; i++)
		v[k++] = p->image_id;
	for (int i = 0; i < nb; i++)
		v[k++] = b[i];
	free(a);
	free(b);
	*ids = v;
	*n = total;
	return OCR2_OK;
}

static ocr2_status write_raw(const char *dir, const char *name, const void *data, size_t n)
{
	char *path = ocr2_path_join(dir, name);
	if (!path)
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	FILE *f = fopen(path, "wb");
	ocr2_status st = OCR2_OK;
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
		st = ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
	}
	free(path);
	return st;
}

static ocr2_status write_dump(const char *dir, const float *emb, int n_emb, int hidden,
			      const float *logits, int vocab, const ocr2_result *r)
{
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", dir, strerror(errno));
	ocr2_status st = write_raw(dir, "features.f32", emb, (size_t)n_emb * hidden * sizeof(float));
	if (!st)
		st = write_raw(dir, "logits.f32", logits, (size_t)vocab * sizeof(float));
	if (st)
		return st;
	size_t cap = (size_t)r->n_tokens * 12 + 2;
	char *s = malloc(cap);
	if (!s)
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	size_t len = 0;
	for (int i = 0; i < r->n_tokens; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? " " : "", r->tokens[i]);
	s[len++] = '\n';
	st = write_raw(dir, "tokens.txt", s, len);
	free(s);
	if (st)
		return st;
	char js[1024];
	int jl = snprintf(js, sizeof js,
			  "{\"features\": [%d, %d], \"logits\": [%d], \"prompt_tokens\": %d, "
			  "\"generated_tokens\": %d, \"status\": \"%s\", \"seconds\": "
			  "{\"encode\": %.3f, \"prefill\": %.3f, \"decode\": %.3f}, "
			  "\"dtype\": \"float32\", \"byte_order\": \"little\"}\n",
			  n_emb, hidden, vocab, r->n_prompt, r->n_tokens,
			  r->status == OCR2_PAGE_OK ? "ok" : "truncated", r->t_encode, r->t_prefill,
			  r->t_decode);
	return write_raw(dir, "dump.json", js, (size_t)jl);
}

/* One page between its start (encoder, prompt, prefill, first token) and its
 * end (the text): what ocr2_recognize runs in one go and a batch
 * (lib/pipeline/batch.c) runs with other pages' steps in between. Never
 * moves once made: the generation's parameters point into it. */
struct ocr2_page_run {
	ocr2_pipeline *p;
	ocr2_recognize_params rp;
	float *emb, *logits;
	int32_t *ids;
	int n_emb, n_ids;
	dec_ctx *ctx;
	dec_gen *gen;
	int32_t white[2];
	dec_gen_params gp;
	double t0, t1, t_first; /* start, encoder done, first token */
	double t_encode;
};

void ocr2_page_run_free(ocr2_page_run *pr)
{
	if (!pr)
		return;
	dec_gen_free(pr->gen);
	dec_ctx_free(pr->ctx);
	free(pr->emb);
	free(pr->ids);
	free(pr->logits);
	free(pr);
}

static void on_token(void *user, int32_t id, int n)
{
	ocr2_page_run *pr = user;
	(void)id;
	if (n == 1)
		pr->t_first = ocr2_now();
	if (pr->rp.on_token)
		pr->rp.on_token(pr->rp.user, n);
}

ocr2_status ocr2_page_start(ocr2_pipeline *p, const ocr2_image *img,
			    const ocr2_recognize_params *rp, ocr2_page_run **out)
{
	*out = NULL;
	ocr2_page_run *pr = calloc(1, sizeof *pr);
	if (!pr)
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	pr->p = p;
	pr->rp = *rp;
	ocr2_status st;
	pr->t0 = ocr2_now();
	p->enc->cancel = rp->cancel;
	st = enc_image(p->enc, p->pool, img, rp->no_crop != 0, &pr->emb, &pr->n_emb);
	p->enc->cancel = NULL;
	if (st)
		goto fail;
	pr->t1 = ocr2_now();
	pr->t_encode = pr->t1 - pr->t0;
	if ((st = build_prompt(p, rp->prompt ? rp->prompt : OCR2_PROMPT_DOCUMENT, pr->n_emb,
			       &pr->ids, &pr->n_ids)))
		goto fail;
	int max_ctx = p->cfg.max_pos;
	if (pr->n_ids >= max_ctx) {
		st = ocr2_fail(OCR2_ERR_INVALID, "the prompt has %d tokens, the context %d",
			       pr->n_ids, max_ctx);
		goto fail;
	}
	int max_new = rp->max_tokens > 0 ? rp->max_tokens : 8192;
	if (max_new > max_ctx - pr->n_ids)
		max_new = max_ctx - pr->n_ids; /* vLLM: max_model_len bounds prompt + output */
	if ((st = dec_ctx_new(p->dec, pr->n_ids + max_new, p->pool, &pr->ctx)))
		goto fail;
	if (rp->dump_dir && !(pr->logits = malloc((size_t)p->cfg.vocab * sizeof *pr->logits))) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		goto fail;
	}
	pr->white[0] = p->td;
	pr->white[1] = p->td_close;
	pr->gp = (dec_gen_params){
		.max_tokens = max_new,
		.ngram = rp->ngram,
		.ngram_window = rp->ngram_window,
		.whole_sequence = rp->ngram > 0 && rp->ngram_window == 0,
		.whitelist = pr->white,
		.n_whitelist = 2,
		.cancel = rp->cancel,
		.on_token = on_token,
		.user = pr,
		.first_logits = pr->logits,
	};
	if ((st = dec_gen_start(pr->ctx, pr->ids, pr->n_ids, pr->emb, pr->n_emb, &pr->gp,
				&pr->gen)))
		goto fail;
	*out = pr;
	return OCR2_OK;
fail:
	ocr2_page_run_free(pr);
	return st;
}

struct dec_gen *ocr2_page_gen(ocr2_page_run *pr)
{
	return pr->gen;
}

ocr2_status ocr2_page_finish(ocr2_page_run *pr, ocr2_result *r)
{
	memset(r, 0, sizeof *r);
	ocr2_pipeline *p = pr->p;
	int32_t *out = NULL;
	int n_out = 0;
	bool eos = false;
	char *text = NULL;
	size_t text_len = 0;
	ocr2_status st = dec_gen_finish(pr->gen, &out, &n_out, &eos);
	pr->gen = NULL;
	double t2 = ocr2_now();
	if (st)
		goto out;
	r->t_encode = pr->t_encode;
	/* prefill ends when the first token is chosen */
	r->t_prefill = (pr->t_first > 0 ? pr->t_first : t2) - pr->t1;
	r->t_decode = t2 - pr->t1 - r->t_prefill;
	if ((st = ocr2_tokenizer_decode(p->tok, out, n_out, &text, &text_len)))
		goto out;
	r->text = text;
	text = NULL;
	r->tokens = out;
	out = NULL;
	r->n_tokens = n_out;
	r->n_prompt = pr->n_ids;
	r->status = eos ? OCR2_PAGE_OK : OCR2_PAGE_TRUNCATED;
	if (pr->rp.dump_dir && (st = write_dump(pr->rp.dump_dir, pr->emb, pr->n_emb, p->cfg.hidden,
						pr->logits, p->cfg.vocab, r)))
		ocr2_result_free(r);
out:
	ocr2_page_run_free(pr);
	free(out);
	free(text);
	return st;
}

ocr2_status ocr2_pipeline_recognize(ocr2_pipeline *p, const ocr2_image *img,
				    const ocr2_recognize_params *rp, ocr2_result *r)
{
	memset(r, 0, sizeof *r);
	ocr2_page_run *pr;
	ocr2_status st = ocr2_page_start(p, img, rp, &pr);
	if (st)
		return st;
	while (!dec_gen_done(pr->gen))
		dec_gen_step(pr->gen);
	return ocr2_page_finish(pr, r);
}

/* ---- the public interface (ocr2.h) ---------------------------------------- */

struct ocr2_model {
	ocr2_model_params params;
	ocr2_standin *standin; /* non-NULL only in a stand-in build with $OCR2_STAND_IN set */
	ocr2_pipeline *real;   /* the encoder+decoder */
};

ocr2_model_params ocr2_model_default_params(void)
{
	ocr2_model_params p = {0};
	p.n_threads = 0;
	p.precision = OCR2_PRECISION_AUTO;
	p.kv_cache = OCR2_KV_F32;
	return p;
}

ocr2_precision ocr2_precision_resolve(ocr2_precision p)
{
	if (p == OCR2_PRECISION_F32)
		return p;
	/* AUTO, BF16 and anything else: bf16 only where the CPU runs it */
	return ocr2_gemm_bf16_available() ? OCR2_PRECISION_BF16 : OCR2_PRECISION_F32;
}

const char *ocr2_precision_name(ocr2_precision p)
{
	return p == OCR2_PRECISION_F32 ? "f32" : p == OCR2_PRECISION_BF16 ? "bf16" : "auto";
}

ocr2_recognize_params ocr2_recognize_default_params(void)
{
	ocr2_recognize_params p = {0};
	p.prompt = NULL;
	p.max_tokens = 8192;
	p.ngram = 20;        /* the official PDF script (MODEL.md §8) */
	p.ngram_window = 50;
	return p;
}

/* ---- the public interface -------------------------------------------------- */

ocr2_status ocr2_model_load(const char *dir, const ocr2_model_params *p, ocr2_model **out)
{
	*out = NULL;
	ocr2_model *m = calloc(1, sizeof *m);
	if (!m)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
	m->params = p ? *p : ocr2_model_default_params();
	ocr2_status s;
#if OCR2_STAND_IN
	const char *canned = getenv("OCR2_STAND_IN");
	if (canned && *canned) {
		s = ocr2_standin_load(canned, m->params.cancel, &m->standin);
		if (s != OCR2_OK) {
			free(m);
			return s;
		}
		*out = m;
		return OCR2_OK;
	}
#endif
	struct stat st;
	if (stat(dir, &st) != 0)
		s = ocr2_fail(OCR2_ERR_MODEL, "%s: %s (run 'ocr2 model fetch' or pass -m DIR)", dir,
			      strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		s = ocr2_fail(OCR2_ERR_MODEL, "%s: not a directory", dir);
	else
		s = ocr2_pipeline_load(dir, &m->params, &m->real);
	if (s != OCR2_OK) {
		free(m);
		return s;
	}
	*out = m;
	return OCR2_OK;
}

ocr2_pipeline *ocr2_model_pipeline(const ocr2_model *m)
{
	return m->real;
}

ocr2_standin *ocr2_model_standin(const ocr2_model *m)
{
#if OCR2_STAND_IN
	return m->standin;
#else
	(void)m;
	return NULL;
#endif
}

void ocr2_model_free(ocr2_model *m)
{
	if (!m)
		return;
#if OCR2_STAND_IN
	ocr2_standin_free(m->standin);
#endif
	ocr2_pipeline_free(m->real);
	free(m);
}

ocr2_status ocr2_recognize_check(const ocr2_image *img, const ocr2_recognize_params *p)
{
	if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
		return ocr2_fail(OCR2_ERR_INVALID, "recognize: empty image");
	if (p->max_tokens <= 0 || p->ngram < 0 || p->ngram_window < 0)
		return ocr2_fail(OCR2_ERR_INVALID, "recognize: bad generation parameters");
	return OCR2_OK;
}

ocr2_status ocr2_recognize(ocr2_model *m, const ocr2_image *img, const ocr2_recognize_params *p,
			   ocr2_result *out)
{
	memset(out, 0, sizeof *out);
	ocr2_recognize_params dflt = ocr2_recognize_default_params();
	if (!p)
		p = &dflt;
	ocr2_status st = ocr2_recognize_check(img, p);
	if (st != OCR2_OK)
		return st;
#if OCR2_STAND_IN
	if (m->standin)
		return ocr2_standin_recognize(m->standin, img, p, out);
#endif
	return ocr2_pipeline_recognize(m->real, img, p, out);
}

void ocr2_result_free(ocr2_result *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->tokens);
	memset(r, 0, sizeof *r);
}
