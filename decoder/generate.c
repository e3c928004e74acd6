/* generate.c - greedy decoding (MODEL.md §8): the n-gram repetition guard in
 * its two official forms, argmax, EOS / length / cancel handling. */
#include <math.h>
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

ocr2_status dec_generate(dec_ctx *c, const int32_t *prompt, int n_prompt, const float *img,
			 int n_img, const dec_gen_params *p, int32_t **out, int *n_out,
			 bool *hit_eos)
{
	*out = NULL;
	*n_out = 0;
	*hit_eos = false;
	int V = dec_vocab(c), eos = dec_eos(c);
	if (n_prompt <= 0)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: empty prompt");
	if (p->ngram < 0 || p->ngram_window < 0)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: negative n-gram size or window");
	/* vLLM: prompt + output never exceed the context (max_model_len). */
	int room = dec_ctx_max(c) - dec_ctx_len(c) - n_prompt;
	int limit = p->max_tokens > 0 && p->max_tokens < room ? p->max_tokens : room;
	if (limit < 0)
		limit = 0;
	size_t seq_len = (size_t)n_prompt + (size_t)limit;
	float *logits = malloc((size_t)V * sizeof *logits);
	int32_t *seq = malloc((seq_len + 1) * sizeof *seq);
	int32_t *banned = malloc((seq_len + 1) * sizeof *banned);
	ocr2_status s = OCR2_OK;
	if (!logits || !seq || !banned) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
		goto done;
	}
	memcpy(seq, prompt, (size_t)n_prompt * sizeof *seq);
	dec_ctx_cancel(c, p->cancel);
	if ((s = dec_prefill(c, prompt, n_prompt, img, n_img, logits)) != OCR2_OK)
		goto done;
	if (p->first_logits)
		memcpy(p->first_logits, logits, (size_t)V * sizeof *logits);
	/* the first token from the prefill's logits, each next one from
	 * dec_step_greedy, which needs the bans before the step */
	int g = 0;
	int32_t t = 0;
	if (limit > 0) {
		if (p->cancel && *p->cancel) {
			s = ocr2_fail(OCR2_ERR_INTERRUPTED, "decoder: cancelled");
			goto done;
		}
		dec_ban(logits, V, banned, bans(p, seq, n_prompt, 0, banned, (int)seq_len + 1));
		t = dec_argmax(logits, V);
	}
	while (limit > 0) {
		if (t == eos) {
			*hit_eos = true;
			break;
		}
		seq[n_prompt + g++] = t;
		if (p->on_token)
			p->on_token(p->user, t, g);
		if (g == limit)
			break;
		if (p->cancel && *p->cancel) {
			s = ocr2_fail(OCR2_ERR_INTERRUPTED, "decoder: cancelled");
			goto done;
		}
		int nb = bans(p, seq, n_prompt, g, banned, (int)seq_len + 1);
		if ((s = dec_step_greedy(c, t, banned, nb, logits, &t)) != OCR2_OK)
			goto done;
	}
	*out = malloc(((size_t)g + 1) * sizeof **out);
	if (!*out) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
		goto done;
	}
	memcpy(*out, seq + n_prompt, (size_t)g * sizeof **out);
	*n_out = g;
done:
	free(logits);
	free(seq);
	free(banned);
	return s;
}
