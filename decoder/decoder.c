/* decoder.c - the MoE language model (MODEL.md §5): weights bound from the
 * checkpoint, a context holding the KV cache and scratch, prefill and step.
 *
 *   ids ──embed_tokens──┐  (rows with the image token id take the encoder's
 *   img rows ───────────┴─ vectors in order, MODEL.md §6)
 *        x [n, H]
 *   for each layer:
 *        h = x + o_proj(attn(rope(q), rope(k), v))      over cache + new, causal
 *        x = h + ffn(rmsnorm(h))                         dense SwiGLU (layer <
 *                                                        first_k_dense) or MoE:
 *            softmax router → top-k experts → Σ p_e · expert_e + shared experts
 *   logits = lm_head(rmsnorm(x[last]))
 *   (dec_step_greedy: only the argmax, through lm_head's 8-bit screen when
 *   it has one, lib/compute/screen.c; the same token as the full logits give)
 *
 * All activations are f32; the big matrices stay in the mmap in their stored
 * dtype and go through ocr2_linear (MODEL.md §0.1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#undef I /* cblas.h brings complex.h; I is a dimension here */
#include <stdatomic.h>

#include "base/error.h"
#include "compute/kernels.h"
#include "compute/screen.h"
#include "model/model.h"
#include "model/tensors.h"
#include "decoder.h"
#include "state.h"

/* ---- loading ------------------------------------------------------------- */

static void free_layer(dec_layer *L)
{
	free(L->ln_in);
	free(L->ln_post);
	free(L->router_w);
	free(L->e_gate);
	free(L->e_up);
	free(L->e_down);
}

void dec_free(dec_model *m)
{
	if (!m)
		return;
	if (m->layers)
		for (int l = 0; l < m->cfg.n_layers; l++)
			free_layer(&m->layers[l]);
	free(m->layers);
	free(m->norm);
	ocr2_screen_free(m->screen);
	free(m);
}

void dec_prepare(dec_model *m, ocr2_pool *pool)
{
	const char *e = getenv("OCR2_LM_HEAD");
	if (m->screen || (e && !strcmp(e, "full")))
		return;
	m->screen = ocr2_screen_new(m->lm_head, pool);
}

size_t dec_screen_bytes(const dec_model *m)
{
	return ocr2_screen_bytes(m->screen);
}

/* Binds a 1-D norm weight (family f of model/tensors.h at layer l) and
 * converts it to f32. */
static ocr2_status load_vec(const ocr2_weights *w, const ocr2_config *c, ocr2_tensor_family f,
			    int l, float **out)
{
	const ocr2_tensor *t;
	ocr2_status s = ocr2_tensor_bind(w, c, f, l, 0, &t);
	if (s != OCR2_OK)
		return s;
	*out = ocr2_tensor_to_f32(t);
	return *out ? OCR2_OK : ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", t->name);
}

static ocr2_status load_layer(const ocr2_weights *w, const ocr2_config *c, int l, dec_layer *L)
{
	ocr2_status s;
#define BIND(f, out) ocr2_tensor_bind(w, c, OCR2_TF_##f, l, 0, out)
#define TRY(x) do { if ((s = (x)) != OCR2_OK) return s; } while (0)
	TRY(BIND(LM_Q, &L->wq));
	TRY(BIND(LM_K, &L->wk));
	TRY(BIND(LM_V, &L->wv));
	TRY(BIND(LM_O, &L->wo));
	TRY(load_vec(w, c, OCR2_TF_LM_IN_NORM, l, &L->ln_in));
	TRY(load_vec(w, c, OCR2_TF_LM_POST_NORM, l, &L->ln_post));
	L->moe = l >= c->first_k_dense;
	if (!L->moe) {
		TRY(BIND(LM_GATE, &L->gate));
		TRY(BIND(LM_UP, &L->up));
		TRY(BIND(LM_DOWN, &L->down));
		return OCR2_OK;
	}
	int E = c->n_experts, H = c->hidden, SI = c->moe_intermediate * c->n_shared_experts;
	const ocr2_tensor *g;
	TRY(BIND(LM_ROUTER, &g));
	/* The reference computes the router in f32 from an f32 copy of the weight. */
	L->router_w = ocr2_tensor_to_f32(g);
	if (!L->router_w)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", g->name);
	L->router = (ocr2_tensor){.name = g->name, .dtype = OCR2_DT_F32, .ndim = 2,
				  .shape = {E, H}, .nelem = (int64_t)E * H, .data = L->router_w,
				  .nbytes = (size_t)E * H * sizeof(float)};
	if (SI > 0) {
		TRY(BIND(LM_SHARED_GATE, &L->sh_gate));
		TRY(BIND(LM_SHARED_UP, &L->sh_up));
		TRY(BIND(LM_SHARED_DOWN, &L->sh_down));
	}
	L->e_gate = calloc((size_t)E, sizeof *L->e_gate);
	L->e_up = calloc((size_t)E, sizeof *L->e_up);
	L->e_down = calloc((size_t)E, sizeof *L->e_down);
	if (!L->e_gate || !L->e_up || !L->e_down)
		return ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
	for (int e = 0; e < E; e++) {
		TRY(ocr2_tensor_bind(w, c, OCR2_TF_LM_EXPERT_GATE, l, e, &L->e_gate[e]));
		TRY(ocr2_tensor_bind(w, c, OCR2_TF_LM_EXPERT_UP, l, e, &L->e_up[e]));
		TRY(ocr2_tensor_bind(w, c, OCR2_TF_LM_EXPERT_DOWN, l, e, &L->e_down[e]));
	}
	return OCR2_OK;
#undef BIND
#undef TRY
}

ocr2_status dec_load(const ocr2_weights *w, const ocr2_config *c, dec_model **out)
{
	*out = NULL;
	if (c->hidden <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
	    c->head_dim <= 0 || c->head_dim % 2 || c->head_dim > 512 ||
	    c->n_heads % c->n_kv_heads || c->vocab <= 0 || c->n_experts_per_tok < 0 ||
	    (c->first_k_dense < c->n_layers &&
	     (c->n_experts <= 0 || c->n_experts_per_tok > c->n_experts || c->moe_intermediate <= 0)))
		return ocr2_fail(OCR2_ERR_MODEL, "config: inconsistent language-model dimensions");
	dec_model *m = calloc(1, sizeof *m);
	if (!m)
		return ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
	m->cfg = *c;
	m->q_dim = c->n_heads * c->head_dim;
	m->kv_dim = c->n_kv_heads * c->head_dim;
	int fm = c->intermediate;
	if (c->moe_intermediate * c->n_shared_experts > fm)
		fm = c->moe_intermediate * c->n_shared_experts;
	if (c->moe_intermediate > fm)
		fm = c->moe_intermediate;
	m->ffn_max = fm;
	ocr2_status s;
	if ((s = ocr2_tensor_bind(w, c, OCR2_TF_LM_EMBED, 0, 0, &m->embed)) != OCR2_OK ||
	    (s = ocr2_tensor_bind(w, c, OCR2_TF_LM_HEAD, 0, 0, &m->lm_head)) != OCR2_OK ||
	    (s = load_vec(w, c, OCR2_TF_LM_NORM, 0, &m->norm)) != OCR2_OK)
		goto fail;
	m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
	if (!m->layers) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
		goto fail;
	}
	for (int l = 0; l < c->n_layers; l++)
		if ((s = load_layer(w, c, l, &m->layers[l])) != OCR2_OK)
			goto fail;
	*out = m;
	return OCR2_OK;
fail:
	dec_free(m);
	return s;
}

/* ---- context ------------------------------------------------------------- */

void dec_ctx_free(dec_ctx *c)
{
	if (!c)
		return;
	ocr2_free_huge(c->kc, c->kv_bytes);
	ocr2_free_huge(c->vc, c->kv_bytes);
	free(c->x);
	free(c->xn);
	free(c->q);
	free(c->att);
	free(c->kn);
	free(c->vn);
	free(c->tmp);
	free(c->g);
	free(c->u);
	free(c->rl);
	free(c->rope);
	free(c->top);
	free(c->topw);
	free(c->etok);
	free(c->ew);
	free(c->erows);
	free(c->eout);
	free(c->eoff);
	free(c->eg);
	free(c->eu);
	free(c->wbuf);
	free((void *)c->wbusy);
	free(c->scores);
	free(c->sbuf);
	free(c);
}

/* Makes the row scratch hold n rows. Called once by dec_ctx_new (n = 1) and
 * by prefill when a longer prompt arrives; never in the per-token loop. */
ocr2_status dec_reserve(dec_ctx *c, int n)
{
	if (n <= c->cap)
		return OCR2_OK;
	const dec_model *m = c->m;
	const ocr2_config *cf = &m->cfg;
	size_t N = (size_t)n, H = (size_t)cf->hidden, k = (size_t)(cf->n_experts_per_tok > 0 ?
								   cf->n_experts_per_tok : 1);
	size_t E = (size_t)(cf->n_experts > 0 ? cf->n_experts : 1);
#define GROW(p, cnt) do { void *t_ = realloc((p), (cnt) * sizeof *(p)); \
		if (!t_) return ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory for %d rows", n); \
		(p) = t_; } while (0)
	GROW(c->x, N * H);
	GROW(c->xn, N * H);
	GROW(c->q, N * (size_t)m->q_dim);
	GROW(c->att, N * (size_t)m->q_dim);
	GROW(c->kn, N * (size_t)m->kv_dim);
	GROW(c->vn, N * (size_t)m->kv_dim);
	GROW(c->tmp, N * H);
	GROW(c->g, N * (size_t)m->ffn_max);
	GROW(c->u, N * (size_t)m->ffn_max);
	GROW(c->rl, N * E);
	GROW(c->rope, N * (size_t)cf->head_dim);
	GROW(c->top, N * k);
	GROW(c->topw, N * k);
	size_t I = (size_t)(cf->moe_intermediate > 0 ? cf->moe_intermediate : 1);
	GROW(c->etok, N * k);
	GROW(c->ew, N * k);
	GROW(c->erows, N * k * H);
	GROW(c->eout, N * k * H);
	GROW(c->eg, N * k * I);
	GROW(c->eu, N * k * I);
#undef GROW
	c->cap = n;
	return OCR2_OK;
}

/* The rows of scratch moe_one_row needs (K routed + shared experts' rows in
 * g, u and eout): reserved from the start, so that every decode step takes
 * that path whatever the prompt's length, with the same arithmetic. */
static int one_row_cap(const dec_model *m)
{
	const ocr2_config *cf = &m->cfg;
	int K = cf->n_experts_per_tok, I = cf->moe_intermediate;
	int Is = cf->moe_intermediate * cf->n_shared_experts, fm = m->ffn_max > 0 ? m->ffn_max : 1;
	int need = K + 1, by_ffn = (K * I + Is + fm - 1) / fm;
	return need > by_ffn ? need : by_ffn;
}

void dec_set_kv_bf16(dec_model *m, bool on)
{
	m->kv_bf16 = on;
}

size_t dec_kv_bytes_per_pos(const dec_model *m)
{
	return 2 * (size_t)m->cfg.n_layers * m->kv_dim * (m->kv_bf16 ? 2 : sizeof(float));
}

ocr2_status dec_ctx_new(const dec_model *m, int max_ctx, ocr2_pool *pool, dec_ctx **out)
{
	*out = NULL;
	if (max_ctx <= 0 || max_ctx > m->cfg.max_pos)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: context size %d outside 1..%d", max_ctx,
				 m->cfg.max_pos);
	dec_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory");
	c->m = m;
	c->pool = pool;
	c->max_ctx = max_ctx;
	c->kv_bf16 = m->kv_bf16;
	c->kv_bytes = dec_kv_bytes_per_pos(m) / 2 * max_ctx;
	c->kc = ocr2_alloc_huge(c->kv_bytes); /* read whole for every token */
	c->vc = ocr2_alloc_huge(c->kv_bytes);
	/* Each attention work item owns one score row; items = heads × blocks. */
	c->att_blocks = 2 * ocr2_pool_size(pool);
	c->scores = malloc((size_t)m->cfg.n_heads * c->att_blocks * max_ctx * sizeof(float));
	ocr2_status s = OCR2_OK;
	if (m->screen)
		c->sbuf = malloc(ocr2_screen_scratch_bytes(m->screen));
	if (!c->kc || !c->vc || !c->scores || (m->screen && !c->sbuf))
		s = ocr2_fail(OCR2_ERR_NOMEM, "decoder: out of memory for a %d-position KV cache",
			      max_ctx);
	else
		s = dec_reserve(c, one_row_cap(m));
	if (s != OCR2_OK) {
		dec_ctx_free(c);
		return s;
	}
	*out = c;
	return OCR2_OK;
}

void dec_ctx_reset(dec_ctx *c)
{
	c->len = 0;
}

void dec_ctx_profile(dec_ctx *c, double *sec)
{
	c->prof = sec;
}

void dec_lap(dec_ctx *c, int i, double *t)
{
	if (!c->prof)
		return;
	double now = ocr2_now();
	c->prof[i] += now - *t;
	*t = now;
}

void dec_ctx_trace(dec_ctx *c, dec_trace_fn fn, void *user)
{
	c->trace = fn;
	c->trace_user = user;
}

ocr2_status dec_ctx_copy(dec_ctx *dst, const dec_ctx *src, int len)
{
	const dec_model *m = src->m;
	if (dst->m != m || dst->kv_bf16 != src->kv_bf16 || len < 0 || len > src->len ||
	    dst->max_ctx < len)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: cannot copy %d positions of a cache", len);
	size_t es = src->kv_bf16 ? 2 : sizeof(float); /* bytes per element */
	size_t hd = (size_t)m->cfg.head_dim, n = (size_t)len * hd * es;
	for (int l = 0; l < m->cfg.n_layers; l++)
		for (int h = 0; h < m->cfg.n_kv_heads; h++) {
			size_t a = (size_t)l * dst->max_ctx * m->kv_dim + (size_t)h * dst->max_ctx * hd;
			size_t b = (size_t)l * src->max_ctx * m->kv_dim + (size_t)h * src->max_ctx * hd;
			memcpy((char *)dst->kc + a * es, (const char *)src->kc + b * es, n);
			memcpy((char *)dst->vc + a * es, (const char *)src->vc + b * es, n);
		}
	dst->len = len;
	return OCR2_OK;
}

int dec_ctx_len(const dec_ctx *c)
{
	return c->len;
}

/* ---- attention ------------------------------------------------------------- */

typedef struct {
	dec_ctx *c;
	int l;                            /* layer */
	int n, p0;                        /* new rows, position of the first */
	int nb;                           /* query blocks per head */
} att_job;

void dec_cache_put(dec_ctx *c, int l, int pos, const float *k, const float *v)
{
	const dec_model *m = c->m;
	size_t hd = (size_t)m->cfg.head_dim;
	size_t layer = (size_t)l * c->max_ctx * m->kv_dim;
	for (int h = 0; h < m->cfg.n_kv_heads; h++) {
		size_t at = layer + ((size_t)h * c->max_ctx + pos) * hd;
		const float *kh = k + (size_t)h * hd, *vh = v + (size_t)h * hd;
		if (c->kv_bf16) {
			uint16_t *kb = (uint16_t *)c->kc + at, *vb = (uint16_t *)c->vc + at;
			for (size_t i = 0; i < hd; i++) {
				kb[i] = ocr2_f32_to_bf16(kh[i]);
				vb[i] = ocr2_f32_to_bf16(vh[i]);
			}
		} else {
			memcpy((float *)c->kc + at, kh, hd * sizeof(float));
			memcpy((float *)c->vc + at, vh, hd * sizeof(float));
		}
	}
}

void dec_attend_head(const dec_ctx *c, int l, int h, const float *q, int pos, float *s,
		     float *o)
{
	const dec_model *m = c->m;
	const ocr2_config *cf = &m->cfg;
	int hd = cf->head_dim, kvh = h / (cf->n_heads / cf->n_kv_heads);
	size_t layer = (size_t)c->max_ctx * m->kv_dim, at = (size_t)l * layer + (size_t)kvh * c->max_ctx * hd;
	float scale = 1.0f / sqrtf((float)hd);
	if (c->kv_bf16)
		ocr2_attend_bf16(q, (const uint16_t *)c->kc + at, (const uint16_t *)c->vc + at, pos + 1,
				 hd, scale, s, o);
	else
		ocr2_attend(q, (const float *)c->kc + at, (const float *)c->vc + at, pos + 1, hd, scale,
			    s, o);
}

/* Item i = (head, block): the block handles query rows r ≡ block (mod blocks),
 * interleaved so the causal triangle's work spreads evenly. Each head's keys
 * and values are contiguous in the cache, one stream each. */
static void att_part(void *arg, int i, int n_items)
{
	(void)n_items;
	const att_job *j = arg;
	const dec_model *m = j->c->m;
	int nb = j->nb, h = i / nb, b = i % nb, hd = m->cfg.head_dim;
	float *s = j->c->scores + (size_t)i * j->c->max_ctx;
	for (int r = b; r < j->n; r += nb) /* causal: 0..p0+r */
		dec_attend_head(j->c, j->l, h, j->c->q + (size_t)r * m->q_dim + (size_t)h * hd,
				j->p0 + r, s, j->c->att + (size_t)r * m->q_dim + (size_t)h * hd);
}

/* xn [n, H] → tmp [n, H]; appends k, v at positions p0.. of layer l's cache. */
static void attention(dec_ctx *c, int l, int n, int p0)
{
	const dec_model *m = c->m;
	const ocr2_config *cf = &m->cfg;
	const dec_layer *L = &m->layers[l];
	int H = cf->hidden, hd = cf->head_dim;
	if (n == 1) { /* decode: one job for the three products */
		ocr2_gemv_task t[3] = {{L->wq, c->xn, c->q, 1}, {L->wk, c->xn, c->kn, 1},
				       {L->wv, c->xn, c->vn, 1}};
		ocr2_gemv_batch(c->pool, t, 3);
	} else {
		ocr2_linear(c->pool, c->xn, n, H, L->wq, NULL, c->q);   /* [n, q_dim] */
		ocr2_linear(c->pool, c->xn, n, H, L->wk, NULL, c->kn);  /* [n, kv_dim] */
		ocr2_linear(c->pool, c->xn, n, H, L->wv, NULL, c->vn);  /* [n, kv_dim] */
	}
	ocr2_rope_apply(c->q, n, cf->n_heads, hd, c->rope);
	ocr2_rope_apply(c->kn, n, cf->n_kv_heads, hd, c->rope);
	for (int r = 0; r < n; r++)
		dec_cache_put(c, l, p0 + r, c->kn + (size_t)r * m->kv_dim,
			      c->vn + (size_t)r * m->kv_dim);
	int nb = n < c->att_blocks ? n : c->att_blocks;
	att_job j = {c, l, n, p0, nb};
	ocr2_pool_run(c->pool, att_part, &j, cf->n_heads * nb);
	ocr2_linear(c->pool, c->att, n, m->q_dim, L->wo, NULL, c->tmp); /* [n, H] */
}

/* ---- feed-forward ------------------------------------------------------------ */

/* y [n, H] = down(silu(gate(x)) * up(x)), through the g/u scratch. */
static void swiglu(dec_ctx *c, const float *x, int n, const ocr2_tensor *gate,
		   const ocr2_tensor *up, const ocr2_tensor *down, float *y)
{
	int H = c->m->cfg.hidden, I = (int)gate->shape[0];
	if (n == 1) {
		ocr2_gemv_task t[2] = {{gate, x, c->g, 1}, {up, x, c->u, 1}};
		ocr2_gemv_batch_glu(c->pool, t, 1);
	} else {
		ocr2_linear(c->pool, x, n, H, gate, NULL, c->g); /* [n, I] */
		ocr2_linear(c->pool, x, n, H, up, NULL, c->u);   /* [n, I] */
		ocr2_silu_mul(c->pool, c->g, c->u, n * I);
	}
	ocr2_linear(c->pool, c->g, n, I, down, NULL, y); /* [n, H] */
}

/* Top-k of p[0..E) by value; ties go to the lower expert index (the first
 * maximum found scanning upward). torch.topk leaves tie order unspecified;
 * with continuous router logits exact ties do not occur in practice. */
static void topk(const float *p, int E, int k, int *idx, float *val)
{
	for (int j = 0; j < k; j++) {
		int best = -1;
		for (int e = 0; e < E; e++) {
			bool used = false;
			for (int i = 0; i < j; i++)
				used |= idx[i] == e;
			if (used)
				continue;
			if (best < 0 || p[e] > p[best])
				best = e;
		}
		idx[j] = best;
		val[j] = p[best];
	}
}

void dec_moe_sum(const ocr2_config *cf, const int *top, const float *topw,
		 const float *const *out, const float *shared, float *dst)
{
	int H = cf->hidden, K = cf->n_experts_per_tok;
	memset(dst, 0, (size_t)H * sizeof *dst);
	for (int e = 0; e < cf->n_experts; e++)
		for (int j = 0; j < K; j++)
			if (top[j] == e) {
				const float *o = out[j];
				float w = topw[j];
				for (int d = 0; d < H; d++)
					dst[d] += w * o[d];
			}
	if (shared)
		for (int d = 0; d < H; d++)
			dst[d] += shared[d];
}

/* Decode (one row, already routed): the K routed experts and the shared one
 * in two batched jobs (gate+up with silu, then down) instead of 3(K+1). Sums in the
 * same order as the general path (experts by index, then the shared one), so
 * both give identical results. False when the scratch is too small. */
static bool moe_one_row(dec_ctx *c, const dec_layer *L)
{
	const ocr2_config *cf = &c->m->cfg;
	int H = cf->hidden, K = cf->n_experts_per_tok, I = cf->moe_intermediate;
	int Is = L->sh_gate ? (int)L->sh_gate->shape[0] : 0;
	if (K > 64 || (size_t)c->cap * c->m->ffn_max < (size_t)K * I + Is || c->cap < K + 1)
		return false;
	ocr2_gemv_task t[2 * 64 + 2];
	int n = 0;
	for (int j = 0; j < K; j++) {
		int e = c->top[j];
		t[n++] = (ocr2_gemv_task){L->e_gate[e], c->xn, c->g + (size_t)j * I, 1};
		t[n++] = (ocr2_gemv_task){L->e_up[e], c->xn, c->u + (size_t)j * I, 1};
	}
	if (Is) {
		t[n++] = (ocr2_gemv_task){L->sh_gate, c->xn, c->g + (size_t)K * I, 1};
		t[n++] = (ocr2_gemv_task){L->sh_up, c->xn, c->u + (size_t)K * I, 1};
	}
	ocr2_gemv_batch_glu(c->pool, t, n / 2);
	n = 0;
	for (int j = 0; j < K; j++)
		t[n++] = (ocr2_gemv_task){L->e_down[c->top[j]], c->g + (size_t)j * I,
					  c->eout + (size_t)j * H, 1};
	if (Is)
		t[n++] = (ocr2_gemv_task){L->sh_down, c->g + (size_t)K * I, c->eout + (size_t)K * H, 1};
	ocr2_gemv_batch(c->pool, t, n);
	const float *out[64];
	for (int j = 0; j < K; j++)
		out[j] = c->eout + (size_t)j * H;
	dec_moe_sum(cf, c->top, c->topw, out, Is ? c->eout + (size_t)K * H : NULL, c->tmp);
	return true;
}

/* Prefill, one expert after another, each product threaded by OpenBLAS: the
 * fallback when the parallel path's scratch cannot be had. */
static void moe_experts_serial(dec_ctx *c, const dec_layer *L, int n)
{
	const ocr2_config *cf = &c->m->cfg;
	int H = cf->hidden, E = cf->n_experts, K = cf->n_experts_per_tok;
	for (int e = 0; e < E; e++) {
		int cnt = 0;
		for (int t = 0; t < n; t++)
			for (int j = 0; j < K; j++)
				if (c->top[(size_t)t * K + j] == e) {
					c->etok[cnt] = t;
					c->ew[cnt++] = c->topw[(size_t)t * K + j];
				}
		if (!cnt)
			continue;
		for (int i = 0; i < cnt; i++)
			memcpy(c->erows + (size_t)i * H, c->xn + (size_t)c->etok[i] * H,
			       (size_t)H * sizeof(float));
		swiglu(c, c->erows, cnt, L->e_gate[e], L->e_up[e], L->e_down[e], c->eout);
		for (int i = 0; i < cnt; i++) {
			float *y = c->tmp + (size_t)c->etok[i] * H;
			const float *o = c->eout + (size_t)i * H;
			float w = c->ew[i];
			for (int d = 0; d < H; d++)
				y[d] += w * o[d];
		}
	}
}

#define MAX_EXPERTS 256

typedef struct {
	dec_ctx *c;
	const dec_layer *L;
	int order[MAX_EXPERTS]; /* experts with rows, most rows first */
} experts_job;

/* A weight matrix as f32: the tensor itself, or widened into dst. */
static const float *as_f32(const ocr2_tensor *t, float *dst)
{
	if (t->dtype == OCR2_DT_F32)
		return t->data;
	ocr2_tensor_rows_f32(t, 0, t->shape[0], dst);
	return dst;
}

/* One expert over all its rows, on one thread with single-threaded sgemm. */
static void expert_item(void *arg, int i, int n_items)
{
	(void)n_items;
	experts_job *j = arg;
	dec_ctx *c = j->c;
	const ocr2_config *cf = &c->m->cfg;
	int H = cf->hidden, I = cf->moe_intermediate, e = j->order[i];
	int r0 = c->eoff[e], cnt = c->eoff[e + 1] - r0, slots = ocr2_pool_size(c->pool), s = 0;
	for (;; s = (s + 1) % slots) { /* at most `slots` items run at once */
		int none = 0;
		if (atomic_compare_exchange_strong(&c->wbusy[s], &none, 1))
			break;
	}
	float *wb = c->wbuf + (size_t)s * 3 * I * H;
	const float *x = c->erows + (size_t)r0 * H;
	float *g = c->eg + (size_t)r0 * I, *u = c->eu + (size_t)r0 * I;
	const float *wg = as_f32(j->L->e_gate[e], wb);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt, I, H, 1.0f, x, H, wg, H, 0.0f, g,
		    I);
	const float *wu = as_f32(j->L->e_up[e], wb + (size_t)I * H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt, I, H, 1.0f, x, H, wu, H, 0.0f, u,
		    I);
	ocr2_silu_mul(NULL, g, u, cnt * I);
	const float *wd = as_f32(j->L->e_down[e], wb + (size_t)2 * I * H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cnt, H, I, 1.0f, g, I, wd, I, 0.0f,
		    c->eout + (size_t)r0 * H, H);
	atomic_store(&c->wbusy[s], 0);
}

/* Prefill: the routed rows grouped by expert, the experts spread over the
 * threads (each one's products are too small to split well), then summed into
 * tmp in expert order as the serial path does. False when the per-thread
 * scratch cannot be allocated. */
static bool moe_experts_parallel(dec_ctx *c, const dec_layer *L, int n)
{
	const ocr2_config *cf = &c->m->cfg;
	int H = cf->hidden, E = cf->n_experts, K = cf->n_experts_per_tok, I = cf->moe_intermediate;
	int slots = ocr2_pool_size(c->pool);
	if (E > MAX_EXPERTS)
		return false;
	for (int e = 0; e < E; e++)
		if (L->e_gate[e]->shape[0] != I || L->e_down[e]->shape[1] != I)
			return false;
	if (!c->wbuf) {
		c->wbuf = malloc((size_t)slots * 3 * I * H * sizeof *c->wbuf);
		c->wbusy = calloc((size_t)slots, sizeof *c->wbusy);
		c->eoff = malloc((size_t)(E + 1) * sizeof *c->eoff);
		if (!c->wbuf || !c->wbusy || !c->eoff) {
			free(c->wbuf);
			free((void *)c->wbusy);
			free(c->eoff);
			c->wbuf = NULL;
			c->wbusy = NULL;
			c->eoff = NULL;
			return false;
		}
	}
	/* counting sort of the n*K routed rows by expert, tokens ascending */
	for (int e = 0; e <= E; e++)
		c->eoff[e] = 0;
	for (int i = 0; i < n * K; i++)
		c->eoff[c->top[i] + 1]++;
	for (int e = 0; e < E; e++)
		c->eoff[e + 1] += c->eoff[e];
	for (int t = 0; t < n; t++) /* eoff[e] walks to the end of e's rows */
		for (int j = 0; j < K; j++) {
			int e = c->top[(size_t)t * K + j], r = c->eoff[e]++;
			c->etok[r] = t;
			c->ew[r] = c->topw[(size_t)t * K + j];
			memcpy(c->erows + (size_t)r * H, c->xn + (size_t)t * H, (size_t)H * sizeof(float));
		}
	for (int e = E; e > 0; e--) /* back to starts */
		c->eoff[e] = c->eoff[e - 1];
	c->eoff[0] = 0;
	experts_job j = {c, L, {0}};
	int items = 0;
	for (int e = 0; e < E; e++)
		if (c->eoff[e + 1] > c->eoff[e])
			j.order[items++] = e;
	for (int a = 1; a < items; a++) { /* most rows first: balances the threads */
		int e = j.order[a], b = a, rows = c->eoff[e + 1] - c->eoff[e];
		for (; b > 0 && c->eoff[j.order[b - 1] + 1] - c->eoff[j.order[b - 1]] < rows; b--)
			j.order[b] = j.order[b - 1];
		j.order[b] = e;
	}
	ocr2_pool_run_blas(c->pool, expert_item, &j, items);
	for (int r = 0; r < c->eoff[E]; r++) {
		float *y = c->tmp + (size_t)c->etok[r] * H;
		const float *o = c->eout + (size_t)r * H;
		float w = c->ew[r];
		for (int d = 0; d < H; d++)
			y[d] += w * o[d];
	}
	return true;
}

void dec_route(dec_ctx *c, int n)
{
	const ocr2_config *cf = &c->m->cfg;
	int E = cf->n_experts, K = cf->n_experts_per_tok;
	for (int t = 0; t < n; t++) { /* softmax over all experts */
		float *p = c->rl + (size_t)t * E;
		ocr2_softmax(p, E);
		int *idx = c->top + (size_t)t * K;
		float *w = c->topw + (size_t)t * K;
		topk(p, E, K, idx, w);
		float sum = 0;
		for (int j = 0; j < K; j++)
			sum += w[j];
		/* HF MoEGate: renormalise only when top_k > 1 and norm_topk_prob
		 * (dividing by sum + 1e-20); the published config has neither. */
		bool norm = K > 1 && cf->norm_topk_prob;
		for (int j = 0; j < K; j++)
			w[j] = (norm ? w[j] / (sum + 1e-20f) : w[j]) * cf->routed_scaling;
	}
}

/* MODEL.md §5 MoE: xn [n, H] → tmp [n, H]. Each expert runs once over the rows
 * routed to it (gathered), its output scattered back with the router weight. */
static void moe(dec_ctx *c, const dec_layer *L, int n)
{
	const ocr2_config *cf = &c->m->cfg;
	int H = cf->hidden;
	ocr2_linear(c->pool, c->xn, n, H, &L->router, NULL, c->rl); /* router in f32: [n, E] */
	dec_route(c, n);
	if (n == 1 && moe_one_row(c, L))
		return;
	memset(c->tmp, 0, (size_t)n * H * sizeof *c->tmp);
	if (!moe_experts_parallel(c, L, n))
		moe_experts_serial(c, L, n);
	if (L->sh_gate) {
		swiglu(c, c->xn, n, L->sh_gate, L->sh_up, L->sh_down, c->eout);
		for (size_t i = 0; i < (size_t)n * H; i++)
			c->tmp[i] += c->eout[i];
	}
}

/* ---- forward ------------------------------------------------------------------- */

/* Runs c->x [n, H] (already embedded) through every layer at positions len..,
 * appends to the cache and writes the last row's logits. */
/* False (the cache unchanged) when c->cancel was raised between two layers
 * of a prefill; a single step is short and runs whole. */
static bool forward(dec_ctx *c, int n, float *logits)
{
	const dec_model *m = c->m;
	const ocr2_config *cf = &m->cfg;
	int H = cf->hidden, p0 = c->len;
	size_t nh = (size_t)n * H;
	double t = c->prof ? ocr2_now() : 0;
	ocr2_rope_angles(p0, n, cf->head_dim, cf->rope_theta, c->rope); /* for every layer */
	if (c->trace)
		c->trace(c->trace_user, 0, c->x, n, H);
	for (int l = 0; l < cf->n_layers; l++) {
		const dec_layer *L = &m->layers[l];
		if (n > 1 && c->cancel && *c->cancel)
			return false;
		ocr2_rmsnorm(c->pool, c->xn, c->x, L->ln_in, n, H, cf->rms_eps);
		dec_lap(c, DEC_PROF_OTHER, &t);
		attention(c, l, n, p0);
		for (size_t i = 0; i < nh; i++)
			c->x[i] += c->tmp[i];
		ocr2_rmsnorm(c->pool, c->xn, c->x, L->ln_post, n, H, cf->rms_eps);
		dec_lap(c, DEC_PROF_ATTENTION, &t);
		if (L->moe)
			moe(c, L, n);
		else
			swiglu(c, c->xn, n, L->gate, L->up, L->down, c->tmp);
		for (size_t i = 0; i < nh; i++)
			c->x[i] += c->tmp[i];
		dec_lap(c, DEC_PROF_FFN, &t);
		if (c->trace)
			c->trace(c->trace_user, l + 1, c->x, n, H);
	}
	c->len += n;
	const float *last = c->x + (size_t)(n - 1) * H;
	ocr2_rmsnorm(c->pool, c->xn, last, m->norm, 1, H, cf->rms_eps);
	dec_lap(c, DEC_PROF_OTHER, &t);
	if (!logits) /* the caller chooses from c->xn itself */
		return true;
	ocr2_linear(c->pool, c->xn, 1, H, m->lm_head, NULL, logits); /* [vocab] */
	dec_lap(c, DEC_PROF_LM_HEAD, &t);
	return true;
}

void dec_ctx_cancel(dec_ctx *c, volatile int *cancel)
{
	c->cancel = cancel;
}

ocr2_status dec_prefill(dec_ctx *c, const int32_t *ids, int n, const float *img, int n_img,
			float *logits)
{
	const ocr2_config *cf = &c->m->cfg;
	int H = cf->hidden;
	if (n <= 0)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: empty prompt");
	if (n > c->max_ctx - c->len)
		return ocr2_fail(OCR2_ERR_INVALID,
				 "decoder: %d prompt tokens do not fit the context (%d of %d used)",
				 n, c->len, c->max_ctx);
	int want = 0;
	for (int i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= cf->vocab)
			return ocr2_fail(OCR2_ERR_INVALID, "decoder: token id %d outside 0..%d",
					 (int)ids[i], cf->vocab - 1);
		want += ids[i] == cf->image_token_id;
	}
	if (want != n_img || (n_img > 0 && !img))
		return ocr2_fail(OCR2_ERR_INVALID,
				 "decoder: prompt has %d image tokens but %d image embeddings", want,
				 n_img);
	ocr2_status s = dec_reserve(c, n);
	if (s != OCR2_OK)
		return s;
	/* MODEL.md §6: image rows replace the placeholders in order */
	int j = 0;
	for (int i = 0; i < n; i++) {
		float *x = c->x + (size_t)i * H;
		if (ids[i] == cf->image_token_id)
			memcpy(x, img + (size_t)j++ * H, (size_t)H * sizeof *x);
		else
			ocr2_tensor_rows_f32(c->m->embed, ids[i], ids[i] + 1, x);
	}
	if (!forward(c, n, logits))
		return ocr2_fail(OCR2_ERR_INTERRUPTED, "decoder: cancelled");
	return OCR2_OK;
}

static ocr2_status step_check(const dec_ctx *c, int32_t id)
{
	const ocr2_config *cf = &c->m->cfg;
	if (id < 0 || id >= cf->vocab)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: token id %d outside 0..%d", (int)id,
				 cf->vocab - 1);
	if (c->len >= c->max_ctx)
		return ocr2_fail(OCR2_ERR_INVALID, "decoder: context of %d positions is full",
				 c->max_ctx);
	return OCR2_OK;
}

ocr2_status dec_step(dec_ctx *c, int32_t id, float *logits)
{
	ocr2_status s = step_check(c, id);
	if (s != OCR2_OK)
		return s;
	ocr2_tensor_rows_f32(c->m->embed, id, id + 1, c->x);
	forward(c, 1, logits);
	return OCR2_OK;
}

/* torch.argmax: the first index of the maximum (NaN counts as the maximum,
 * as in torch). Two passes without a loop-carried index, which the compiler
 * vectorizes: 0.12 ms for 129280 logits instead of 0.56 with the one-pass
 * loop (4 % of a q8 decode step). */
int32_t dec_argmax(const float *x, int n)
{
	float m = -INFINITY;
	int nan = 0;
	for (int i = 0; i < n; i++) {
		m = x[i] > m ? x[i] : m;
		nan |= x[i] != x[i];
	}
	for (int i = 0; i < n; i++)
		if (nan ? x[i] != x[i] : x[i] == m)
			return i;
	return 0;
}

void dec_ban(float *logits, int vocab, const int32_t *banned, int nb)
{
	for (int i = 0; i < nb; i++)
		if (banned[i] >= 0 && banned[i] < vocab)
			logits[banned[i]] = -INFINITY;
}

ocr2_status dec_step_greedy(dec_ctx *c, int32_t id, const int32_t *banned, int nb,
			    float *logits, int32_t *next)
{
	const dec_model *m = c->m;
	/* a context made before dec_prepare has no scratch for the screen */
	const ocr2_screen *scr = c->sbuf ? m->screen : NULL;
	ocr2_status s = step_check(c, id);
	if (s != OCR2_OK)
		return s;
	ocr2_tensor_rows_f32(m->embed, id, id + 1, c->x);
	forward(c, 1, scr ? NULL : logits);
	if (scr) {
		double t = c->prof ? ocr2_now() : 0;
		int n_exact = 0;
		int32_t t_id = ocr2_screen_argmax(scr, c->pool, c->xn, banned, nb, c->sbuf, &n_exact);
		if (t_id >= 0) {
			c->n_screened++;
			c->n_exact += n_exact;
			*next = t_id;
			dec_lap(c, DEC_PROF_LM_HEAD, &t);
			return OCR2_OK;
		}
		/* undecided: the full product, as without a screen */
		c->n_full++;
		ocr2_linear(c->pool, c->xn, 1, m->cfg.hidden, m->lm_head, NULL, logits);
		dec_lap(c, DEC_PROF_LM_HEAD, &t);
	}
	dec_ban(logits, m->cfg.vocab, banned, nb);
	*next = dec_argmax(logits, m->cfg.vocab);
	return OCR2_OK;
}

void dec_ctx_choices(const dec_ctx *c, long long *screened, long long *full,
		     long long *exact_rows)
{
	*screened = c->n_screened;
	*full = c->n_full;
	*exact_rows = c->n_exact;
}

int dec_vocab(const dec_ctx *c)
{
	return c->m->cfg.vocab;
}

int dec_ctx_max(const dec_ctx *c)
{
	return c->max_ctx;
}

int dec_eos(const dec_ctx *c)
{
	return c->m->cfg.eos_id;
}
