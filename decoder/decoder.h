/* decoder.h - the MoE language model (MODEL.md §5, §6, §8): weights bound from
 * the checkpoint, a context with the KV cache, prefill, step and generation. */
#ifndef OCR2_DECODER_H
#define OCR2_DECODER_H

#include "compute/pool.h"
#include "model/model.h"

typedef struct dec_model dec_model;
typedef struct dec_ctx dec_ctx;

/* Binds and shape-checks every decoder tensor (names per MODEL.md §2.2, from
 * the table of model/tensors.h) with the exact shapes the config implies; a mismatch is OCR2_ERR_MODEL naming
 * the tensor. Big matrices stay in w's mapping (w must outlive the model);
 * norm weights and routers are copied to f32. MoE top-k ties go to the
 * lower expert index (torch.topk leaves them unspecified). */
ocr2_status dec_load(const ocr2_weights *w, const ocr2_config *c, dec_model **out);
void dec_free(dec_model *m);

/* The KV cache's element type for the contexts made after the call: f32
 * (the default, the reference's arithmetic) or bf16 (keys and values rounded
 * to bf16 as they are stored, widened exactly when read: half the bytes a
 * step reads from the cache and half its memory; what the official bf16
 * implementation keeps, but not the float32 reference's numbers). */
void dec_set_kv_bf16(dec_model *m, bool on);
/* Bytes of KV cache one position takes in a context made now (keys and
 * values, every layer). */
size_t dec_kv_bytes_per_pos(const dec_model *m);
/* A KV cache for up to max_ctx positions plus scratch, allocated once. */
ocr2_status dec_ctx_new(const dec_model *m, int max_ctx, ocr2_pool *pool, dec_ctx **out);
void dec_ctx_free(dec_ctx *c);
void dec_ctx_reset(dec_ctx *c);
/* A flag prefill polls between layers (raised: OCR2_ERR_INTERRUPTED), so
 * that a long prompt stops within a layer's time; NULL: none. */
void dec_ctx_cancel(dec_ctx *c, volatile int *cancel);
/* Debugging hook (comparisons with a reference): called by prefill and step
 * with the residual stream x [n, hidden] of the rows just processed, after
 * the embedding (layer 0) and after each layer l (l = 1..n_layers), before
 * the final norm. fn NULL turns it off. */
/* Accumulates wall seconds per phase of forward() into sec[DEC_PROF_N] (NULL
 * stops); the attention phase includes its projections and both norms. */
enum { DEC_PROF_ATTENTION, DEC_PROF_FFN, DEC_PROF_LM_HEAD, DEC_PROF_OTHER, DEC_PROF_N };
void dec_ctx_profile(dec_ctx *c, double *sec);
typedef void (*dec_trace_fn)(void *user, int layer, const float *x, int n, int hidden);
void dec_ctx_trace(dec_ctx *c, dec_trace_fn fn, void *user);
int dec_ctx_len(const dec_ctx *c);  /* positions in the cache */
/* dst's cache becomes a copy of src's first len positions (same model and
 * cache type):
 * for ocr2 bench, which times several sequences after one prefill. */
ocr2_status dec_ctx_copy(dec_ctx *dst, const dec_ctx *src, int len);
int dec_ctx_max(const dec_ctx *c);  /* max_ctx */
int dec_vocab(const dec_ctx *c);    /* length of a logits vector */
int dec_eos(const dec_ctx *c);      /* config eos_token_id */

/* Runs ids[0..n) through the model in one pass at positions len..len+n-1,
 * appending to the cache. Rows whose id is the config's image_token_id take
 * img[j] (j counting such rows, img is [n_img, hidden]) instead of the token
 * embedding; a count other than n_img is OCR2_ERR_INVALID, as are ids outside
 * the vocabulary and a prompt that does not fit the context. Writes the last
 * position's logits [vocab]. Grows the row scratch to n once if needed. */
ocr2_status dec_prefill(dec_ctx *c, const int32_t *ids, int n, const float *img, int n_img,
			float *logits);
/* One token at the next position (plain token embedding, also for the image
 * id, as the reference does after prefill); logits [vocab]. No allocation. */
ocr2_status dec_step(dec_ctx *c, int32_t id, float *logits);
/* The same step, then the greedy choice of the next token: torch.argmax of
 * the logits with the ids in banned (sorted ascending, nb of them; ids
 * outside the vocabulary ignored) at -inf, into *next. With a screen
 * (dec_prepare) the logits are not all computed, and logits [vocab] is
 * scratch for the steps the screen cannot decide; the choice is the same
 * either way. */
ocr2_status dec_step_greedy(dec_ctx *c, int32_t id, const int32_t *banned, int nb,
			    float *logits, int32_t *next);
/* torch.argmax (the first maximum; a NaN wins) and the ban it follows. */
int32_t dec_argmax(const float *x, int n);
void dec_ban(float *logits, int vocab, const int32_t *banned, int nb);
/* Makes lm_head's screen (lib/compute/screen.c) for dec_step_greedy, unless lm_head
 * is 8-bit already (nothing to gain), cannot have one, or OCR2_LM_HEAD=full
 * is set. Without it, or when memory is short, choices read the full
 * product. Idempotent. */
void dec_prepare(dec_model *m, ocr2_pool *pool);
size_t dec_screen_bytes(const dec_model *m); /* 0 without a screen */
/* Steps dec_step_greedy chose through the screen, steps that needed the full
 * product, and rows the screened choices computed exactly. */
void dec_ctx_choices(const dec_ctx *c, long long *screened, long long *full,
		     long long *exact_rows);

/* The n-gram repetition guard (MODEL.md §8), see generate.c for the exact
 * rules. window > 0: the official vLLM processor (seq = generated tokens
 * only), ids in whitelist never banned; window == 0: HF no_repeat_ngram_size
 * over seq = the whole sequence (prompt + generated). Writes the banned ids
 * sorted ascending without duplicates and returns their count, or -1 if more
 * than max_banned (len entries always suffice). */
int dec_ngram_banned(const int32_t *seq, int len, int n, int window, const int32_t *whitelist,
		     int n_whitelist, int32_t *banned, int max_banned);

/* ---- several sequences at once (batch.c, MODEL.md §12) ----
 *
 * Batch invariance: each row of dec_step_batch is computed with the
 * arithmetic of dec_step on its context alone, in the same order (the same
 * kernels on the same numbers); only the weights are read once for all the
 * rows, a routed expert once for all the rows routed to it. A sequence's
 * logits and ids are therefore bit-identical whatever else is in the batch
 * and whatever its size. */
typedef struct dec_batch dec_batch;
/* Scratch for steps of up to max_rows rows (1..4096), allocated once. */
ocr2_status dec_batch_new(const dec_model *m, int max_rows, ocr2_pool *pool, dec_batch **out);
void dec_batch_free(dec_batch *b);
int dec_batch_max(const dec_batch *b);
/* ctx[i] (n distinct contexts of b's model) takes ids[i] at its next
 * position, and next[i] is the choice dec_step_greedy with banned[i] (nb[i]
 * ids; nb NULL: none) would make. A row that cannot step (an id outside the
 * vocabulary, a full context) gets its failure in st[i] and next[i] = -1,
 * and the other rows go on: st[i] is OCR2_OK for them. Fails as a whole
 * only for n outside 1..dec_batch_max. No allocation. */
ocr2_status dec_step_batch(dec_batch *b, dec_ctx *const *ctx, int n, const int32_t *ids,
			   const int32_t *const *banned, const int *nb, int32_t *next,
			   ocr2_status *st);
/* The logits [rows, vocab] of the last step's rows that stepped, in order,
 * before any ban: every row computes them in full (dec_step's numbers). */
const float *dec_batch_logits(const dec_batch *b);

typedef struct {
	int max_tokens;              /* <= 0: until the context is full */
	int ngram, ngram_window;     /* ngram 0 = off; window 0 with !whole_sequence = off too */
	int whole_sequence;          /* HF variant: the guard also sees the prompt, no window */
	const int32_t *whitelist;    /* never banned: <td>, </td> ids (vLLM) */
	int n_whitelist;
	volatile int *cancel;        /* polled before each token; raised -> OCR2_ERR_INTERRUPTED */
	void (*on_token)(void *user, int32_t id, int n_generated);
	void *user;
	float *first_logits;         /* if not NULL, receives the prefill logits [vocab] */
} dec_gen_params;

/* One sequence's greedy generation a token at a time: dec_generate is the
 * loop over it; the batched pipeline steps several together. p (and what it
 * points to) must outlive g. */
typedef struct dec_gen dec_gen;
/* Prefills c with the prompt from the cache's current length and takes the
 * first token from the prefill's logits (or ends at once: EOS, no room). */
ocr2_status dec_gen_start(dec_ctx *c, const int32_t *prompt, int n_prompt, const float *img,
			  int n_img, const dec_gen_params *p, dec_gen **out);
/* Ended: EOS chosen, max_tokens or the context reached, or failed. */
bool dec_gen_done(const dec_gen *g);
/* OCR2_OK, or why it failed (also OCR2_ERR_INTERRUPTED when cancelled). */
ocr2_status dec_gen_status(const dec_gen *g);
int dec_gen_count(const dec_gen *g); /* tokens generated so far */
dec_ctx *dec_gen_ctx(const dec_gen *g);
/* One more token for g alone (dec_step_greedy). Returns its status. */
ocr2_status dec_gen_step(dec_gen *g);
/* One more token for each of g[0..n) not yet ended, together through b
 * (dec_step_batch, in pieces of dec_batch_max rows): the same tokens as
 * dec_gen_step on each. A sequence that fails or is cancelled ends with its
 * own status; the others go on. */
void dec_gen_step_batch(dec_batch *b, dec_gen *const *g, int n);
/* Hands over the generated ids (*out malloc'd, also when empty; EOS
 * excluded) and whether EOS ended them, and frees g. Returns g's status
 * (then *out is NULL). */
ocr2_status dec_gen_finish(dec_gen *g, int32_t **out, int *n_out, bool *hit_eos);
void dec_gen_free(dec_gen *g);

/* Greedy decoding (argmax after the ban; ties -> lowest id, as torch.argmax)
 * to EOS, max_tokens or a full context. *out (malloc'd, also when empty)
 * excludes EOS; *hit_eos false means truncated. Prefills from the cache's
 * current length (normally 0). */
ocr2_status dec_generate(dec_ctx *c, const int32_t *prompt, int n_prompt, const float *img,
			 int n_img, const dec_gen_params *p, int32_t **out, int *n_out,
			 bool *hit_eos);

#endif
