/* config.c - config.json: the published hyper-parameters as defaults, the
 * fields ocr2 reads, and the sanity limits that keep a hostile config from
 * sizing buffers absurdly.
 *
 * Fields read (MODEL.md §1). The language model's fields are read at the top
 * level, falling back to "language_config" (the published file has both):
 *   hidden_size 1280, num_hidden_layers 12, num_attention_heads 10,
 *   num_key_value_heads (= num_attention_heads), intermediate_size 6848,
 *   moe_intermediate_size 896, n_routed_experts 64, num_experts_per_tok 6,
 *   n_shared_experts 2, first_k_dense_replace 1, vocab_size 129280,
 *   max_position_embeddings 8192, bos_token_id 0, eos_token_id 1,
 *   rope_theta 10000, rms_norm_eps 1e-6, norm_topk_prob false,
 *   routed_scaling_factor 1.0, image_token_id 128815 (ocr2's own field).
 * Vision, under vision_config.width:
 *   "sam_vit_b": width 768, layers 12, heads 12, global_attn_indexes
 *     [2,5,8,11], downsample_channels [512, ...] (first entry: net_2's output
 *     channels; the second entry is stale, net_3 outputs the flow encoder's
 *     width), and ocr2's own optional fields mlp_dim (4 * width),
 *     window_size 14, neck_channels 256.
 *   "qwen2-0-5b": dim 896, and ocr2's own optional fields layers 24, heads 14,
 *     kv_heads 2, intermediate_size 4864, rope_theta 1e6, rms_norm_eps 1e-6.
 * ocr2's own fields exist so a tiny test model can shrink every dimension;
 * the published config.json has none of them and loads unchanged.
 * Features the model does not use (MLA, rope scaling, other routers or
 * activations) are refused rather than silently ignored. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "compute/kernels.h"
#include "model/model.h"

#define MAX_HIDDEN 65536
#define MAX_LAYERS 1024
#define MAX_VOCAB (1 << 24)
#define MAX_EXPERTS 4096
#define MAX_FFN (1 << 20)
#define MAX_POS (1 << 20)
#define MAX_MATRIX 2147483647LL /* elements of one weight matrix: fits an int */

void ocr2_config_default(ocr2_config *c)
{
	memset(c, 0, sizeof *c);
	c->hidden = 1280;
	c->n_layers = 12;
	c->n_heads = 10;
	c->n_kv_heads = 10;
	c->head_dim = 128;
	c->intermediate = 6848;
	c->moe_intermediate = 896;
	c->n_experts = 64;
	c->n_experts_per_tok = 6;
	c->n_shared_experts = 2;
	c->first_k_dense = 1;
	c->vocab = 129280;
	c->max_pos = 8192;
	c->bos_id = 0;
	c->eos_id = 1;
	c->rope_theta = 10000.0f;
	c->rms_eps = 1e-6f;
	c->norm_topk_prob = false;
	c->routed_scaling = 1.0f;

	c->sam_width = 768;
	c->sam_layers = 12;
	c->sam_heads = 12;
	c->sam_mlp = 3072;
	c->sam_window = 14;
	c->sam_n_global = 4;
	c->sam_global[0] = 2;
	c->sam_global[1] = 5;
	c->sam_global[2] = 8;
	c->sam_global[3] = 11;
	c->sam_neck = 256;
	c->sam_net2 = 512;

	c->enc_hidden = 896;
	c->enc_layers = 24;
	c->enc_heads = 14;
	c->enc_kv_heads = 2;
	c->enc_intermediate = 4864;
	c->enc_rope_theta = 1e6f;
	c->enc_rms_eps = 1e-6f;

	c->patch = 16;
	c->base_size = 1024;
	c->tile_size = 768;
	c->min_crops = 2;
	c->max_crops = 6;
	c->image_token_id = 128815;
}

typedef struct {
	const char *what; /* the file, for messages */
	ocr2_status st;
} ctx;

static bool ok(const ctx *x)
{
	return x->st == OCR2_OK;
}

/* An integer field in [lo, hi]; absent or null keeps *out. */
static void get_int(ctx *x, const json_value *v, const char *field, int lo, int hi, int *out)
{
	if (!ok(x) || !v || v->type == JSON_NULL)
		return;
	if (v->type != JSON_NUMBER || v->num != floor(v->num) || v->num < lo || v->num > hi) {
		x->st = ocr2_fail(OCR2_ERR_MODEL, "%s: %s must be an integer in [%d, %d]", x->what,
				  field, lo, hi);
		return;
	}
	*out = (int)v->num;
}

/* A positive finite number below hi; absent or null keeps *out. */
static void get_pos(ctx *x, const json_value *v, const char *field, double hi, float *out)
{
	if (!ok(x) || !v || v->type == JSON_NULL)
		return;
	if (v->type != JSON_NUMBER || !(v->num > 0) || !(v->num < hi) ||
	    !isfinite((float)v->num) || (float)v->num <= 0) {
		x->st = ocr2_fail(OCR2_ERR_MODEL, "%s: %s must be a positive number below %g",
				  x->what, field, hi);
		return;
	}
	*out = (float)v->num;
}

static void get_bool(ctx *x, const json_value *v, const char *field, bool *out)
{
	if (!ok(x) || !v || v->type == JSON_NULL)
		return;
	if (v->type != JSON_BOOL) {
		x->st = ocr2_fail(OCR2_ERR_MODEL, "%s: %s must be true or false", x->what, field);
		return;
	}
	*out = v->b;
}

/* A string field that, when present, must say `want`. */
static void want_str(ctx *x, const json_value *v, const char *field, const char *want)
{
	if (!ok(x) || !v || v->type == JSON_NULL)
		return;
	if (v->type != JSON_STRING || strcmp(v->str, want))
		x->st = ocr2_fail(OCR2_ERR_MODEL, "%s: %s: only \"%s\" is supported", x->what,
				  field, want);
}

static void fail(ctx *x, const char *fmt, const char *field)
{
	if (ok(x))
		x->st = ocr2_fail(OCR2_ERR_MODEL, fmt, x->what, field);
}

/* Top level first, then language_config. */
static const json_value *lm(const json_value *root, const json_value *lc, const char *key)
{
	const json_value *v = json_get(root, key);
	if (v && v->type != JSON_NULL)
		return v;
	return json_get(lc, key);
}

static void check_matrix(ctx *x, long long rows, long long cols, const char *what)
{
	if (ok(x) && rows * cols > MAX_MATRIX)
		x->st = ocr2_fail(OCR2_ERR_MODEL,
				  "%s: %s has %lld x %lld elements, more than one matrix may hold",
				  x->what, what, rows, cols);
}

static void parse_lm(ctx *x, const json_value *root, ocr2_config *c)
{
	const json_value *lc = json_get(root, "language_config");
	if (lc && lc->type != JSON_OBJECT && lc->type != JSON_NULL)
		fail(x, "%s: %s must be an object", "language_config");
	get_int(x, lm(root, lc, "hidden_size"), "hidden_size", 1, MAX_HIDDEN, &c->hidden);
	get_int(x, lm(root, lc, "num_hidden_layers"), "num_hidden_layers", 1, MAX_LAYERS,
		&c->n_layers);
	get_int(x, lm(root, lc, "num_attention_heads"), "num_attention_heads", 1, MAX_HIDDEN,
		&c->n_heads);
	c->n_kv_heads = c->n_heads; /* the DeepseekV2Config rule when absent */
	get_int(x, lm(root, lc, "num_key_value_heads"), "num_key_value_heads", 1, MAX_HIDDEN,
		&c->n_kv_heads);
	get_int(x, lm(root, lc, "intermediate_size"), "intermediate_size", 1, MAX_FFN,
		&c->intermediate);
	get_int(x, lm(root, lc, "moe_intermediate_size"), "moe_intermediate_size", 1, MAX_FFN,
		&c->moe_intermediate);
	get_int(x, lm(root, lc, "n_routed_experts"), "n_routed_experts", 1, MAX_EXPERTS,
		&c->n_experts);
	get_int(x, lm(root, lc, "num_experts_per_tok"), "num_experts_per_tok", 1, MAX_EXPERTS,
		&c->n_experts_per_tok);
	get_int(x, lm(root, lc, "n_shared_experts"), "n_shared_experts", 0, MAX_EXPERTS,
		&c->n_shared_experts);
	get_int(x, lm(root, lc, "first_k_dense_replace"), "first_k_dense_replace", 0, MAX_LAYERS,
		&c->first_k_dense);
	get_int(x, lm(root, lc, "vocab_size"), "vocab_size", 1, MAX_VOCAB, &c->vocab);
	get_int(x, lm(root, lc, "max_position_embeddings"), "max_position_embeddings", 1, MAX_POS,
		&c->max_pos);
	get_int(x, lm(root, lc, "bos_token_id"), "bos_token_id", 0, MAX_VOCAB, &c->bos_id);
	get_int(x, lm(root, lc, "eos_token_id"), "eos_token_id", 0, MAX_VOCAB, &c->eos_id);
	get_int(x, lm(root, lc, "image_token_id"), "image_token_id", 0, MAX_VOCAB,
		&c->image_token_id);
	get_pos(x, lm(root, lc, "rope_theta"), "rope_theta", 1e12, &c->rope_theta);
	get_pos(x, lm(root, lc, "rms_norm_eps"), "rms_norm_eps", 1.0, &c->rms_eps);
	get_pos(x, lm(root, lc, "routed_scaling_factor"), "routed_scaling_factor", 1e6,
		&c->routed_scaling);
	get_bool(x, lm(root, lc, "norm_topk_prob"), "norm_topk_prob", &c->norm_topk_prob);

	/* what this implementation does not do */
	bool mla = false;
	get_bool(x, lm(root, lc, "use_mla"), "use_mla", &mla);
	if (mla)
		fail(x, "%s: %s: multi-head latent attention is not supported", "use_mla");
	const json_value *rs = lm(root, lc, "rope_scaling");
	if (rs && rs->type != JSON_NULL)
		fail(x, "%s: %s: RoPE scaling is not supported", "rope_scaling");
	want_str(x, lm(root, lc, "topk_method"), "topk_method", "greedy");
	want_str(x, lm(root, lc, "scoring_func"), "scoring_func", "softmax");
	want_str(x, lm(root, lc, "hidden_act"), "hidden_act", "silu");
	bool ab = false;
	get_bool(x, lm(root, lc, "attention_bias"), "attention_bias", &ab);
	if (ab)
		fail(x, "%s: %s: attention biases are not supported", "attention_bias");
	int freq = 1;
	get_int(x, lm(root, lc, "moe_layer_freq"), "moe_layer_freq", 1, MAX_LAYERS, &freq);
	if (freq != 1)
		fail(x, "%s: %s: only 1 is supported", "moe_layer_freq");
	if (!ok(x))
		return;

	if (c->hidden % c->n_heads)
		fail(x, "%s: %s does not divide hidden_size", "num_attention_heads");
	else if (c->n_heads % c->n_kv_heads)
		fail(x, "%s: %s does not divide num_attention_heads", "num_key_value_heads");
	else if ((c->hidden / c->n_heads) % 2)
		fail(x, "%s: %s gives an odd head dimension (RoPE needs it even)",
		     "num_attention_heads");
	else if (c->hidden / c->n_heads > OCR2_MAX_HEAD_DIM) /* = 512, the message's */
		fail(x, "%s: %s gives a head dimension above 512", "num_attention_heads");
	else if (c->n_experts_per_tok > c->n_experts)
		fail(x, "%s: %s exceeds n_routed_experts", "num_experts_per_tok");
	else if (c->first_k_dense > c->n_layers)
		fail(x, "%s: %s exceeds num_hidden_layers", "first_k_dense_replace");
	else if (c->bos_id >= c->vocab)
		fail(x, "%s: %s is not below vocab_size", "bos_token_id");
	else if (c->eos_id >= c->vocab)
		fail(x, "%s: %s is not below vocab_size", "eos_token_id");
	else if (c->image_token_id >= c->vocab)
		fail(x, "%s: %s is not below vocab_size", "image_token_id");
	c->head_dim = c->hidden / c->n_heads;
	check_matrix(x, c->vocab, c->hidden, "vocab_size x hidden_size");
	check_matrix(x, c->intermediate, c->hidden, "intermediate_size x hidden_size");
	check_matrix(x, (long long)c->moe_intermediate * (c->n_shared_experts ? c->n_shared_experts : 1),
		     c->hidden, "moe_intermediate_size x n_shared_experts x hidden_size");
	check_matrix(x, c->n_experts, c->hidden, "n_routed_experts x hidden_size");
}

static void parse_sam(ctx *x, const json_value *s, ocr2_config *c)
{
#define F(k) "vision_config.width.sam_vit_b." k
	if (!s)
		return;
	if (s->type != JSON_OBJECT) {
		fail(x, "%s: %s must be an object", F(""));
		return;
	}
	get_int(x, json_get(s, "width"), F("width"), 1, MAX_HIDDEN, &c->sam_width);
	get_int(x, json_get(s, "layers"), F("layers"), 1, MAX_LAYERS, &c->sam_layers);
	get_int(x, json_get(s, "heads"), F("heads"), 1, MAX_HIDDEN, &c->sam_heads);
	c->sam_mlp = 4 * c->sam_width;
	get_int(x, json_get(s, "mlp_dim"), F("mlp_dim"), 1, MAX_FFN, &c->sam_mlp);
	get_int(x, json_get(s, "window_size"), F("window_size"), 1, 64, &c->sam_window);
	get_int(x, json_get(s, "neck_channels"), F("neck_channels"), 1, MAX_HIDDEN, &c->sam_neck);
	const json_value *ds = json_get(s, "downsample_channels");
	if (ds && ds->type != JSON_NULL) {
		if (ds->type != JSON_ARRAY || ds->len < 1)
			fail(x, "%s: %s must be a non-empty array", F("downsample_channels"));
		else
			get_int(x, &ds->items[0], F("downsample_channels[0]"), 1, MAX_HIDDEN,
				&c->sam_net2);
	}
	const json_value *g = json_get(s, "global_attn_indexes");
	if (ok(x) && g && g->type != JSON_NULL) {
		int n = (int)(sizeof c->sam_global / sizeof c->sam_global[0]);
		if (g->type != JSON_ARRAY || g->len > (size_t)n) {
			x->st = ocr2_fail(OCR2_ERR_MODEL, "%s: %s must be an array of at most %d",
					  x->what, F("global_attn_indexes"), n);
			return;
		}
		c->sam_n_global = (int)g->len;
		for (int i = 0; i < c->sam_n_global; i++) {
			const json_value *v = &g->items[i];
			if (v->type != JSON_NUMBER || v->num != floor(v->num) || v->num < 0 ||
			    v->num >= c->sam_layers ||
			    (i && v->num <= c->sam_global[i - 1])) {
				x->st = ocr2_fail(OCR2_ERR_MODEL,
						  "%s: %s must be increasing block numbers below "
						  "layers (%d)",
						  x->what, F("global_attn_indexes"), c->sam_layers);
				return;
			}
			c->sam_global[i] = (int)v->num;
		}
	} else if (ok(x)) {
		/* the published indexes only make sense for a 12-block SAM */
		for (int i = 0; i < c->sam_n_global; i++)
			if (c->sam_global[i] >= c->sam_layers)
				fail(x, "%s: %s needed: the default does not fit layers",
				     F("global_attn_indexes"));
	}
	if (!ok(x))
		return;
	if (c->sam_width % c->sam_heads)
		fail(x, "%s: %s does not divide width", F("heads"));
	check_matrix(x, 3LL * c->sam_width, c->sam_width, F("width x 3 x width"));
	check_matrix(x, c->sam_mlp, c->sam_width, F("mlp_dim x width"));
	check_matrix(x, 64LL * 64, c->sam_width, F("64 x 64 x width"));
	check_matrix(x, c->sam_neck, c->sam_width * 9LL, F("neck_channels x width"));
	check_matrix(x, c->sam_net2, c->sam_neck * 9LL, F("downsample_channels[0] x neck_channels"));
#undef F
}

static void parse_enc(ctx *x, const json_value *q, ocr2_config *c)
{
#define F(k) "vision_config.width.qwen2-0-5b." k
	if (!q)
		return;
	if (q->type != JSON_OBJECT) {
		fail(x, "%s: %s must be an object", F(""));
		return;
	}
	get_int(x, json_get(q, "dim"), F("dim"), 1, MAX_HIDDEN, &c->enc_hidden);
	get_int(x, json_get(q, "layers"), F("layers"), 1, MAX_LAYERS, &c->enc_layers);
	get_int(x, json_get(q, "heads"), F("heads"), 1, MAX_HIDDEN, &c->enc_heads);
	get_int(x, json_get(q, "kv_heads"), F("kv_heads"), 1, MAX_HIDDEN, &c->enc_kv_heads);
	get_int(x, json_get(q, "intermediate_size"), F("intermediate_size"), 1, MAX_FFN,
		&c->enc_intermediate);
	get_pos(x, json_get(q, "rope_theta"), F("rope_theta"), 1e12, &c->enc_rope_theta);
	get_pos(x, json_get(q, "rms_norm_eps"), F("rms_norm_eps"), 1.0, &c->enc_rms_eps);
#undef F
}

static void check_enc(ctx *x, ocr2_config *c)
{
#define F(k) "vision_config.width.qwen2-0-5b." k
	if (!ok(x))
		return;
	if (c->enc_hidden % c->enc_heads)
		fail(x, "%s: %s does not divide dim", F("heads"));
	else if (c->enc_heads % c->enc_kv_heads)
		fail(x, "%s: %s does not divide heads", F("kv_heads"));
	else if ((c->enc_hidden / c->enc_heads) % 2)
		fail(x, "%s: %s gives an odd head dimension (RoPE needs it even)", F("heads"));
	else if (c->enc_hidden / c->enc_heads > OCR2_MAX_HEAD_DIM)
		fail(x, "%s: %s gives a head dimension above 512", F("heads"));
	check_matrix(x, c->enc_intermediate, c->enc_hidden, F("intermediate_size x dim"));
	check_matrix(x, c->enc_hidden, c->sam_net2 * 9LL, F("dim x downsample_channels[0] x 9"));
	check_matrix(x, c->hidden, c->enc_hidden, "hidden_size x vision dim");
#undef F
}

ocr2_status ocr2_config_parse(const char *text, size_t n, const char *what, ocr2_config *out)
{
	ocr2_config c;
	ocr2_config_default(&c);
	json_value *root = json_parse(text, n, what);
	if (!root)
		return OCR2_ERR_MODEL; /* message: "<what>: invalid JSON: ..." */
	ctx x = {what, OCR2_OK};
	if (root->type != JSON_OBJECT) {
		json_free(root);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: not a JSON object", what);
	}
	parse_lm(&x, root, &c);
	const json_value *vc = json_get(root, "vision_config");
	if (ok(&x) && vc && vc->type != JSON_OBJECT && vc->type != JSON_NULL)
		fail(&x, "%s: %s must be an object", "vision_config");
	if (ok(&x) && vc) {
		int img = c.base_size;
		get_int(&x, json_get(vc, "image_size"), "vision_config.image_size", 1, 1 << 16, &img);
		if (img != c.base_size)
			fail(&x, "%s: %s: only 1024 is supported", "vision_config.image_size");
		const json_value *wd = json_get(vc, "width");
		if (wd && wd->type != JSON_OBJECT && wd->type != JSON_NULL)
			fail(&x, "%s: %s must be an object", "vision_config.width");
		parse_sam(&x, json_get(wd, "sam_vit_b"), &c);
		parse_enc(&x, json_get(wd, "qwen2-0-5b"), &c);
	} else if (ok(&x)) {
		parse_sam(&x, NULL, &c);
	}
	check_enc(&x, &c);
	json_free(root);
	if (!ok(&x))
		return x.st;
	*out = c;
	return OCR2_OK;
}

ocr2_status ocr2_config_load(const char *path, ocr2_config *out)
{
	char *text;
	size_t len;
	ocr2_status st = ocr2_read_file(path, 16u << 20 /* published: 2.6 kB */, OCR2_ERR_MODEL,
					&text, &len);
	if (st)
		return st;
	st = ocr2_config_parse(text, len, path, out);
	free(text);
	return st;
}
