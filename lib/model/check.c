/* check.c - what a checkpoint must hold for the architecture a config
 * describes (MODEL.md §2.2), and the NaN/Inf scan behind `ocr2 model check`.
 *
 * The list is walked in the model's order (SAM, flow encoder, projector,
 * language model) and the first missing, mis-shaped or non-float tensor is
 * reported. Extra tensors are ignored, as the official loader does. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

#define POS_GRID 64 /* base_size / patch: the pos_embed grid and global rel-pos span */

typedef struct {
	const ocr2_weights *w;
	const char *dir;
	ocr2_status st;
	int n_checked;
} checker;

/* Checks one tensor; the name is printf-formatted with a (formats without a
 * conversion ignore it), unused trailing dims are -1. */
static void need(checker *k, const char *fmt, int a, int d0, int d1, int d2, int d3)
{
	if (k->st != OCR2_OK)
		return;
	char name[256];
	snprintf(name, sizeof name, fmt, a);
	const ocr2_tensor *t;
	k->st = ocr2_weights_expect(k->w, &t, name, d0, d1, d2, d3, -1);
	if (k->st == OCR2_OK)
		k->n_checked++;
	else if (k->dir && strncmp(ocr2_errmsg(), k->dir, strlen(k->dir))) {
		char msg[1024]; /* weights from elsewhere: name the directory too */
		snprintf(msg, sizeof msg, "%s", ocr2_errmsg());
		ocr2_fail(k->st, "%s: %s", k->dir, msg);
	}
}

#define NEED1(k, fmt, a, d0) need(k, fmt, a, d0, -1, -1, -1)
#define NEED2(k, fmt, a, d0, d1) need(k, fmt, a, d0, d1, -1, -1)
#define NEED4(k, fmt, a, d0, d1, d2, d3) need(k, fmt, a, d0, d1, d2, d3)

static bool is_global(const ocr2_config *c, int i)
{
	for (int g = 0; g < c->sam_n_global; g++)
		if (c->sam_global[g] == i)
			return true;
	return false;
}

static void check_sam(checker *k, const ocr2_config *c)
{
	const int W = c->sam_width, hd = c->sam_width / c->sam_heads;
	NEED4(k, "model.sam_model.patch_embed.proj.weight", 0, W, 3, c->patch, c->patch);
	NEED1(k, "model.sam_model.patch_embed.proj.bias", 0, W);
	NEED4(k, "model.sam_model.pos_embed", 0, 1, POS_GRID, POS_GRID, W);
	for (int i = 0; i < c->sam_layers; i++) {
		const int span = is_global(c, i) ? 2 * POS_GRID - 1 : 2 * c->sam_window - 1;
		NEED1(k, "model.sam_model.blocks.%d.norm1.weight", i, W);
		NEED1(k, "model.sam_model.blocks.%d.norm1.bias", i, W);
		NEED2(k, "model.sam_model.blocks.%d.attn.qkv.weight", i, 3 * W, W);
		NEED1(k, "model.sam_model.blocks.%d.attn.qkv.bias", i, 3 * W);
		NEED2(k, "model.sam_model.blocks.%d.attn.proj.weight", i, W, W);
		NEED1(k, "model.sam_model.blocks.%d.attn.proj.bias", i, W);
		NEED2(k, "model.sam_model.blocks.%d.attn.rel_pos_h", i, span, hd);
		NEED2(k, "model.sam_model.blocks.%d.attn.rel_pos_w", i, span, hd);
		NEED1(k, "model.sam_model.blocks.%d.norm2.weight", i, W);
		NEED1(k, "model.sam_model.blocks.%d.norm2.bias", i, W);
		NEED2(k, "model.sam_model.blocks.%d.mlp.lin1.weight", i, c->sam_mlp, W);
		NEED1(k, "model.sam_model.blocks.%d.mlp.lin1.bias", i, c->sam_mlp);
		NEED2(k, "model.sam_model.blocks.%d.mlp.lin2.weight", i, W, c->sam_mlp);
		NEED1(k, "model.sam_model.blocks.%d.mlp.lin2.bias", i, W);
	}
	const int N = c->sam_neck;
	NEED4(k, "model.sam_model.neck.0.weight", 0, N, W, 1, 1);
	NEED1(k, "model.sam_model.neck.1.weight", 0, N);
	NEED1(k, "model.sam_model.neck.1.bias", 0, N);
	NEED4(k, "model.sam_model.neck.2.weight", 0, N, N, 3, 3);
	NEED1(k, "model.sam_model.neck.3.weight", 0, N);
	NEED1(k, "model.sam_model.neck.3.bias", 0, N);
	NEED4(k, "model.sam_model.net_2.weight", 0, c->sam_net2, N, 3, 3);
	NEED4(k, "model.sam_model.net_3.weight", 0, c->enc_hidden, c->sam_net2, 3, 3);
}

static void check_encoder(checker *k, const ocr2_config *c)
{
	const int E = c->enc_hidden, kv = c->enc_kv_heads * (E / c->enc_heads);
	const int I = c->enc_intermediate;
#define L "model.qwen2_model.model.model.layers.%d."
	for (int i = 0; i < c->enc_layers; i++) {
		NEED1(k, L "input_layernorm.weight", i, E);
		NEED2(k, L "self_attn.q_proj.weight", i, E, E);
		NEED1(k, L "self_attn.q_proj.bias", i, E);
		NEED2(k, L "self_attn.k_proj.weight", i, kv, E);
		NEED1(k, L "self_attn.k_proj.bias", i, kv);
		NEED2(k, L "self_attn.v_proj.weight", i, kv, E);
		NEED1(k, L "self_attn.v_proj.bias", i, kv);
		NEED2(k, L "self_attn.o_proj.weight", i, E, E);
		NEED1(k, L "post_attention_layernorm.weight", i, E);
		NEED2(k, L "mlp.gate_proj.weight", i, I, E);
		NEED2(k, L "mlp.up_proj.weight", i, I, E);
		NEED2(k, L "mlp.down_proj.weight", i, E, I);
	}
#undef L
	/* the query counts are (768/16/4)^2 and (1024/16/4)^2: fixed by design */
	const int q768 = (c->tile_size / c->patch / 4) * (c->tile_size / c->patch / 4);
	const int q1024 = (c->base_size / c->patch / 4) * (c->base_size / c->patch / 4);
	NEED1(k, "model.qwen2_model.model.model.norm.weight", 0, E);
	NEED2(k, "model.qwen2_model.query_768.weight", 0, q768, E);
	NEED2(k, "model.qwen2_model.query_1024.weight", 0, q1024, E);
}

static void check_lm(checker *k, const ocr2_config *c)
{
	const int H = c->hidden, hd = c->head_dim;
	NEED2(k, "model.projector.layers.weight", 0, H, c->enc_hidden);
	NEED1(k, "model.projector.layers.bias", 0, H);
	NEED1(k, "model.view_seperator", 0, H);
	NEED2(k, "model.embed_tokens.weight", 0, c->vocab, H);
	for (int i = 0; i < c->n_layers; i++) {
		NEED1(k, "model.layers.%d.input_layernorm.weight", i, H);
		NEED2(k, "model.layers.%d.self_attn.q_proj.weight", i, c->n_heads * hd, H);
		NEED2(k, "model.layers.%d.self_attn.k_proj.weight", i, c->n_kv_heads * hd, H);
		NEED2(k, "model.layers.%d.self_attn.v_proj.weight", i, c->n_kv_heads * hd, H);
		NEED2(k, "model.layers.%d.self_attn.o_proj.weight", i, H, c->n_heads * hd);
		NEED1(k, "model.layers.%d.post_attention_layernorm.weight", i, H);
		if (i < c->first_k_dense) {
			NEED2(k, "model.layers.%d.mlp.gate_proj.weight", i, c->intermediate, H);
			NEED2(k, "model.layers.%d.mlp.up_proj.weight", i, c->intermediate, H);
			NEED2(k, "model.layers.%d.mlp.down_proj.weight", i, H, c->intermediate);
			continue;
		}
		NEED2(k, "model.layers.%d.mlp.gate.weight", i, c->n_experts, H);
		if (c->n_shared_experts) {
			const int S = c->moe_intermediate * c->n_shared_experts;
			NEED2(k, "model.layers.%d.mlp.shared_experts.gate_proj.weight", i, S, H);
			NEED2(k, "model.layers.%d.mlp.shared_experts.up_proj.weight", i, S, H);
			NEED2(k, "model.layers.%d.mlp.shared_experts.down_proj.weight", i, H, S);
		}
		for (int e = 0; e < c->n_experts && k->st == OCR2_OK; e++) {
			char fmt[128];
			const int M = c->moe_intermediate;
			snprintf(fmt, sizeof fmt, "model.layers.%d.mlp.experts.%%d.gate_proj.weight", i);
			NEED2(k, fmt, e, M, H);
			snprintf(fmt, sizeof fmt, "model.layers.%d.mlp.experts.%%d.up_proj.weight", i);
			NEED2(k, fmt, e, M, H);
			snprintf(fmt, sizeof fmt, "model.layers.%d.mlp.experts.%%d.down_proj.weight", i);
			NEED2(k, fmt, e, H, M);
		}
	}
	NEED1(k, "model.norm.weight", 0, H);
	NEED2(k, "lm_head.weight", 0, c->vocab, H);
}

ocr2_status ocr2_model_check_tensors(const ocr2_weights *w, const ocr2_config *c,
				     const char *dir)
{
	checker k = {w, dir, OCR2_OK, 0};
	check_sam(&k, c);
	check_encoder(&k, c);
	check_lm(&k, c);
	return k.st;
}

/* bf16/f16/f32 are finite unless the exponent bits are all ones. */
static int64_t first_nonfinite(const ocr2_tensor *t)
{
	switch (t->dtype) {
	case OCR2_DT_BF16:
	case OCR2_DT_F16: {
		const uint16_t *p = t->data;
		const uint16_t m = t->dtype == OCR2_DT_BF16 ? 0x7f80 : 0x7c00;
		for (int64_t i = 0; i < t->nelem; i++)
			if ((p[i] & m) == m)
				return i;
		return -1;
	}
	case OCR2_DT_F32: {
		const uint32_t *p = t->data;
		for (int64_t i = 0; i < t->nelem; i++)
			if ((p[i] & 0x7f800000u) == 0x7f800000u)
				return i;
		return -1;
	}
	case OCR2_DT_Q8:
		/* the int8 part is always finite; the scales are their own F32 tensor */
		return -1;
	default:
		return -1;
	}
}

ocr2_status ocr2_weights_check_finite(const ocr2_weights *w, const char *dir)
{
	for (int i = 0; i < ocr2_weights_count(w); i++) {
		const ocr2_tensor *t = ocr2_weights_at(w, i);
		int64_t j = first_nonfinite(t);
		if (j >= 0) {
			float v = ocr2_tensor_f32(t, j);
			return ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s holds %s at element %lld", dir,
					 t->name, v != v ? "NaN" : "an infinity", (long long)j);
		}
	}
	return OCR2_OK;
}
