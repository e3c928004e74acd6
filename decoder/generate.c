/* generate.c - greedy decoding (MODEL.md §8): the n-gram repetition guard in
 * its two official forms, argmax, EOS / length / cancel handling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "decoder.h"

static int cmp_id(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Sorts banned[0..n) and drops duplicates; returns the new count. */
static int sort_unique(int32_t *banned, int n)
{
	if (n < 2)
		return n;
	qsort(banned, (size_t)n, sizeof *banned, cmp_id);
	int k = 1;
	for (int i = 1; i < n; i++)
		if (banned[i] != banned[k - 1])
			banned[k++] = banned[i];
	return k;
}

/* Restates two pieces of official logic (MODEL.md §8):
 *
 * window > 0: DeepSeek-OCR2-vllm process/ngram_norepeat.py. seq is the
 *   generated tokens only. Nothing is banned while len < n. The prefix is the
 *   last n-1 tokens; every n-gram starting at s in [max(0, len-window), len-n]
 *   whose first n-1 tokens equal the prefix bans its last token; whitelisted
 *   ids are then removed. Python quirk kept: with n == 1 the prefix slice
 *   input_ids[-0:] is the whole sequence, never equal to the empty 0-gram
 *   prefix, so n == 1 bans nothing.
 *
 * window == 0: transformers' NoRepeatNGramLogitsProcessor
 *   (_calc_banned_ngram_tokens) with no_repeat_ngram_size = n over seq = the
 *   whole sequence, prompt included: the same matching over every start
 *   s in [0, len-n]; n == 1 bans every token seen. No whitelist in HF; one is
 *   applied here only if the caller passes it.
 *
 * Writes the banned ids sorted ascending without duplicates and returns their
 * count, or -1 when more than max_banned distinct ids would be banned (a
 * buffer of len entries always suffices). */
int dec_ngram_banned(const int32_t *seq, int len, int n, int window, const int32_t *whitelist,
		     int n_whitelist, int32_t *banned, int max_banned)
{
	if (n <= 0 || len < n || window < 0)
		return 0;
	if (window > 0 && n == 1)
		return 0;
	int s0 = window > 0 ? (len - window > 0 ? len - window : 0) : 0;
	int s1 = len - n; /* last start, inclusive */
	const int32_t *prefix = seq + len - (n - 1);
	int cnt = 0;
	for (int s = s0; s <= s1; s++) {
		if (memcmp(seq + s, prefix, (size_t)(n - 1) * sizeof *seq) != 0)
			continue;
		int32_t t = seq[s + n - 1];
		bool white = false;
		for (int w = 0; w < n_whitelist && !white; w++)
			white = whitelist[w] == t;
		if (white)
			continue;
		if (cnt == max_banned) {
			cnt = sort_unique(banned, cnt);
			if (cnt == max_banned)
				return -1;
		}
		banned[cnt++] = t;
	}
	return sort_unique(banned, cnt);
}

/* The ids banned before generated token g (seq holds the prompt and g
 * tokens); 0 when the guard is off. */
static int bans(const dec_gen_params *p, const int32_t *seq, int n_prompt, int g,
		int32_t *banned, int max_banned)
{
	if (p->ngram <= 0 || (!p->whole_sequence && p->ngram_window <= 0))
		return 0;
	/* vLLM sees the generated tokens; HF the whole sequence */
	const int32_t *base = p->whole_sequence ? seq : seq + n_prompt;
	int len = p->whole_sequence ? n_prompt + g : g;
	return dec_ngram_banned(base, len, p->ngram, p->whole_sequence ? 0 : p->ngram_window,
				p->whitelist, p->n_whitelist, banned, max_banned);
}

struct dec_gen {
	dec_ctx *c;
	dec_gen_params p;
	int n_prompt, limit, g;  /* g: tokens generated */
	int32_t *seq, *banned;   /* prompt + generated; the bans' buffer */
	int max_banned;
	float *logits;           /* [vocab] for dec_step_greedy */
	int32_t last;            /* the last token taken: the next step's input */
	bool done, eos;
	ocr2_status st;
	char msg[256];           /* st's message */
};

void dec_gen_free(dec_gen *g)
{
	if (!g)
		return;
	free(g->seq);
	free(g->banned);
	free(g->logits);
	free(g);
}

/* Ends g with status st and the thread's last message. */
static ocr2_status gen_fail(dec_gen *g, ocr2_status st)
{
	g->st = st;
	g->done = true;
	snprintf(g->msg, sizeof g->msg, "%s", ocr2_errmsg());
	return st;
}

/* Takes the chosen token t: EOS ends it (not kept), else t is kept and
 * reported, and the limit may end it. */
static void take(dec_gen *g, int32_t t)
{
	if (t == dec_eos(g->c)) {
		g->eos = g->done = true;
		return;
	}
	g->seq[g->n_prompt + g->g++] = t;
	g->last = t;
	if (g->p.on_token)
		g->p.on_token(g->p.user, t, g->g);
	if (g->g == g->limit)
		g->done = true;
}

static bool cancelled(dec_gen *g)
{
	if (!g->p.cancel || !*g->p.cancel)
		return false;
	gen_fail(g, ocr2_fail(OCR2_ERR_INTERRUPTED, "decoder: cancelled"));
	return true;
}

/* The bans before the next token. */
static int next_bans(dec_gen *g)
{
	return bans(&g->p, g->seq, g->n_prompt, g->g, g->banned, g->max_banned);
}

ocr2_status dec_gen_start(dec_ctx *c, const int32_t *prompt, int n_prompt, const float *img,
			  int n_img, const dec_gen_params *p, dec_gen **out)
{
	*out = NULL;
	int V = dec_vocab(c);
	if (n_prompt <= 0)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: empty prompt");
	if (p->ngram < 0 || p->ngram_window < 0)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: negative n-gram size or window");
	dec_gen *g = calloc(1, sizeof *g);
	if (!g)
		return ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
	g->c = c;
	g->p = *p;
	g->n_prompt = n_prompt;
	/* vLLM: prompt + output never exceed the context (max_model_len). */
	int room = dec_ctx_max(c) - dec_ctx_len(c) - n_prompt;
	g->limit = p->max_tokens > 0 && p->max_tokens < room ? p->max_tokens : room;
	if (g->limit < 0)
		g->limit = 0;
	size_t seq_len = (size_t)n_prompt + (size_t)g->limit;
	g->max_banned = (int)seq_len + 1;
	g->logits = malloc((size_t)V * sizeof *g->logits);
	g->seq = malloc((seq_len + 1) * sizeof *g->seq);
	g->banned = malloc((seq_len + 1) * sizeof *g->banned);
	ocr2_status s;
	if (!g->logits || !g->seq || !g->banned) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
		goto fail;
	}
	memcpy(g->seq, prompt, (size_t)n_prompt * sizeof *g->seq);
	dec_ctx_cancel(c, p->cancel);
	if ((s = dec_prefill(c, prompt, n_prompt, img, n_img, g->logits)) != OCR2_OK)
		goto fail;
	if (p->first_logits)
		memcpy(p->first_logits, g->logits, (size_t)V * sizeof *g->logits);
	if (g->limit == 0) {
		g->done = true;
	} else {
		if (p->cancel && *p->cancel) {
			s = ocr2_fail(OCR2_ERR_INTERRUPTED, "decoder: cancelled");
			goto fail;
		}
		/* the first token from the prefill's logits */
		dec_ban(g->logits, V, g->banned, next_bans(g));
		take(g, dec_argmax(g->logits, V));
	}
	*out = g;
	return OCR2_OK;
fail:
	dec_gen_free(g);
	return s;
}

bool dec_gen_done(const dec_gen *g)
{
	return g->done;
}

ocr2_status dec_gen_status(const dec_gen *g)
{
	return g->st;
}

int dec_gen_count(const dec_gen *g)
{
	return g->g;
}

dec_ctx *dec_gen_ctx(const dec_gen *g)
{
	return g->c;
}

ocr2_status dec_gen_step(dec_gen *g)
{
	if (g->done || cancelled(g))
		return g->st;
	int32_t t;
	ocr2_status s = dec_step_greedy(g->c, g->last, g->banned, next_bans(g), g->logits, &t);
	if (s != OCR2_OK)
		return gen_fail(g, s);
	take(g, t);
	return OCR2_OK;
}

#define STEP_PIECE 256 /* rows per dec_step_batch call at most */

void dec_gen_step_batch(dec_batch *b, dec_gen *const *g, int n)
{
	dec_gen *live[STEP_PIECE];
	int k = 0, max = dec_batch_max(b) < STEP_PIECE ? dec_batch_max(b) : STEP_PIECE;
	int total = 0;
	for (int i = 0; i < n; i++)
		total += !g[i]->done;
	if (total == 1) { /* alone: dec_step_greedy, with lm_head's screen */
		for (int i = 0; i < n; i++)
			dec_gen_step(g[i]);
		return;
	}
	for (int i = 0; i <= n; i++) {
		if (i < n && !g[i]->done && !cancelled(g[i]))
			live[k++] = g[i];
		if (k == 0 || (k < max && i < n))
			continue;
		dec_ctx *ctx[STEP_PIECE];
		int32_t ids[STEP_PIECE], next[STEP_PIECE];
		const int32_t *banned[STEP_PIECE];
		int nb[STEP_PIECE];
		ocr2_status st[STEP_PIECE];
		for (int r = 0; r < k; r++) {
			ctx[r] = live[r]->c;
			ids[r] = live[r]->last;
			banned[r] = live[r]->banned;
			nb[r] = next_bans(live[r]);
		}
		ocr2_status s = dec_step_batch(b, ctx, k, ids, banned, nb, next, st);
		for (int r = 0; r < k; r++) {
			if (s != OCR2_OK)
				gen_fail(live[r], s);
			else if (st[r] != OCR2_OK)
				gen_fail(live[r], st[r]);
			else
				take(live[r], next[r]);
		}
		k = 0;
	}
}

ocr2_status dec_gen_finish(dec_gen *g, int32_t **out, int *n_out, bool *hit_eos)
{
	*out = NULL;
	*n_out = 0;
	*hit_eos = false;
	ocr2_status s = g->st;
	if (s != OCR2_OK) {
		ocr2_fail(s, "%s", g->msg); /* the caller's message is this sequence's */
	} else if (!(*out = malloc(((size_t)g->g + 1) * sizeof **out))) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
	} else {
		memcpy(*out, g->seq + g->n_prompt, (size_t)g->g * sizeof **out);
		*n_out = g->g;
		*hit_eos = g->eos;
	}
	dec_gen_free(g);
	return s;
}

ocr2_status dec_generate(dec_ctx *c, const int32_t *prompt, int n_prompt, const float *img,
			 int n_img, const dec_gen_params *p, int32_t **out, int *n_out,
			 bool *hit_eos)
{
	*out = NULL;
	*n_out = 0;
	*hit_eos = false;
	dec_gen *g;
	ocr2_status s = dec_gen_start(c, prompt, n_prompt, img, n_img, p, &g);
	if (s != OCR2_OK)
		return s;
	while (!g->done)
		dec_gen_step(g);
	return dec_gen_finish(g, out, n_out, hit_eos);
}
