/* decoder.h - the MoE language model (model.md §5, §6, §8): weights bound from
 * the checkpoint, a context with the KV cache, prefill, step and generation. */
#ifndef OCR2_DECODER_H
#define OCR2_DECODER_H

#include "internal.h"

typedef struct dec_model dec_model;
typedef struct dec_ctx dec_ctx;

/* Binds and shape-checks every decoder tensor (names per model.md §2.2). */
ocr2_status dec_load(const ocr2_weights *w, const ocr2_config *c, dec_model **out);
void dec_free(dec_model *m);

/* A KV cache for up to max_ctx positions plus scratch, allocated once. */
ocr2_status dec_ctx_new(const dec_model *m, int max_ctx, ocr2_pool *pool, dec_ctx **out);
void dec_ctx_free(dec_ctx *c);
void dec_ctx_reset(dec_ctx *c);
int dec_ctx_len(const dec_ctx *c);

/* Runs ids[0..n) through the model in one pass, appending to the cache. Rows
 * whose id is the image token take img[j] (j counting such rows, [n_img, hidden])
 * instead of the token embedding. Writes the last position's logits [vocab]. */
ocr2_status dec_prefill(dec_ctx *c, const int32_t *ids, int n, const float *img, int n_img,
			float *logits);
/* One token at the next position; logits [vocab]. */
ocr2_status dec_step(dec_ctx *c, int32_t id, float *logits);

/* The n-gram repetition guard (model.md §8). window > 0: the official vLLM
 * processor over generated tokens only, ids in whitelist never banned;
 * window == 0: HF no_repeat_ngram_size over the whole sequence (prompt +
 * generated). Writes banned ids (deduplicated) and returns their count. */
int dec_ngram_banned(const int32_t *seq, int len, int n, int window, const int32_t *whitelist,
		     int n_whitelist, int32_t *banned, int max_banned);

typedef struct {
	int max_tokens;
	int ngram, ngram_window;     /* ngram 0 = off */
	int whole_sequence;          /* HF variant: the guard also sees the prompt */
	const int32_t *whitelist;    /* <td>, </td> ids */
	int n_whitelist;
	volatile int *cancel;
	void (*on_token)(void *user, int n_generated);
	void *user;
	float *first_logits;         /* if not NULL, receives the prefill logits [vocab] */
} dec_gen_params;

/* Greedy decoding to EOS or max_tokens. *out (malloc'd) excludes EOS; *hit_eos
 * tells which way it stopped. */
ocr2_status dec_generate(dec_ctx *c, const int32_t *prompt, int n_prompt, const float *img,
			 int n_img, const dec_gen_params *p, int32_t **out, int *n_out,
			 bool *hit_eos);

#endif
