/* encoder.c - DeepEncoder V2 assembly: binds and shape-checks the encoder
 * tensors (by family, through the table of model/tensors.h), precomputes the
 * per-view position tables, and turns one image into its embedding sequence
 * (MODEL.md §4.3, §4.4). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "compute/kernels.h"
#include "encoder.h"
#include "model/tensors.h"

/* ---- binding ------------------------------------------------------------------ */

/* Tensor family f (model/tensors.h) of layer l, checked against the table. */
static ocr2_status bind(const ocr2_weights *w, const ocr2_config *c, const ocr2_tensor **t,
			ocr2_tensor_family f, int l)
{
	return ocr2_tensor_bind(w, c, f, l, 0, t);
}

/* A small 1-D tensor widened to a malloc'd f32 copy. */
static ocr2_status vec(const ocr2_weights *w, const ocr2_config *c, float **dst,
		       ocr2_tensor_family f, int l)
{
	const ocr2_tensor *t;
	ocr2_status st = bind(w, c, &t, f, l);
	if (st)
		return st;
	if (!(*dst = ocr2_tensor_to_f32(t)))
		return ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory loading %s", t->name);
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

#define TRY(x)                                                                            \
	do {                                                                              \
		if ((st = (x)) != OCR2_OK)                                                \
			goto fail;                                                        \
	} while (0)

static ocr2_status load_sam(enc_model *m, const ocr2_weights *w)
{
	const ocr2_config *c = &m->c;
	ocr2_status st = OCR2_OK;
	int W = c->sam_width, Gb = c->base_size / c->patch, Gt = c->tile_size / c->patch;
	const ocr2_tensor *t;
	TRY(bind(w, c, &m->patch_w, OCR2_TF_SAM_PATCH_W, 0));
	TRY(vec(w, c, &m->patch_b, OCR2_TF_SAM_PATCH_B, 0));
	TRY(bind(w, c, &t, OCR2_TF_SAM_POS, 0));
	if (!(m->pos[0] = ocr2_tensor_to_f32(t)) || !(m->pos[1] = resize_pos(m->pos[0], Gb, Gt, W)))
		goto nomem;
	for (int l = 0; l < c->sam_layers; l++) {
		enc_sam_block *b = &m->sam[l];
		b->global = ocr2_sam_block_global(c, l);
		TRY(vec(w, c, &b->n1w, OCR2_TF_SAM_NORM1_W, l));
		TRY(vec(w, c, &b->n1b, OCR2_TF_SAM_NORM1_B, l));
		TRY(vec(w, c, &b->n2w, OCR2_TF_SAM_NORM2_W, l));
		TRY(vec(w, c, &b->n2b, OCR2_TF_SAM_NORM2_B, l));
		TRY(bind(w, c, &b->qkv, OCR2_TF_SAM_QKV_W, l));
		TRY(vec(w, c, &b->qkv_b, OCR2_TF_SAM_QKV_B, l));
		TRY(bind(w, c, &b->proj, OCR2_TF_SAM_PROJ_W, l));
		TRY(vec(w, c, &b->proj_b, OCR2_TF_SAM_PROJ_B, l));
		TRY(bind(w, c, &b->lin1, OCR2_TF_SAM_LIN1_W, l));
		TRY(vec(w, c, &b->lin1_b, OCR2_TF_SAM_LIN1_B, l));
		TRY(bind(w, c, &b->lin2, OCR2_TF_SAM_LIN2_W, l));
		TRY(vec(w, c, &b->lin2_b, OCR2_TF_SAM_LIN2_B, l));
		/* Stored sizes: 2*64-1 for global blocks (pretrained at 1024), 2*window-1
		 * otherwise (the table's Rs); get_rel_pos resizes linearly to 2*side-1
		 * when they differ. */
		const ocr2_tensor *rh, *rw;
		TRY(bind(w, c, &rh, OCR2_TF_SAM_REL_H, l));
		TRY(bind(w, c, &rw, OCR2_TF_SAM_REL_W, l));
		for (int v = 0; v < 2; v++) {
			int side = b->global ? (v ? Gt : Gb) : c->sam_window;
			b->rel_k[v] = side;
			if (!(b->rel_h[v] = resize_rel(rh, 2 * side - 1)) ||
			    !(b->rel_w[v] = resize_rel(rw, 2 * side - 1)))
				goto nomem;
		}
	}
	TRY(bind(w, c, &m->neck0, OCR2_TF_SAM_NECK0, 0));
	TRY(vec(w, c, &m->neck1_w, OCR2_TF_SAM_NECK1_W, 0));
	TRY(vec(w, c, &m->neck1_b, OCR2_TF_SAM_NECK1_B, 0));
	TRY(bind(w, c, &m->neck2, OCR2_TF_SAM_NECK2, 0));
	TRY(vec(w, c, &m->neck3_w, OCR2_TF_SAM_NECK3_W, 0));
	TRY(vec(w, c, &m->neck3_b, OCR2_TF_SAM_NECK3_B, 0));
	TRY(bind(w, c, &m->net2, OCR2_TF_SAM_NET2, 0));
	TRY(bind(w, c, &m->net3, OCR2_TF_SAM_NET3, 0));
	return OCR2_OK;
nomem:
	st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory loading SAM");
fail:
	return st;
}

static ocr2_status load_flow(enc_model *m, const ocr2_weights *w)
{
	const ocr2_config *c = &m->c;
	ocr2_status st = OCR2_OK;
	for (int l = 0; l < c->enc_layers; l++) {
		enc_flow_layer *L = &m->flow[l];
		TRY(vec(w, c, &L->in_norm, OCR2_TF_FLOW_IN_NORM, l));
		TRY(vec(w, c, &L->post_norm, OCR2_TF_FLOW_POST_NORM, l));
		TRY(bind(w, c, &L->q, OCR2_TF_FLOW_Q_W, l));
		TRY(vec(w, c, &L->q_b, OCR2_TF_FLOW_Q_B, l));
		TRY(bind(w, c, &L->k, OCR2_TF_FLOW_K_W, l));
		TRY(vec(w, c, &L->k_b, OCR2_TF_FLOW_K_B, l));
		TRY(bind(w, c, &L->v, OCR2_TF_FLOW_V_W, l));
		TRY(vec(w, c, &L->v_b, OCR2_TF_FLOW_V_B, l));
		TRY(bind(w, c, &L->o, OCR2_TF_FLOW_O, l));
		TRY(bind(w, c, &L->gate, OCR2_TF_FLOW_GATE, l));
		TRY(bind(w, c, &L->up, OCR2_TF_FLOW_UP, l));
		TRY(bind(w, c, &L->down, OCR2_TF_FLOW_DOWN, l));
	}
	TRY(vec(w, c, &m->flow_norm, OCR2_TF_FLOW_NORM, 0));
	const ocr2_tensor *t;
	TRY(bind(w, c, &t, OCR2_TF_FLOW_QUERY_1024, 0));
	if (!(m->query_1024 = ocr2_tensor_to_f32(t)))
		goto nomem;
	TRY(bind(w, c, &t, OCR2_TF_FLOW_QUERY_768, 0));
	if (!(m->query_768 = ocr2_tensor_to_f32(t)))
		goto nomem;
	TRY(bind(w, c, &m->proj_w, OCR2_TF_PROJ_W, 0));
	TRY(vec(w, c, &m->proj_b, OCR2_TF_PROJ_B, 0));
	TRY(vec(w, c, &m->view_sep, OCR2_TF_VIEW_SEP, 0));
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
	ocr2_linear_vision(pool, m->bf16, x, N, m->c.enc_hidden, m->proj_w, m->proj_b, out); /* [N, hidden] */
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
