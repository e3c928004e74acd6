/* batch.c - one decode step for several sequences at once (decoder.h,
 * "several sequences"): the rows of different pages, each with its own KV
 * cache and position, go through every layer together, so that a weight
 * matrix is read from memory once per step for all of them; a routed expert
 * once for all the rows routed to it.
 *
 * Batch invariance. Each row gets exactly the arithmetic dec_step gives its
 * context alone: the same kernels (ocr2_gemv_batch tasks with rows > 1 run
 * the one-row kernel on each row, kernels.h), the same per-row norms, RoPE
 * and attention (dec_attend_head), the same routing (dec_route) and the same
 * order of the expert sum (dec_moe_sum). Nothing sums across rows, so a
 * row's numbers cannot depend on the others, nor on how many there are.
 * tests/decoder/test-batch.c checks it bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "compute/kernels.h"
#include "state.h"

struct dec_batch {
	const dec_model *m;
	ocr2_pool *pool;
	int max;
	dec_ctx *s;            /* row scratch for max rows (its cache unused) */
	float *logits;         /* [max, vocab] */
	float *shout;          /* [max, H] the shared experts' output */
	dec_ctx **ctx;         /* [max] this step's rows */
	int *pos;              /* [max] their positions */
	int32_t *ids;          /* [max] */
	int *slot;             /* [max * K] row r's j-th expert: its row in erows */
	int *eoff;             /* [n_experts + 1] */
	ocr2_gemv_task *tasks; /* [2 * (n_experts + 1)] */
	float *keep;           /* the banned logits' values while a row chooses */
	int keep_cap;
};

void dec_batch_free(dec_batch *b)
{
	if (!b)
		return;
	dec_ctx_free(b->s);
	free(b->logits);
	free(b->shout);
	free(b->ctx);
	free(b->pos);
	free(b->ids);
	free(b->slot);
	free(b->eoff);
	free(b->tasks);
	free(b->keep);
	free(b);
}

ocr2_status dec_batch_new(const dec_model *m, int max_rows, ocr2_pool *pool, dec_batch **out)
{
	*out = NULL;
	const ocr2_config *cf = &m->cfg;
	if (max_rows < 1 || max_rows > 4096)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: batch of %d rows outside 1..4096",
				 max_rows);
	dec_batch *b = calloc(1, sizeof *b);
	if (!b)
		return ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
	b->m = m;
	b->pool = pool;
	b->max = max_rows;
	size_t n = (size_t)max_rows, K = (size_t)(cf->n_experts_per_tok > 0 ? cf->n_experts_per_tok : 1);
	size_t E = (size_t)(cf->n_experts > 0 ? cf->n_experts : 1);
	ocr2_status s = dec_ctx_new(m, 1, pool, &b->s);
	if (s == OCR2_OK)
		s = dec_reserve(b->s, max_rows);
	if (s != OCR2_OK) {
		dec_batch_free(b);
		return s;
	}
	b->logits = malloc(n * (size_t)cf->vocab * sizeof *b->logits);
	b->shout = malloc(n * (size_t)cf->hidden * sizeof *b->shout);
	b->ctx = calloc(n, sizeof *b->ctx);
	b->pos = malloc(n * sizeof *b->pos);
	b->ids = malloc(n * sizeof *b->ids);
	b->slot = malloc(n * K * sizeof *b->slot);
	b->eoff = malloc((E + 1) * sizeof *b->eoff);
	b->tasks = malloc(2 * (E + 1) * sizeof *b->tasks);
	if (!b->logits || !b->shout || !b->ctx || !b->pos || !b->ids || !b->slot || !b->eoff ||
	    !b->tasks) {
		dec_batch_free(b);
		return ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory for a batch of %d rows",
				 max_rows);
	}
	*out = b;
	return OCR2_OK;
}

int dec_batch_max(const dec_batch *b)
{
	return b->max;
}

const float *dec_batch_logits(const dec_batch *b)
{
	return b->logits;
}

/* ---- attention ------------------------------------------------------------- */

typedef struct {
	dec_batch *b;
	int l, n;
} att_job;

/* Item i = (row, head), against that row's own cache. */
static void att_item(void *arg, int i, int n_items)
{
	(void)n_items;
	const att_job *j = arg;
	const dec_model *m = j->b->m;
	int H = m->cfg.n_heads, hd = m->cfg.head_dim, r = i / H, h = i % H;
	const dec_ctx *c = j->b->ctx[r];
	const dec_ctx *s = j->b->s;
	float *sc = c->scores + (size_t)h * c->max_ctx; /* the row's context owns it */
	size_t at = (size_t)r * m->q_dim + (size_t)h * hd;
	dec_attend_head(c, j->l, h, s->q + at, j->b->pos[r], sc, s->att + at);
}

static void attention(dec_batch *b, int l, int n)
{
	const dec_model *m = b->m;
	const ocr2_config *cf = &m->cfg;
	const dec_layer *L = &m->layers[l];
	dec_ctx *s = b->s;
	int hd = cf->head_dim;
	ocr2_gemv_task t[3] = {{L->wq, s->xn, s->q, n}, {L->wk, s->xn, s->kn, n},
			       {L->wv, s->xn, s->vn, n}};
	ocr2_gemv_batch(b->pool, t, 3);
	ocr2_rope_apply(s->q, n, cf->n_heads, hd, s->rope);
	ocr2_rope_apply(s->kn, n, cf->n_kv_heads, hd, s->rope);
	for (int r = 0; r < n; r++)
		dec_cache_put(b->ctx[r], l, b->pos[r], s->kn + (size_t)r * m->kv_dim,
			      s->vn + (size_t)r * m->kv_dim);
	att_job j = {b, l, n};
	ocr2_pool_run(b->pool, att_item, &j, n * cf->n_heads);
	ocr2_gemv_task o = {L->wo, s->att, s->tmp, n};
	ocr2_gemv_batch(b->pool, &o, 1);
}

/* ---- feed-forward ------------------------------------------------------------ */

static void dense(dec_batch *b, const dec_layer *L, int n)
{
	dec_ctx *s = b->s;
	ocr2_gemv_task t[2] = {{L->gate, s->xn, s->g, n}, {L->up, s->xn, s->u, n}};
	ocr2_gemv_batch_glu(b->pool, t, 1);
	ocr2_gemv_task d = {L->down, s->g, s->tmp, n};
	ocr2_gemv_batch(b->pool, &d, 1);
}

/* The rows grouped by expert (rows ascending within one), each used expert
 * a task of its rows, the shared expert one of all rows; then each row's sum
 * in dec_moe_sum's order. */
static void moe(dec_batch *b, const dec_layer *L, int n)
{
	const ocr2_config *cf = &b->m->cfg;
	dec_ctx *s = b->s;
	int H = cf->hidden, E = cf->n_experts, K = cf->n_experts_per_tok, I = cf->moe_intermediate;
	int Is = L->sh_gate ? (int)L->sh_gate->shape[0] : 0;
	ocr2_gemv_task r = {&L->router, s->xn, s->rl, n};
	ocr2_gemv_batch(b->pool, &r, 1);
	dec_route(s, n);
	int *off = b->eoff;
	for (int e = 0; e <= E; e++)
		off[e] = 0;
	for (int i = 0; i < n * K; i++)
		off[s->top[i] + 1]++;
	for (int e = 0; e < E; e++)
		off[e + 1] += off[e];
	for (int t = 0; t < n; t++) /* off[e] walks to the end of e's rows */
		for (int j = 0; j < K; j++) {
			int e = s->top[(size_t)t * K + j], at = off[e]++;
			b->slot[(size_t)t * K + j] = at;
			memcpy(s->erows + (size_t)at * H, s->xn + (size_t)t * H, (size_t)H * sizeof(float));
		}
	for (int e = E; e > 0; e--) /* back to starts */
		off[e] = off[e - 1];
	off[0] = 0;
	ocr2_gemv_task *t = b->tasks;
	int nt = 0;
	for (int e = 0; e < E; e++) {
		int cnt = off[e + 1] - off[e];
		if (!cnt)
			continue;
		const float *x = s->erows + (size_t)off[e] * H;
		t[nt++] = (ocr2_gemv_task){L->e_gate[e], x, s->eg + (size_t)off[e] * I, cnt};
		t[nt++] = (ocr2_gemv_task){L->e_up[e], x, s->eu + (size_t)off[e] * I, cnt};
	}
	if (Is) {
		t[nt++] = (ocr2_gemv_task){L->sh_gate, s->xn, s->g, n};
		t[nt++] = (ocr2_gemv_task){L->sh_up, s->xn, s->u, n};
	}
	ocr2_gemv_batch_glu(b->pool, t, nt / 2);
	nt = 0;
	for (int e = 0; e < E; e++) {
		int cnt = off[e + 1] - off[e];
		if (cnt)
			t[nt++] = (ocr2_gemv_task){L->e_down[e], s->eg + (size_t)off[e] * I,
						   s->eout + (size_t)off[e] * H, cnt};
	}
	if (Is)
		t[nt++] = (ocr2_gemv_task){L->sh_down, s->g, b->shout, n};
	ocr2_gemv_batch(b->pool, t, nt);
	for (int row = 0; row < n; row++) {
		const float *out[64];
		for (int j = 0; j < K; j++)
			out[j] = s->eout + (size_t)b->slot[(size_t)row * K + j] * H;
		dec_moe_sum(cf, s->top + (size_t)row * K, s->topw + (size_t)row * K, out,
			    Is ? b->shout + (size_t)row * H : NULL, s->tmp + (size_t)row * H);
	}
}

/* ---- the step ------------------------------------------------------------------ */

static ocr2_status row_check(const dec_model *m, const dec_ctx *c, int32_t id)
{
	if (c->m != m)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: a context of another model");
	if (id < 0 || id >= m->cfg.vocab)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: token id %d outside 0..%d", (int)id,
				 m->cfg.vocab - 1);
	if (c->len >= c->max_ctx)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: context of %d positions is full",
				 c->max_ctx);
	return OCR2_OK;
}

ocr2_status dec_step_batch(dec_batch *b, dec_ctx *const *ctx, int n, const int32_t *ids,
			   const int32_t *const *banned, const int *nb, int32_t *next,
			   ocr2_status *st)
{
	const dec_model *m = b->m;
	const ocr2_config *cf = &m->cfg;
	int H = cf->hidden, V = cf->vocab;
	if (n < 1 || n > b->max)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: %d rows for a batch of %d", n, b->max);
	if (m->cfg.n_experts_per_tok > 64)
		return ocr2_fail(OCR2_ERR_MODEL, "decoder: more than 64 experts per token");
	/* the rows that can step, in order; the others keep their status */
	int k = 0;
	int at[4096];
	for (int i = 0; i < n; i++) {
		next[i] = -1;
		st[i] = row_check(m, ctx[i], ids[i]);
		if (st[i] != OCR2_OK)
			continue;
		for (int p = 0; p < k; p++)
			if (b->ctx[p] == ctx[i])
				st[i] = ocr2_fail(OCR2_ERR_INVALID, "decoder: one context twice in a step");
		if (st[i] != OCR2_OK)
			continue;
		b->ctx[k] = ctx[i];
		b->pos[k] = ctx[i]->len;
		b->ids[k] = ids[i];
		at[k++] = i;
	}
	if (!k)
		return OCR2_OK;
	dec_ctx *s = b->s;
	for (int r = 0; r < k; r++) {
		ocr2_tensor_rows_f32(m->embed, b->ids[r], b->ids[r] + 1, s->x + (size_t)r * H);
		ocr2_rope_angles(b->pos[r], 1, cf->head_dim, cf->rope_theta,
				 s->rope + (size_t)r * cf->head_dim);
	}
	size_t nh = (size_t)k * H;
	for (int l = 0; l < cf->n_layers; l++) {
		const dec_layer *L = &m->layers[l];
		ocr2_rmsnorm(b->pool, s->xn, s->x, L->ln_in, k, H, cf->rms_eps);
		attention(b, l, k);
		for (size_t i = 0; i < nh; i++)
			s->x[i] += s->tmp[i];
		ocr2_rmsnorm(b->pool, s->xn, s->x, L->ln_post, k, H, cf->rms_eps);
		if (L->moe)
			moe(b, L, k);
		else
			dense(b, L, k);
		for (size_t i = 0; i < nh; i++)
			s->x[i] += s->tmp[i];
	}
	for (int r = 0; r < k; r++)
		b->ctx[r]->len++;
	ocr2_rmsnorm(b->pool, s->xn, s->x, m->norm, k, H, cf->rms_eps);
	ocr2_gemv_task lm = {m->lm_head, s->xn, b->logits, k};
	ocr2_gemv_batch(b->pool, &lm, 1);
	for (int r = 0; r < k; r++) {
		int i = at[r], nbi = nb && banned ? nb[i] : 0;
		const int32_t *ban = nbi ? banned[i] : NULL;
		float *lg = b->logits + (size_t)r * V;
		/* the ban goes on the logits, which then get their banned entries
		 * back: dec_batch_logits shows the product as computed */
		if (nbi > b->keep_cap) {
			float *t = realloc(b->keep, (size_t)nbi * sizeof *t);
			if (!t) {
				st[i] = ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
				continue;
			}
			b->keep = t;
			b->keep_cap = nbi;
		}
		for (int q = 0; q < nbi; q++)
			b->keep[q] = ban[q] >= 0 && ban[q] < V ? lg[ban[q]] : 0;
		dec_ban(lg, V, ban, nbi);
		next[i] = dec_argmax(lg, V);
		for (int q = nbi - 1; q >= 0; q--) /* backwards: a repeated id gets its first value */
			if (ban[q] >= 0 && ban[q] < V)
				lg[ban[q]] = b->keep[q];
	}
	return OCR2_OK;
}
