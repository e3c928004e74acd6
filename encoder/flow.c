/* flow.c - the LM-as-encoder with causal-flow queries (MODEL.md §4.2):
 * [N visual tokens ; N learned queries] through Qwen2 layers, keep the queries.
 *
 *   x = [tokens (N) ; query table (N)]            positions 0..2N-1
 *   layer x L:  x += o_proj(attn(rope(q), rope(k), v))   on RMSNorm(x)
 *               x += down(silu(gate(h)) * up(h))         h = RMSNorm(x)
 *   out = RMSNorm_final(x)[N..2N)
 *
 * Mask: a visual row sees the N visual columns only (bidirectional); a
 * query row sees every visual column and the queries up to itself. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "compute/kernels.h"
#include "encoder.h"

#define QBLK 128 /* query rows per work item */

typedef struct {
	const float *q, *k, *v; /* [T, heads*hd], [T, kvh*hd] x2 */
	float *out;             /* [T, heads*hd] */
	int T, N, row0, heads, kvh, hd, nblk; /* query rows [row0, T) */
	float scale;
	int failed;
} flow_attn_job;

/* Keys row t may attend: all visual ones, then queries up to itself. */
static int key_limit(int t, int N)
{
	return t < N ? N : t + 1;
}

static void attn_item(void *arg, int i, int n)
{
	flow_attn_job *j = arg;
	int h = i / j->nblk, blk = i % j->nblk, hd = j->hd;
	int r0 = j->row0 + blk * QBLK, r1 = r0 + QBLK < j->T ? r0 + QBLK : j->T, nr = r1 - r0;
	int kv = h / (j->heads / j->kvh), ldq = j->heads * hd, ldk = j->kvh * hd;
	int kb = key_limit(r1 - 1, j->N); /* keys any row of the block may see */
	float *s = malloc((size_t)nr * kb * sizeof *s);
	if (!s) {
		j->failed = 1;
		return;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, kb, hd, j->scale,
		    j->q + (size_t)r0 * ldq + h * hd, ldq, j->k + kv * hd, ldk, 0.0f, s, kb);
	for (int r = 0; r < nr; r++) {
		int lim = key_limit(r0 + r, j->N);
		float *sr = s + (size_t)r * kb;
		ocr2_softmax(sr, lim);
		for (int c = lim; c < kb; c++)
			sr[c] = 0;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, kb, 1.0f, s, kb,
		    j->v + kv * hd, ldk, 0.0f, j->out + (size_t)r0 * ldq + h * hd, ldq);
	free(s);
}

ocr2_status enc_flow(enc_model *m, ocr2_pool *pool, const float *tokens, int N, float *out)
{
	const ocr2_config *c = &m->c;
	const float *queries = N == 256 ? m->query_1024 : N == 144 ? m->query_768 : NULL;
	if (!queries)
		return ocr2_fail(OCR2_ERR_INTERNAL,
				 "encoder: %d visual tokens; the query tables have 256 or 144", N);
	int E = c->enc_hidden, heads = c->enc_heads, kvh = c->enc_kv_heads, hd = E / heads;
	int ffn = c->enc_intermediate, T = 2 * N, kvd = kvh * hd;
	float eps = c->enc_rms_eps;
	ocr2_status st = OCR2_OK;
	float *x = malloc((size_t)T * E * sizeof *x), *h = malloc((size_t)T * E * sizeof *h);
	float *q = malloc((size_t)T * E * sizeof *q), *o = malloc((size_t)T * E * sizeof *o);
	float *k = malloc((size_t)T * kvd * sizeof *k), *v = malloc((size_t)T * kvd * sizeof *v);
	float *g = malloc((size_t)T * ffn * sizeof *g), *u = malloc((size_t)T * ffn * sizeof *u);
	if (!x || !h || !q || !o || !k || !v || !g || !u) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (flow encoder)");
		goto out;
	}
	memcpy(x, tokens, (size_t)N * E * sizeof *x);
	memcpy(x + (size_t)N * E, queries, (size_t)N * E * sizeof *x);
	for (int l = 0; l < c->enc_layers; l++) {
		const enc_flow_layer *L = &m->flow[l];
		/* Only the query rows are kept, and no row reads a later layer's
		 * visual rows, so the last layer needs its visual rows only as keys
		 * and values: rows [r, T) below are the ones computed. */
		int r = l == c->enc_layers - 1 ? N : 0, nr = T - r;
		size_t off = (size_t)r * E;
		if (m->cancel && *m->cancel) {
			st = ocr2_fail(OCR2_ERR_INTERRUPTED, "encoder: cancelled");
			goto out;
		}
		/* attention: [T, E] -> [T, E] */
		ocr2_rmsnorm(pool, h, x, L->in_norm, T, E, eps);
		ocr2_linear_vision(pool, m->bf16, h + off, nr, E, L->q, L->q_b, q + off);
		ocr2_linear_vision(pool, m->bf16, h, T, E, L->k, L->k_b, k);
		ocr2_linear_vision(pool, m->bf16, h, T, E, L->v, L->v_b, v);
		ocr2_rope(q + off, nr, heads, hd, NULL, r, c->enc_rope_theta);
		ocr2_rope(k, T, kvh, hd, NULL, 0, c->enc_rope_theta);
		int nblk = (nr + QBLK - 1) / QBLK;
		flow_attn_job j = {q, k, v, o, T, N, r, heads, kvh, hd, nblk,
				   1.0f / sqrtf((float)hd), 0};
		ocr2_pool_run_blas(pool, attn_item, &j, heads * nblk);
		if (j.failed) {
			st = ocr2_fail(OCR2_ERR_NOMEM, "encoder: out of memory (flow attention)");
			goto out;
		}
		ocr2_linear_vision(pool, m->bf16, o + off, nr, E, L->o, NULL, h + off);
		for (size_t i = off; i < (size_t)T * E; i++)
			x[i] += h[i];
		/* SwiGLU MLP: [T, E] -> [T, ffn] -> [T, E] */
		ocr2_rmsnorm(pool, h + off, x + off, L->post_norm, nr, E, eps);
		ocr2_linear_vision(pool, m->bf16, h + off, nr, E, L->gate, NULL, g);
		ocr2_linear_vision(pool, m->bf16, h + off, nr, E, L->up, NULL, u);
		ocr2_silu_mul(pool, g, u, nr * ffn);
		ocr2_linear_vision(pool, m->bf16, g, nr, ffn, L->down, NULL, h + off);
		for (size_t i = off; i < (size_t)T * E; i++)
			x[i] += h[i];
	}
	/* final norm on the query half only: [N, E] */
	ocr2_rmsnorm(pool, out, x + (size_t)N * E, m->flow_norm, N, E, eps);
out:
	free(x);
	free(h);
	free(q);
	free(o);
	free(k);
	free(v);
	free(g);
	free(u);
	return st;
}
