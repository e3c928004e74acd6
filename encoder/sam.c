/* sam.c - SAM ViT-B with DeepEncoder's neck and compression convs
 * (MODEL.md §4.1): one view [3, S, S] -> [(S/64)^2, enc_hidden] tokens.
 *
 *   patch conv 16/16 -> + pos_embed -> blocks x L:
 *       x += proj(attn(LN1 x))      windowed (14x14, zero-padded, unmasked)
 *                                   or global; decomposed rel-pos bias
 *       x += lin2(gelu(lin1(LN2 x)))
 *   -> conv1x1 -> LN2d -> conv3x3 -> LN2d -> conv3x3/2 -> conv3x3/2 -> flatten
 *
 * Activations are channels-last [tokens, channels]; convolutions are im2col
 * plus ocr2_linear_vision, attention is sgemm per (window, head, query block). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "compute/kernels.h"
#include "encoder.h"

/* Channels-last input [H, W, C] -> rows [Ho*Wo, C*k*k] in the (c, ky, kx)
 * order of a PyTorch conv weight [out, C, k, k]; zero outside. */
static void im2col(const float *x, int H, int W, int C, int k, int stride, int pad, int Ho,
		   int Wo, float *out)
{
	size_t K = (size_t)C * k * k;
	for (int oy = 0; oy < Ho; oy++)
		for (int ox = 0; ox < Wo; ox++) {
			float *row = out + ((size_t)oy * Wo + ox) * K;
			for (int ky = 0; ky < k; ky++) {
				int iy = oy * stride - pad + ky;
				for (int kx = 0; kx < k; kx++) {
					int ix = ox * stride - pad + kx;
					float *d = row + ky * k + kx;
					if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
						for (int c = 0; c < C; c++)
							d[(size_t)c * k * k] = 0;
						continue;
					}
					const float *px = x + ((size_t)iy * W + ix) * C;
					for (int c = 0; c < C; c++)
						d[(size_t)c * k * k] = px[c];
				}
			}
		}
}

/* out [Ho*Wo, Cout] = conv(x [H, W, C]) with weight [Cout, C, k, k]. */
static ocr2_status conv(ocr2_pool *pool, bool bf16, const float *x, int H, int W, int C,
			const ocr2_tensor *w, int k, int stride, int pad, const float *bias,
			float *out, int *Ho, int *Wo)
{
	*Ho = (H + 2 * pad - k) / stride + 1;
	*Wo = (W + 2 * pad - k) / stride + 1;
	float *cols = malloc((size_t)*Ho * *Wo * C * k * k * sizeof *cols);
	if (!cols)
		return ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (conv)");
	im2col(x, H, W, C, k, stride, pad, *Ho, *Wo, cols);
	ocr2_linear_vision(pool, bf16, cols, *Ho * *Wo, C * k * k, w, bias, out);
	free(cols);
	return OCR2_OK;
}

/* ---- attention ---------------------------------------------------------------- */

#define QBLK 256 /* query rows per work item: bounds the score buffer */
#define TBLK 32  /* query rows at a time with the tiled products: scores in L2 */

typedef struct {
	const float *qkv; /* [n_win * T, 3 * W]: q | k | v, each head-major */
	float *out;       /* [n_win * T, W] */
	int T, side, W, hd, heads, nblk;
	const float *rh, *rw; /* [2 * side - 1, hd] */
	float scale;
	int failed;
	bool bf16;  /* enc_model.bf16: q k^T and p v in bf16 products */
	bool tiles; /* f32 through lib/compute/tiles.c (else sgemm per query block) */
} attn_job;

/* Keys, values and rel-pos tables of one (window, head) packed for
 * lib/compute/tiles.c. */
typedef struct {
	const float *kt, *vc, *rh, *rw;
} tile_pack;

/* Query rows [r0, r1) of one (window, head). With kp/vp (the opt-in bf16
 * products) or tp (the f32 tiles) the products read the keys and values
 * packed for the whole (window, head). */
static void attn_rows(attn_job *j, int win, int h, int r0, int r1, const ocr2_bf16_operand *kp,
		      const ocr2_bf16_operand *vp, const tile_pack *tp, float *s, float *ph)
{
	int T = j->T, side = j->side, W = j->W, hd = j->hd, L = 2 * side - 1, ld = 3 * W;
	int nr = r1 - r0;
	const float *base = j->qkv + (size_t)win * T * ld;
	const float *q = base + (size_t)r0 * ld + h * hd, *k = base + W + h * hd;
	const float *v = base + 2 * W + h * hd;
	float *pw = ph + (size_t)nr * L;
	float *out = j->out + ((size_t)win * T + r0) * W + h * hd;
	/* scores = q k^T / sqrt(hd) */
	if (tp)
		ocr2_tile_qk(q, ld, nr, tp->kt, T, hd, j->scale, s, T);
	else if (!kp || !ocr2_gemm_bf16_st(q, ld, nr, kp, j->scale, s, T))
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, T, hd, j->scale, q, ld, k,
			    ld, 0.0f, s, T);
	/* decomposed rel-pos: the UNSCALED q against every table row, then
	 * bias[t, (kh, kw)] = ph[t, qh - kh + side - 1] + pw[t, qw - kw + side - 1] */
	if (tp) {
		ocr2_tile_qk(q, ld, nr, tp->rh, L, hd, 1.0f, ph, L);
		ocr2_tile_qk(q, ld, nr, tp->rw, L, hd, 1.0f, pw, L);
	} else {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, L, hd, 1.0f, q, ld, j->rh,
			    hd, 0.0f, ph, L);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, L, hd, 1.0f, q, ld, j->rw,
			    hd, 0.0f, pw, L);
	}
	for (int r = 0; r < nr; r++) {
		int t = r0 + r, qh = t / side, qw = t % side;
		float *sr = s + (size_t)r * T;
		const float *bh = ph + (size_t)r * L + qh + side - 1;
		const float *bw = pw + (size_t)r * L + qw + side - 1;
		for (int kh = 0; kh < side; kh++)
			for (int kw = 0; kw < side; kw++)
				sr[kh * side + kw] += bh[-kh] + bw[-kw];
		ocr2_softmax(sr, T);
	}
	if (tp)
		ocr2_tile_pv(s, T, nr, tp->vc, T, hd, out, W);
	else if (!vp || !ocr2_gemm_bf16_st(s, T, nr, vp, 1.0f, out, W))
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, T, 1.0f, s, T, v, ld,
			    0.0f, out, W);
}

/* sgemm: item = (window, head, block of QBLK queries). bf16 and tiles: item
 * = (window, head), its keys and values packed once for all its queries. */
static void attn_item(void *arg, int i, int n)
{
	(void)n;
	attn_job *j = arg;
	int T = j->T, L = 2 * j->side - 1, hd = j->hd, ld = 3 * j->W;
	bool whole = j->bf16 || j->tiles;
	int nblk = whole ? 1 : j->nblk, step = j->tiles ? TBLK : QBLK;
	int blk = i % nblk, h = i / nblk % j->heads, win = i / (nblk * j->heads);
	int r0 = whole ? 0 : blk * QBLK, r1 = whole ? T : (r0 + QBLK < T ? r0 + QBLK : T);
	const float *base = j->qkv + (size_t)win * T * ld;
	float *s = malloc((size_t)step * T * sizeof *s);
	float *ph = malloc((size_t)step * L * 2 * sizeof *ph);
	float *tbuf = NULL;
	tile_pack tp;
	ocr2_bf16_operand *kp = NULL, *vp = NULL;
	bool packed = true;
	if (j->bf16) {
		kp = ocr2_bf16_pack_f32(base + j->W + h * hd, ld, T, hd, false);
		vp = ocr2_bf16_pack_f32(base + 2 * j->W + h * hd, ld, hd, T, true);
		packed = kp && vp;
	} else if (j->tiles) {
		size_t nk = ocr2_tile_kt_floats(T, hd), nr = ocr2_tile_kt_floats(L, hd);
		tbuf = malloc((nk + (size_t)T * hd + 2 * nr) * sizeof *tbuf);
		if (tbuf) {
			float *kt = tbuf, *vc = kt + nk, *rh = vc + (size_t)T * hd, *rw = rh + nr;
			ocr2_tile_pack_k(base + j->W + h * hd, ld, T, hd, kt);
			ocr2_tile_pack_v(base + 2 * j->W + h * hd, ld, T, hd, vc);
			ocr2_tile_pack_k(j->rh, hd, L, hd, rh);
			ocr2_tile_pack_k(j->rw, hd, L, hd, rw);
			tp = (tile_pack){kt, vc, rh, rw};
		}
		packed = tbuf != NULL;
	}
	if (!s || !ph || !packed) {
		j->failed = 1;
	} else {
		for (int a = r0; a < r1; a += step)
			attn_rows(j, win, h, a, a + step < r1 ? a + step : r1, kp, vp,
				  tbuf ? &tp : NULL, s, ph);
	}
	ocr2_bf16_operand_free(kp);
	ocr2_bf16_operand_free(vp);
	free(tbuf);
	free(s);
	free(ph);
}

/* ---- one block ----------------------------------------------------------------- */

/* Activation buffers of one view, shared by its blocks. */
typedef struct {
	float *h, *qkv, *o, *p; /* [ntok_max, W], [.., 3W], [.., W], [.., W] */
	float *qkv_img;         /* [G*G, 3W]: qkv of the real tokens, padded grids only */
	float *mlp;             /* [G*G, mlp] */
} scratch;

static void scratch_free(scratch *s)
{
	free(s->h);
	free(s->qkv);
	free(s->o);
	free(s->p);
	free(s->qkv_img);
	free(s->mlp);
}

static bool scratch_alloc(scratch *s, const ocr2_config *c, int G)
{
	int Gp = (G + c->sam_window - 1) / c->sam_window * c->sam_window; /* padded grid */
	size_t ntok = (size_t)(Gp > G ? Gp : G) * (Gp > G ? Gp : G), W = (size_t)c->sam_width;
	s->h = malloc(ntok * W * sizeof *s->h);
	s->qkv = malloc(ntok * 3 * W * sizeof *s->qkv);
	s->o = malloc(ntok * W * sizeof *s->o);
	s->p = malloc(ntok * W * sizeof *s->p);
	s->mlp = malloc((size_t)G * G * c->sam_mlp * sizeof *s->mlp);
	s->qkv_img = Gp > G ? malloc((size_t)G * G * 3 * W * sizeof *s->qkv_img) : NULL;
	return s->h && s->qkv && s->o && s->p && s->mlp && (Gp == G || s->qkv_img);
}

/* Rows of width `width` between the [G, G] image layout and the window layout
 * [windows, side*side] over the grid padded to nw * side:
 *   PARTITION   image -> windows; a padding row gets `pad` (NULL: zeros)
 *   UNPARTITION windows -> image, the padding dropped
 *   ADD         as UNPARTITION, added into the image rows (the residual)
 * One item is one grid row y: of the padded grid for PARTITION, else of G. */
typedef enum { PARTITION, UNPARTITION, ADD } part_mode;

typedef struct {
	float *dst;
	const float *src, *pad;
	int G, side, nw, width;
	part_mode mode;
} part_job;

static void part_row(void *arg, int y, int n)
{
	(void)n;
	const part_job *j = arg;
	int side = j->side, T = side * side, wy = y / side, ly = y % side;
	int cols = j->mode == PARTITION ? j->nw * side : j->G;
	size_t w = (size_t)j->width;
	for (int xx = 0; xx < cols; xx++) {
		int wx = xx / side, lx = xx % side;
		size_t win = ((size_t)(wy * j->nw + wx) * T + ly * side + lx) * w;
		bool inside = y < j->G && xx < j->G;
		size_t img = inside ? ((size_t)y * j->G + xx) * w : 0;
		switch (j->mode) {
		case PARTITION:
			if (inside)
				memcpy(j->dst + win, j->src + img, w * sizeof(float));
			else if (j->pad)
				memcpy(j->dst + win, j->pad, w * sizeof(float));
			else
				memset(j->dst + win, 0, w * sizeof(float));
			break;
		case UNPARTITION:
			memcpy(j->dst + img, j->src + win, w * sizeof(float));
			break;
		case ADD: {
			float *d = j->dst + img;
			const float *s = j->src + win;
			for (size_t i = 0; i < w; i++)
				d[i] += s[i];
			break;
		}
		}
	}
}

static void partition(ocr2_pool *pool, float *dst, const float *src, const float *pad, int G,
		      int side, int nw, int width, part_mode mode)
{
	part_job j = {dst, src, pad, G, side, nw, width, mode};
	ocr2_pool_run(pool, part_row, &j, mode == PARTITION ? nw * side : G);
}

static ocr2_status block(enc_model *m, ocr2_pool *pool, const enc_sam_block *b, int vi,
			 float *x, int G, const scratch *sc)
{
	const ocr2_config *c = &m->c;
	int W = c->sam_width, heads = c->sam_heads, hd = W / heads;
	int side = b->global ? G : c->sam_window;
	int nw = b->global ? 1 : (G + side - 1) / side; /* windows per axis */
	int T = side * side, ntok = nw * nw * T, n = G * G;
	if (b->rel_k[vi] != side)
		return ocr2_fail(OCR2_ERR_INTERNAL, "encoder: rel-pos table for side %d, not %d",
				 b->rel_k[vi], side);
	float *h = sc->h, *qkv = sc->qkv, *o = sc->o, *p = sc->p, *mlp = sc->mlp;
	/* LN1, then window partition: zero-padded tokens take part unmasked;
	 * the global case is one window of the whole grid. */
	ocr2_layernorm(pool, p, x, b->n1w, b->n1b, n, W, 1e-6f); /* [n, W] */
	if (ntok > n) {
		/* A padding token is zeros after LN1, so its q, k, v are the bias
		 * exactly (0 . W + b = b, as in the reference). The product runs
		 * over the n real tokens only and the padding gets the bias: 16 %
		 * fewer qkv and proj products on a 1024 view, 26 % on a 768 crop. */
		ocr2_linear_vision(pool, m->bf16, p, n, W, b->qkv, b->qkv_b, sc->qkv_img); /* [n, 3W] */
		partition(pool, qkv, sc->qkv_img, b->qkv_b, G, side, nw, 3 * W, PARTITION);
	} else {
		/* one window (global) is the image layout itself: no copy */
		if (nw > 1)
			partition(pool, h, p, NULL, G, side, nw, W, PARTITION);
		ocr2_linear_vision(pool, m->bf16, nw > 1 ? h : p, ntok, W, b->qkv, b->qkv_b, qkv);
	}
	int nblk = (T + QBLK - 1) / QBLK;
	bool bf16 = m->bf16 && ocr2_gemm_bf16_available(), tiles = !bf16 && ocr2_tile_ok(hd);
	attn_job j = {qkv, o, T, side, W, hd, heads, nblk, b->rel_h[vi], b->rel_w[vi],
		      1.0f / sqrtf((float)hd), 0, bf16, tiles};
	ocr2_pool_run_blas(pool, attn_item, &j, nw * nw * heads * (bf16 || tiles ? 1 : nblk));
	if (j.failed)
		return ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (SAM attention)");
	if (ntok > n) {
		/* the padding's outputs are dropped before proj, not after */
		partition(pool, h, o, NULL, G, side, nw, W, UNPARTITION);
		ocr2_linear_vision(pool, m->bf16, h, n, W, b->proj, b->proj_b, p); /* [n, W] */
		partition(pool, x, p, NULL, G, G, 1, W, ADD);
	} else {
		ocr2_linear_vision(pool, m->bf16, o, ntok, W, b->proj, b->proj_b, p); /* [ntok, W] */
		partition(pool, x, p, NULL, G, side, nw, W, ADD); /* un-partition, residual */
	}
	/* MLP: x += lin2(gelu(lin1(LN2 x))) */
	ocr2_layernorm(pool, h, x, b->n2w, b->n2b, n, W, 1e-6f);
	ocr2_linear_vision(pool, m->bf16, h, n, W, b->lin1, b->lin1_b, mlp); /* [n, mlp] */
	ocr2_gelu(pool, mlp, n * c->sam_mlp);
	ocr2_linear_vision(pool, m->bf16, mlp, n, c->sam_mlp, b->lin2, b->lin2_b, p); /* [n, W] */
	partition(pool, x, p, NULL, G, G, 1, W, ADD); /* one window: plain residual */
	return OCR2_OK;
}

/* ---- the view ------------------------------------------------------------------ */

ocr2_status enc_sam(enc_model *m, ocr2_pool *pool, const float *chw, int S, float *out)
{
	const ocr2_config *c = &m->c;
	int vi = enc_view_index(m, S);
	if (vi < 0)
		return ocr2_fail(OCR2_ERR_INTERNAL, "encoder: view side %d is neither %d nor %d",
				 S, c->base_size, c->tile_size);
	int P = c->patch, G = S / P, n = G * G, W = c->sam_width, Cn = c->sam_neck;
	ocr2_status st = OCR2_OK;
	float *x = malloc((size_t)n * W * sizeof *x);
	float *cols = malloc((size_t)n * 3 * P * P * sizeof *cols);
	float *y = NULL, *y2 = NULL;
	if (!x || !cols) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (SAM)");
		goto out;
	}
	/* patch embed: rows (c, ky, kx) straight from CHW; [n, W] */
	for (int py = 0; py < G; py++)
		for (int px = 0; px < G; px++) {
			float *row = cols + ((size_t)py * G + px) * 3 * P * P;
			for (int ch = 0; ch < 3; ch++)
				for (int ky = 0; ky < P; ky++)
					memcpy(row + (ch * P + ky) * P,
					       chw + ((size_t)ch * S + py * P + ky) * S + px * P,
					       (size_t)P * sizeof *row);
		}
	ocr2_linear_vision(pool, m->bf16, cols, n, 3 * P * P, m->patch_w, m->patch_b, x);
	free(cols);
	cols = NULL;
	for (size_t i = 0; i < (size_t)n * W; i++)
		x[i] += m->pos[vi][i];
	scratch sc = {0};
	if (!scratch_alloc(&sc, c, G))
		st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (SAM blocks)");
	for (int l = 0; l < c->sam_layers && st == OCR2_OK; l++)
		st = m->cancel && *m->cancel ? ocr2_fail(OCR2_ERR_INTERRUPTED, "encoder: cancelled")
					     : block(m, pool, &m->sam[l], vi, x, G, &sc);
	scratch_free(&sc);
	if (st)
		goto out;
	/* neck: conv1x1 -> LN2d -> conv3x3 p1 -> LN2d, all [n, Cn] */
	int Ho, Wo;
	size_t ny = (size_t)n * Cn, n2 = (size_t)(G / 2 + 1) * (G / 2 + 1) * c->sam_net2;
	y = malloc((ny > n2 ? ny : n2) * sizeof *y);
	y2 = malloc((size_t)n * (Cn > c->sam_net2 ? Cn : c->sam_net2) * sizeof *y2);
	if (!y || !y2) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (SAM neck)");
		goto out;
	}
	ocr2_linear_vision(pool, m->bf16, x, n, W, m->neck0, NULL, y);
	ocr2_layernorm(pool, y, y, m->neck1_w, m->neck1_b, n, Cn, 1e-6f);
	if ((st = conv(pool, m->bf16, y, G, G, Cn, m->neck2, 3, 1, 1, NULL, y2, &Ho, &Wo)))
		goto out;
	ocr2_layernorm(pool, y2, y2, m->neck3_w, m->neck3_b, n, Cn, 1e-6f);
	/* net_2: [G/2 * G/2, net2]; net_3: [G/4 * G/4, E], already row-major */
	if ((st = conv(pool, m->bf16, y2, G, G, Cn, m->net2, 3, 2, 1, NULL, y, &Ho, &Wo)))
		goto out;
	st = conv(pool, m->bf16, y, Ho, Wo, c->sam_net2, m->net3, 3, 2, 1, NULL, out, &Ho, &Wo);
out:
	free(x);
	free(cols);
	free(y);
	free(y2);
	return st;
}
