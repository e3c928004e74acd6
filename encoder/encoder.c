/* encoder.c - DeepEncoder V2 assembly: binds and shape-checks the encoder
 * tensors, precomputes the per-view position tables, and turns one image
 * into its embedding sequence (MODEL.md §4.3, §4.4). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "compute/kernels.h"
#include "encoder.h"

/* ---- binding ------------------------------------------------------------------ */

static ocr2_status bind(const ocr2_weights *w, const ocr2_tensor **t, const char *name, int nd,
			int d0, int d1, int d2, int d3)
{
	switch (nd) {
	case 1: return ocr2_weights_expect(w, t, name, d0, -1);
	case 2: return ocr2_weights_expect(w, t, name, d0, d1, -1);
	case 3: return ocr2_weights_expect(w, t, name, d0, d1, d2, -1);
	default: return ocr2_weights_expect(w, t, name, d0, d1, d2, d3, -1);
	}
}

/* A small 1-D tensor widened to a malloc'd f32 copy. */
static ocr2_status vec(const ocr2_weights *w, float **dst, const char *name, int n)
{
	const ocr2_tensor *t;
	ocr2_status st = bind(w, &t, name, 1, n, 0, 0, 0);
	if (st)
		return st;
	if (!(*dst = ocr2_tensor_to_f32(t)))
		return ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory loading %s", name);
	return OCR2_OK;
}

/* ---- load-time resizes -------------------------------------------------------- */

static float cubic(float x) /* Keys, a = -0.5 */
{
	const float a = -0.5f;
	x = fabsf(x);
	if (x < 1)
		return ((a + 2) * x - (a + 3)) * x * x + 1;
	if (x < 2)
		return (((x - 5) * x + 8) * x - 4) * a;
	return 0;
}

/* One axis of torch's antialiased bicubic (align_corners=False): out[o] =
 * sum_t wt[o][t] * in[first[o] + t]; wt is [out][ksize]. MODEL.md §4.1.2.
 * Computed in float32 step by step as torch's CPU kernel does (its weights
 * then agree to ~2e-7; double precision would differ by ~2e-6). */
static int aa_weights(int in, int out, int **first, int **count, float **wt)
{
	float scale = (float)in / (float)out, support = 2.0f * (scale >= 1 ? scale : 1);
	float inv = scale >= 1 ? 1.0f / scale : 1.0f;
	int ksize = (int)ceilf(support) * 2 + 1;
	*first = malloc((size_t)out * sizeof **first);
	*count = malloc((size_t)out * sizeof **count);
	*wt = calloc((size_t)out * ksize, sizeof **wt);
	if (!*first || !*count || !*wt)
		return 0;
	for (int o = 0; o < out; o++) {
		float center = scale * ((float)o + 0.5f), sum = 0;
		int lo = (int)(center - support + 0.5f), hi = (int)(center + support + 0.5f);
		if (lo < 0)
			lo = 0;
		if (hi > in)
			hi = in;
		if (hi - lo > ksize)
			hi = lo + ksize;
		float *w = *wt + (size_t)o * ksize;
		for (int t = lo; t < hi; t++)
			sum += w[t - lo] = cubic(((float)t - center + 0.5f) * inv);
		for (int t = 0; t < hi - lo; t++)
			if (sum != 0)
				w[t] /= sum;
		(*first)[o] = lo;
		(*count)[o] = hi - lo;
	}
	return ksize;
}

/* pos [Gi, Gi, C] -> [Go, Go, C]: width pass, then height pass, in f32. */
static float *resize_pos(const float *pos, int Gi, int Go, int C)
{
	int *first = NULL, *count = NULL;
	float *wt = NULL, *tmp = malloc((size_t)Gi * Go * C * sizeof *tmp);
	float *out = calloc((size_t)Go * Go * C, sizeof *out);
	int ks = aa_weights(Gi, Go, &first, &count, &wt);
	if (!ks || !tmp || !out) {
		free(out);
		out = NULL;
		goto done;
	}
	memset(tmp, 0, (size_t)Gi * Go * C * sizeof *tmp);
	for (int y = 0; y < Gi; y++)
		for (int ox = 0; ox < Go; ox++)
			for (int t = 0; t < count[ox]; t++) {
				float wv = wt[(size_t)ox * ks + t];
				const float *s = pos + ((size_t)y * Gi + first[ox] + t) * C;
				float *d = tmp + ((size_t)y * Go + ox) * C;
				for (int c = 0; c < C; c++)
					d[c] += wv * s[c];
			}
	for (int oy = 0; oy < Go; oy++)
		for (int t = 0; t < count[oy]; t++) {
			float wv = wt[(size_t)oy * ks + t];
			const float *s = tmp + (size_t)(first[oy] + t) * Go * C;
			float *d = out + (size_t)oy * Go * C;
			for (size_t i = 0; i < (size_t)Go * C; i++)
				d[i] += wv * s[i];
		}
done:
	free(first);
	free(count);
	free(wt);
	free(tmp);
	return out;
}

/* A rel-pos table [Li, d] resized to [Lo, d] by torch's linear interpolation
 * (align_corners=False); a copy when Li == Lo. As torch's CPU kernel: the
 * scale in float32, the source index in double, the lambdas in float32, the
 * blend in double (bit-identical to torch 1.13 in a check of 127 -> 95). */
static float *resize_rel(const ocr2_tensor *t, int Lo)
{
	int Li = (int)t->shape[0], d = (int)t->shape[1];
	float *src = ocr2_tensor_to_f32(t), *out;
	if (!src || Li == Lo)
		return src;
	if (!(out = malloc((size_t)Lo * d * sizeof *out))) {
		free(src);
		return NULL;
	}
	double scale = (float)Li / (float)Lo;
	for (int o = 0; o < Lo; o++) {
		double s = scale * (o + 0.5) - 0.5;
		if (s < 0)
			s = 0;
		int i0 = (int)s, i1 = i0 + (i0 < Li - 1);
		float l1 = (float)(s - i0), l0 = 1.0f - l1;
		for (int c = 0; c < d; c++)
			out[(size_t)o * d + c] = (float)((double)l0 * src[(size_t)i0 * d + c] +
							 (double)l1 * src[(size_t)i1 * d + c]);
	}
	free(src);
	return out;
}

/* ---- load / free -------------------------------------------------------------- */

int enc_view_index(const enc_model *m, int S)
{
	return S == m->c.base_size ? 0 : S == m->c.tile_size ? 1 : -1;
}

void enc_free(enc_model *m)
{
	if (!m)
		return;
	free(m->patch_b);
	free(m->pos[0]);
	free(m->pos[1]);
	for (int l = 0; l < ENC_MAX_SAM_LAYERS; l++) {
		enc_sam_block *b = &m->sam[l];
		free(b->n1w);
		free(b->n1b);
		free(b->n2w);
		free(b->n2b);
		free(b->qkv_b);
		free(b->proj_b);
		free(b->lin1_b);
		free(b->lin2_b);
		for (int v = 0; v < 2; v++) {
			free(b->rel_h[v]);
			free(b->rel_w[v]);
		}
	}
	free(m->neck1_w);
	free(m->neck1_b);
	free(m->neck3_w);
	free(m->neck3_b);
	for (int l = 0; l < ENC_MAX_FLOW_LAYERS; l++) {
		enc_flow_layer *L = &m->flow[l];
		free(L->in_norm);
		free(L->post_norm);
		free(L->q_b);
		free(L->k_b);
		free(L->v_b);
	}
	free(m->flow_norm);
	free(m->query_1024);
	free(m->query_768);
	free(m->proj_b);
	free(m->view_sep);
	free(m);
}

static bool is_global(const ocr2_config *c, int l)
{
	for (int i = 0; i < c->sam_n_global; i++)
		if (c->sam_global[i] == l)
			return true;
	return false;
}

#define NAME(...) (snprintf(nm, sizeof nm, __VA_ARGS__), nm)
#define TRY(x)                                                                            \
	do {                                                                              \
		if ((st = (x)) != OCR2_OK)                                                \
			goto fail;                                                        \
	} while (0)

static ocr2_status load_sam(enc_model *m, const ocr2_weights *w)
{
	const ocr2_config *c = &m->c;
	char nm[256];
	ocr2_status st = OCR2_OK;
	int W = c->sam_width, hd = W / c->sam_heads, P = c->patch, Cn = c->sam_neck;
	int Gb = c->base_size / P, Gt = c->tile_size / P;
	const char *s = "model.sam_model.";
	const ocr2_tensor *t;
	TRY(bind(w, &m->patch_w, NAME("%spatch_embed.proj.weight", s), 4, W, 3, P, P));
	TRY(vec(w, &m->patch_b, NAME("%spatch_embed.proj.bias", s), W));
	TRY(bind(w, &t, NAME("%spos_embed", s), 4, 1, Gb, Gb, W));
	if (!(m->pos[0] = ocr2_tensor_to_f32(t)) || !(m->pos[1] = resize_pos(m->pos[0], Gb, Gt, W)))
		goto nomem;
	for (int l = 0; l < c->sam_layers; l++) {
		enc_sam_block *b = &m->sam[l];
		b->global = is_global(c, l);
		TRY(vec(w, &b->n1w, NAME("%sblocks.%d.norm1.weight", s, l), W));
		TRY(vec(w, &b->n1b, NAME("%sblocks.%d.norm1.bias", s, l), W));
		TRY(vec(w, &b->n2w, NAME("%sblocks.%d.norm2.weight", s, l), W));
		TRY(vec(w, &b->n2b, NAME("%sblocks.%d.norm2.bias", s, l), W));
		TRY(bind(w, &b->qkv, NAME("%sblocks.%d.attn.qkv.weight", s, l), 2, 3 * W, W, 0, 0));
		TRY(vec(w, &b->qkv_b, NAME("%sblocks.%d.attn.qkv.bias", s, l), 3 * W));
		TRY(bind(w, &b->proj, NAME("%sblocks.%d.attn.proj.weight", s, l), 2, W, W, 0, 0));
		TRY(vec(w, &b->proj_b, NAME("%sblocks.%d.attn.proj.bias", s, l), W));
		TRY(bind(w, &b->lin1, NAME("%sblocks.%d.mlp.lin1.weight", s, l), 2, c->sam_mlp, W,
			 0, 0));
		TRY(vec(w, &b->lin1_b, NAME("%sblocks.%d.mlp.lin1.bias", s, l), c->sam_mlp));
		TRY(bind(w, &b->lin2, NAME("%sblocks.%d.mlp.lin2.weight", s, l), 2, W, c->sam_mlp,
			 0, 0));
		TRY(vec(w, &b->lin2_b, NAME("%sblocks.%d.mlp.lin2.bias", s, l), W));
		/* Stored sizes: 2*64-1 for global blocks (pretrained at 1024), 2*window-1
		 * otherwise; get_rel_pos resizes linearly to 2*side-1 when they differ. */
		int R = b->global ? 2 * Gb - 1 : 2 * c->sam_window - 1;
		const ocr2_tensor *rh, *rw;
		TRY(bind(w, &rh, NAME("%sblocks.%d.attn.rel_pos_h", s, l), 2, R, hd, 0, 0));
		TRY(bind(w, &rw, NAME("%sblocks.%d.attn.rel_pos_w", s, l), 2, R, hd, 0, 0));
		for (int v = 0; v < 2; v++) {
			int side = b->global ? (v ? Gt : Gb) : c->sam_window;
			b->rel_k[v] = side;
			if (!(b->rel_h[v] = resize_rel(rh, 2 * side - 1)) ||
			    !(b->rel_w[v] = resize_rel(rw, 2 * side - 1)))
				goto nomem;
		}
	}
	TRY(bind(w, &m->neck0, NAME("%sneck.0.weight", s), 4, Cn, W, 1, 1));
	TRY(vec(w, &m->neck1_w, NAME("%sneck.1.weight", s), Cn));
	TRY(vec(w, &m->neck1_b, NAME("%sneck.1.bias", s), Cn));
	TRY(bind(w, &m->neck2, NAME("%sneck.2.weight", s), 4, Cn, Cn, 3, 3));
	TRY(vec(w, &m->neck3_w, NAME("%sneck.3.weight", s), Cn));
	TRY(vec(w, &m->neck3_b, NAME("%sneck.3.bias", s), Cn));
	TRY(bind(w, &m->net2, NAME("%snet_2.weight", s), 4, c->sam_net2, Cn, 3, 3));
	TRY(bind(w, &m->net3, NAME("%snet_3.weight", s), 4, c->enc_hidden, c->sam_net2, 3, 3));
	return OCR2_OK;
nomem:
	st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory loading SAM");
fail:
	return st;
}

static ocr2_status load_flow(enc_model *m, const ocr2_weights *w)
{
	const ocr2_config *c = &m->c;
	char nm[256];
	ocr2_status st = OCR2_OK;
	int E = c->enc_hidden, ffn = c->enc_intermediate, kvd = c->enc_kv_heads * (E / c->enc_heads);
	const char *q = "model.qwen2_model.model.model.";
	for (int l = 0; l < c->enc_layers; l++) {
		enc_flow_layer *L = &m->flow[l];
		TRY(vec(w, &L->in_norm, NAME("%slayers.%d.input_layernorm.weight", q, l), E));
		TRY(vec(w, &L->post_norm, NAME("%slayers.%d.post_attention_layernorm.weight", q, l),
			E));
		TRY(bind(w, &L->q, NAME("%slayers.%d.self_attn.q_proj.weight", q, l), 2, E, E, 0, 0));
		TRY(vec(w, &L->q_b, NAME("%slayers.%d.self_attn.q_proj.bias", q, l), E));
		TRY(bind(w, &L->k, NAME("%slayers.%d.self_attn.k_proj.weight", q, l), 2, kvd, E, 0,
			 0));
		TRY(vec(w, &L->k_b, NAME("%slayers.%d.self_attn.k_proj.bias", q, l), kvd));
		TRY(bind(w, &L->v, NAME("%slayers.%d.self_attn.v_proj.weight", q, l), 2, kvd, E, 0,
			 0));
		TRY(vec(w, &L->v_b, NAME("%slayers.%d.self_attn.v_proj.bias", q, l), kvd));
		TRY(bind(w, &L->o, NAME("%slayers.%d.self_attn.o_proj.weight", q, l), 2, E, E, 0, 0));
		TRY(bind(w, &L->gate, NAME("%slayers.%d.mlp.gate_proj.weight", q, l), 2, ffn, E, 0, 0));
		TRY(bind(w, &L->up, NAME("%slayers.%d.mlp.up_proj.weight", q, l), 2, ffn, E, 0, 0));
		TRY(bind(w, &L->down, NAME("%slayers.%d.mlp.down_proj.weight", q, l), 2, E, ffn, 0, 0));
	}
	TRY(vec(w, &m->flow_norm, NAME("%snorm.weight", q), E));
	int nb = c->base_size / c->patch / 4, nt = c->tile_size / c->patch / 4;
	const ocr2_tensor *t;
	TRY(bind(w, &t, "model.qwen2_model.query_1024.weight", 2, nb * nb, E, 0, 0));
	if (!(m->query_1024 = ocr2_tensor_to_f32(t)))
		goto nomem;
	TRY(bind(w, &t, "model.qwen2_model.query_768.weight", 2, nt * nt, E, 0, 0));
	if (!(m->query_768 = ocr2_tensor_to_f32(t)))
		goto nomem;
	TRY(bind(w, &m->proj_w, "model.projector.layers.weight", 2, c->hidden, E, 0, 0));
	TRY(vec(w, &m->proj_b, "model.projector.layers.bias", c->hidden));
	TRY(vec(w, &m->view_sep, "model.view_seperator", c->hidden));
	return OCR2_OK;
nomem:
	st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory loading the flow encoder");
fail:
	return st;
}

ocr2_status enc_load(const ocr2_weights *w, const ocr2_config *c, enc_model **out)
{
	*out = NULL;
	/* The view sizes must give whole patches, whole 4x-compressed tokens,
	 * and the query tables are sized from them. */
	if (c->sam_layers > ENC_MAX_SAM_LAYERS || c->enc_layers > ENC_MAX_FLOW_LAYERS ||
	    c->patch <= 0 || c->base_size % (4 * c->patch) || c->tile_size % (4 * c->patch) ||
	    c->sam_width % c->sam_heads || c->enc_hidden % c->enc_heads ||
	    c->enc_heads % c->enc_kv_heads || (c->enc_hidden / c->enc_heads) % 2 ||
	    c->sam_window <= 0)
		return ocr2_fail(OCR2_ERR_MODEL, "encoder: unsupported encoder dimensions");
	enc_model *m = calloc(1, sizeof *m);
	if (!m)
		return ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory");
	m->c = *c;
	ocr2_status st = load_sam(m, w);
	if (!st)
		st = load_flow(m, w);
	if (st) {
		enc_free(m);
		return st;
	}
	*out = m;
	return OCR2_OK;
}

/* ---- projector and the whole image -------------------------------------------- */

void enc_project(enc_model *m, ocr2_pool *pool, const float *x, int N, float *out)
{
	ocr2_linear_vision(pool, x, N, m->c.enc_hidden, m->proj_w, m->proj_b, out); /* [N, hidden] */
}

/* One view: u8 RGB S x S -> [N, hidden] rows of dst. */
static ocr2_status encode_view(enc_model *m, ocr2_pool *pool, const uint8_t *rgb, int S,
			       float *dst)
{
	int N = (S / m->c.patch / 4) * (S / m->c.patch / 4), E = m->c.enc_hidden;
	float *chw = malloc((size_t)3 * S * S * sizeof *chw);
	float *tok = malloc((size_t)N * E * sizeof *tok), *q = malloc((size_t)N * E * sizeof *q);
	ocr2_status st;
	if (!chw || !tok || !q)
		st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (view)");
	else {
		enc_normalize(rgb, S, chw);
		st = enc_sam(m, pool, chw, S, tok);
		if (!st)
			st = enc_flow(m, pool, tok, N, q);
		if (!st)
			enc_project(m, pool, q, N, dst);
	}
	free(chw);
	free(tok);
	free(q);
	return st;
}

ocr2_status enc_image(enc_model *m, ocr2_pool *pool, const ocr2_image *img, bool no_crop,
		      float **emb, int *n_emb)
{
	*emb = NULL;
	*n_emb = 0;
	enc_views v;
	ocr2_status st = enc_make_views(img, &m->c, no_crop, &v);
	if (st)
		return st;
	int S = m->c.base_size, T = m->c.tile_size, H = m->c.hidden;
	int nb = (S / m->c.patch / 4) * (S / m->c.patch / 4);
	int nt = (T / m->c.patch / 4) * (T / m->c.patch / 4);
	int n = v.n_crops * nt + nb + 1;
	float *e = malloc((size_t)n * H * sizeof *e);
	if (!e) {
		enc_views_free(&v);
		return ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (%d embeddings)", n);
	}
	/* [crop_0 .. crop_{k-1}, global, view_seperator] (MODEL.md §4.4) */
	for (int t = 0; t < v.n_crops && !st; t++)
		st = encode_view(m, pool, v.crops + (size_t)t * T * T * 3, T,
				 e + (size_t)t * nt * H);
	if (!st)
		st = encode_view(m, pool, v.global, S, e + (size_t)v.n_crops * nt * H);
	enc_views_free(&v);
	if (st) {
		free(e);
		return st;
	}
	memcpy(e + (size_t)(n - 1) * H, m->view_sep, (size_t)H * sizeof *e);
	*emb = e;
	*n_emb = n;
	return OCR2_OK;
}
