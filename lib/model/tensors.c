/* tensors.c - the tensor table of tensors.h (MODEL.md §2.2) made concrete for
 * one config: names, shapes, the walk `model check` makes, and the lookup the
 * loaders bind through. */
#include <stdio.h>

#include "model/tensors.h"

static const struct {
	const char *name; /* printf format: layer, then expert */
	ocr2_tensor_scope scope;
} table[OCR2_TF_COUNT] = {
#define ROW(id, scope, name, ...) [OCR2_TF_##id] = {name, OCR2_TS_##scope},
	OCR2_TENSORS(ROW)
#undef ROW
};

bool ocr2_sam_block_global(const ocr2_config *c, int block)
{
	for (int g = 0; g < c->sam_n_global; g++)
		if (c->sam_global[g] == block)
			return true;
	return false;
}

static int set_dims(int dims[4], const int *d, int n)
{
	for (int i = 0; i < n; i++)
		dims[i] = d[i];
	return n;
}

int ocr2_tensor_spec(const ocr2_config *c, ocr2_tensor_family f, int layer, int expert,
		     char *name, size_t cap, int dims[4])
{
	snprintf(name, cap, table[f].name, layer, expert);
	/* the symbols of MODEL.md §2.2 (divisions guarded: a config that would
	 * divide by zero fails the loaders' own checks, not here) */
	const int P = c->patch, G = P ? c->base_size / P : 0;
	const int Ws = c->sam_width, hds = c->sam_heads ? Ws / c->sam_heads : 0, Ms = c->sam_mlp;
	/* global blocks keep the 2*64-1 rows they were trained with at 1024 */
	const int Rs = 2 * (ocr2_sam_block_global(c, layer) ? G : c->sam_window) - 1;
	const int C = c->sam_neck, C2 = c->sam_net2;
	const int E = c->enc_hidden, Ie = c->enc_intermediate;
	const int kvd = c->enc_heads ? c->enc_kv_heads * (E / c->enc_heads) : 0;
	const int q768 = P ? c->tile_size / P / 4 : 0, q1024 = P ? c->base_size / P / 4 : 0;
	const int Q768 = q768 * q768, Q1024 = q1024 * q1024;
	const int H = c->hidden, V = c->vocab, I = c->intermediate, X = c->n_experts;
	const int qd = c->n_heads * c->head_dim, kd = c->n_kv_heads * c->head_dim;
	const int Im = c->moe_intermediate, Ims = c->moe_intermediate * c->n_shared_experts;
	switch (f) {
#define SHAPE(id, scope, name, ...)                                                        \
	case OCR2_TF_##id:                                                                 \
		return set_dims(dims, (const int[]){__VA_ARGS__},                          \
				(int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)));
		OCR2_TENSORS(SHAPE)
#undef SHAPE
	case OCR2_TF_COUNT:
		break;
	}
	return 0;
}

ocr2_status ocr2_tensor_bind(const ocr2_weights *w, const ocr2_config *c, ocr2_tensor_family f,
			     int layer, int expert, const ocr2_tensor **out)
{
	char name[256];
	int d[4];
	switch (ocr2_tensor_spec(c, f, layer, expert, name, sizeof name, d)) {
	case 1: return ocr2_weights_expect(w, out, name, d[0], -1);
	case 2: return ocr2_weights_expect(w, out, name, d[0], d[1], -1);
	case 3: return ocr2_weights_expect(w, out, name, d[0], d[1], d[2], -1);
	default: return ocr2_weights_expect(w, out, name, d[0], d[1], d[2], d[3], -1);
	}
}

/* The layer loop a scope belongs to: 0 none, 1 SAM, 2 flow, 3 decoder. */
static int loop_of(ocr2_tensor_scope s)
{
	switch (s) {
	case OCR2_TS_ONCE: return 0;
	case OCR2_TS_SAM_BLOCK: return 1;
	case OCR2_TS_FLOW_LAYER: return 2;
	default: return 3;
	}
}

/* Whether a per-layer family occurs at layer l. */
static bool occurs(const ocr2_config *c, ocr2_tensor_scope s, int l)
{
	switch (s) {
	case OCR2_TS_LM_DENSE: return l < c->first_k_dense;
	case OCR2_TS_LM_MOE:
	case OCR2_TS_LM_EXPERT: return l >= c->first_k_dense;
	case OCR2_TS_LM_SHARED: return l >= c->first_k_dense && c->n_shared_experts != 0;
	default: return true;
	}
}

ocr2_status ocr2_tensors_walk(const ocr2_config *c,
			      ocr2_status (*fn)(void *user, ocr2_tensor_family f, int layer,
						int expert),
			      void *user)
{
	ocr2_status st = OCR2_OK;
	for (int i = 0; i < OCR2_TF_COUNT && st == OCR2_OK;) {
		int loop = loop_of(table[i].scope);
		if (!loop) {
			st = fn(user, (ocr2_tensor_family)i++, 0, 0);
			continue;
		}
		int end = i + 1; /* [i, end): the families of one layer loop */
		while (end < OCR2_TF_COUNT && loop_of(table[end].scope) == loop)
			end++;
		int layers = loop == 1 ? c->sam_layers : loop == 2 ? c->enc_layers : c->n_layers;
		for (int l = 0; l < layers && st == OCR2_OK; l++)
			for (int f = i; f < end && st == OCR2_OK; f++) {
				ocr2_tensor_scope s = table[f].scope;
				if (s != OCR2_TS_LM_EXPERT) {
					if (occurs(c, s, l))
						st = fn(user, (ocr2_tensor_family)f, l, 0);
					continue;
				}
				int g = f; /* [f, g): the families of one expert */
				while (g < end && table[g].scope == OCR2_TS_LM_EXPERT)
					g++;
				if (occurs(c, s, l))
					for (int e = 0; e < c->n_experts && st == OCR2_OK; e++)
						for (int h = f; h < g && st == OCR2_OK; h++)
							st = fn(user, (ocr2_tensor_family)h, l, e);
				f = g - 1;
			}
		i = end;
	}
	return st;
}
