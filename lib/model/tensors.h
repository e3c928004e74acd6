/* tensors.h - the one description of the checkpoint's tensors (MODEL.md §2.2):
 * every family's name, where it occurs and its shape in terms of the config.
 *
 * `ocr2 model check` walks it (ocr2_model_check_tensors in check.c), and the
 * loaders (enc_load, dec_load) bind their tensors through it by family, so a
 * tensor is added, renamed or reshaped in OCR2_TENSORS below and nowhere else
 * (a new one also needs the loader that reads it). */
#ifndef OCR2_MODEL_TENSORS_H
#define OCR2_MODEL_TENSORS_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

/* Where a family occurs. The LM_ scopes are all once per decoder layer i,
 * narrowed as noted. */
typedef enum {
	OCR2_TS_ONCE,
	OCR2_TS_SAM_BLOCK,  /* i < sam_layers */
	OCR2_TS_FLOW_LAYER, /* i < enc_layers */
	OCR2_TS_LM_LAYER,   /* i < n_layers */
	OCR2_TS_LM_DENSE,   /* i < first_k_dense */
	OCR2_TS_LM_MOE,     /* i >= first_k_dense */
	OCR2_TS_LM_SHARED,  /* i >= first_k_dense, when n_shared_experts > 0 */
	OCR2_TS_LM_EXPERT,  /* i >= first_k_dense, once per routed expert e < n_experts */
} ocr2_tensor_scope;

/* Name prefixes of the per-layer families. */
#define OCR2_TN_SAM "model.sam_model.blocks.%d."
#define OCR2_TN_FLOW "model.qwen2_model.model.model.layers.%d."
#define OCR2_TN_LM "model.layers.%d."

/* F(ID, SCOPE, NAME, dims...), in the order `model check` reports: SAM, flow
 * encoder, projector, language model, each half's per-layer families standing
 * together (they are walked layer by layer, the experts of a layer expert by
 * expert). NAME is printf'd with the layer, then the expert. The dims are
 * expressions in the symbols of MODEL.md §2.2, defined from the config in
 * ocr2_tensor_spec (tensors.c):
 *   P patch (16), G base_size/patch (64), Ws sam_width, hds Ws/sam_heads,
 *   Ms sam_mlp, Rs rel-pos rows (2G-1 in sam_global blocks, 2*sam_window-1
 *   elsewhere), C sam_neck, C2 sam_net2; E enc_hidden, kvd
 *   enc_kv_heads*E/enc_heads, Ie enc_intermediate, Q768 and Q1024 the query
 *   counts ((768/P/4)^2, (1024/P/4)^2); H hidden, V vocab, qd n_heads*head_dim,
 *   kd n_kv_heads*head_dim, I intermediate, X n_experts, Im moe_intermediate,
 *   Ims Im*n_shared_experts. */
#define OCR2_TENSORS(F)                                                                            \
	/* MODEL.md §2.2: SAM ViT-B, prefix model.sam_model. */                                    \
	F(SAM_PATCH_W, ONCE, "model.sam_model.patch_embed.proj.weight", Ws, 3, P, P)               \
	F(SAM_PATCH_B, ONCE, "model.sam_model.patch_embed.proj.bias", Ws)                          \
	F(SAM_POS, ONCE, "model.sam_model.pos_embed", 1, G, G, Ws)                                 \
	F(SAM_NORM1_W, SAM_BLOCK, OCR2_TN_SAM "norm1.weight", Ws)                                  \
	F(SAM_NORM1_B, SAM_BLOCK, OCR2_TN_SAM "norm1.bias", Ws)                                    \
	F(SAM_QKV_W, SAM_BLOCK, OCR2_TN_SAM "attn.qkv.weight", 3 * Ws, Ws)                         \
	F(SAM_QKV_B, SAM_BLOCK, OCR2_TN_SAM "attn.qkv.bias", 3 * Ws)                               \
	F(SAM_PROJ_W, SAM_BLOCK, OCR2_TN_SAM "attn.proj.weight", Ws, Ws)                           \
	F(SAM_PROJ_B, SAM_BLOCK, OCR2_TN_SAM "attn.proj.bias", Ws)                                 \
	F(SAM_REL_H, SAM_BLOCK, OCR2_TN_SAM "attn.rel_pos_h", Rs, hds)                             \
	F(SAM_REL_W, SAM_BLOCK, OCR2_TN_SAM "attn.rel_pos_w", Rs, hds)                             \
	F(SAM_NORM2_W, SAM_BLOCK, OCR2_TN_SAM "norm2.weight", Ws)                                  \
	F(SAM_NORM2_B, SAM_BLOCK, OCR2_TN_SAM "norm2.bias", Ws)                                    \
	F(SAM_LIN1_W, SAM_BLOCK, OCR2_TN_SAM "mlp.lin1.weight", Ms, Ws)                            \
	F(SAM_LIN1_B, SAM_BLOCK, OCR2_TN_SAM "mlp.lin1.bias", Ms)                                  \
	F(SAM_LIN2_W, SAM_BLOCK, OCR2_TN_SAM "mlp.lin2.weight", Ws, Ms)                            \
	F(SAM_LIN2_B, SAM_BLOCK, OCR2_TN_SAM "mlp.lin2.bias", Ws)                                  \
	F(SAM_NECK0, ONCE, "model.sam_model.neck.0.weight", C, Ws, 1, 1)                           \
	F(SAM_NECK1_W, ONCE, "model.sam_model.neck.1.weight", C)                                   \
	F(SAM_NECK1_B, ONCE, "model.sam_model.neck.1.bias", C)                                     \
	F(SAM_NECK2, ONCE, "model.sam_model.neck.2.weight", C, C, 3, 3)                            \
	F(SAM_NECK3_W, ONCE, "model.sam_model.neck.3.weight", C)                                   \
	F(SAM_NECK3_B, ONCE, "model.sam_model.neck.3.bias", C)                                     \
	F(SAM_NET2, ONCE, "model.sam_model.net_2.weight", C2, C, 3, 3)                             \
	F(SAM_NET3, ONCE, "model.sam_model.net_3.weight", E, C2, 3, 3)                             \
	/* flow encoder, prefix model.qwen2_model. (layers under model.model.) */                  \
	F(FLOW_IN_NORM, FLOW_LAYER, OCR2_TN_FLOW "input_layernorm.weight", E)                      \
	F(FLOW_Q_W, FLOW_LAYER, OCR2_TN_FLOW "self_attn.q_proj.weight", E, E)                      \
	F(FLOW_Q_B, FLOW_LAYER, OCR2_TN_FLOW "self_attn.q_proj.bias", E)                           \
	F(FLOW_K_W, FLOW_LAYER, OCR2_TN_FLOW "self_attn.k_proj.weight", kvd, E)                    \
	F(FLOW_K_B, FLOW_LAYER, OCR2_TN_FLOW "self_attn.k_proj.bias", kvd)                         \
	F(FLOW_V_W, FLOW_LAYER, OCR2_TN_FLOW "self_attn.v_proj.weight", kvd, E)                    \
	F(FLOW_V_B, FLOW_LAYER, OCR2_TN_FLOW "self_attn.v_proj.bias", kvd)                         \
	F(FLOW_O, FLOW_LAYER, OCR2_TN_FLOW "self_attn.o_proj.weight", E, E)                        \
	F(FLOW_POST_NORM, FLOW_LAYER, OCR2_TN_FLOW "post_attention_layernorm.weight", E)           \
	F(FLOW_GATE, FLOW_LAYER, OCR2_TN_FLOW "mlp.gate_proj.weight", Ie, E)                       \
	F(FLOW_UP, FLOW_LAYER, OCR2_TN_FLOW "mlp.up_proj.weight", Ie, E)                           \
	F(FLOW_DOWN, FLOW_LAYER, OCR2_TN_FLOW "mlp.down_proj.weight", E, Ie)                       \
	F(FLOW_NORM, ONCE, "model.qwen2_model.model.model.norm.weight", E)                         \
	F(FLOW_QUERY_768, ONCE, "model.qwen2_model.query_768.weight", Q768, E)                     \
	F(FLOW_QUERY_1024, ONCE, "model.qwen2_model.query_1024.weight", Q1024, E)                  \
	/* projector and separator */                                                              \
	F(PROJ_W, ONCE, "model.projector.layers.weight", H, E)                                     \
	F(PROJ_B, ONCE, "model.projector.layers.bias", H)                                          \
	F(VIEW_SEP, ONCE, "model.view_seperator", H)                                               \
	/* language model, prefix model. (but lm_head) */                                          \
	F(LM_EMBED, ONCE, "model.embed_tokens.weight", V, H)                                       \
	F(LM_IN_NORM, LM_LAYER, OCR2_TN_LM "input_layernorm.weight", H)                            \
	F(LM_Q, LM_LAYER, OCR2_TN_LM "self_attn.q_proj.weight", qd, H)                             \
	F(LM_K, LM_LAYER, OCR2_TN_LM "self_attn.k_proj.weight", kd, H)                             \
	F(LM_V, LM_LAYER, OCR2_TN_LM "self_attn.v_proj.weight", kd, H)                             \
	F(LM_O, LM_LAYER, OCR2_TN_LM "self_attn.o_proj.weight", H, qd)                             \
	F(LM_POST_NORM, LM_LAYER, OCR2_TN_LM "post_attention_layernorm.weight", H)                 \
	F(LM_GATE, LM_DENSE, OCR2_TN_LM "mlp.gate_proj.weight", I, H)                              \
	F(LM_UP, LM_DENSE, OCR2_TN_LM "mlp.up_proj.weight", I, H)                                  \
	F(LM_DOWN, LM_DENSE, OCR2_TN_LM "mlp.down_proj.weight", H, I)                              \
	F(LM_ROUTER, LM_MOE, OCR2_TN_LM "mlp.gate.weight", X, H)                                   \
	F(LM_SHARED_GATE, LM_SHARED, OCR2_TN_LM "mlp.shared_experts.gate_proj.weight", Ims, H)     \
	F(LM_SHARED_UP, LM_SHARED, OCR2_TN_LM "mlp.shared_experts.up_proj.weight", Ims, H)         \
	F(LM_SHARED_DOWN, LM_SHARED, OCR2_TN_LM "mlp.shared_experts.down_proj.weight", H, Ims)     \
	F(LM_EXPERT_GATE, LM_EXPERT, OCR2_TN_LM "mlp.experts.%d.gate_proj.weight", Im, H)          \
	F(LM_EXPERT_UP, LM_EXPERT, OCR2_TN_LM "mlp.experts.%d.up_proj.weight", Im, H)              \
	F(LM_EXPERT_DOWN, LM_EXPERT, OCR2_TN_LM "mlp.experts.%d.down_proj.weight", H, Im)          \
	F(LM_NORM, ONCE, "model.norm.weight", H)                                                   \
	F(LM_HEAD, ONCE, "lm_head.weight", V, H)

typedef enum {
#define OCR2_TF_ENUM(id, ...) OCR2_TF_##id,
	OCR2_TENSORS(OCR2_TF_ENUM)
#undef OCR2_TF_ENUM
	OCR2_TF_COUNT
} ocr2_tensor_family;

/* The name of family f at layer (and expert) into name[cap], its shape into
 * dims; returns the number of dims. */
int ocr2_tensor_spec(const ocr2_config *c, ocr2_tensor_family f, int layer, int expert,
		     char *name, size_t cap, int dims[4]);
/* Finds family f at layer (and expert) in w and checks it as
 * ocr2_weights_expect does (float dtype, exactly the spec's shape), with the
 * same messages. out may be NULL. */
ocr2_status ocr2_tensor_bind(const ocr2_weights *w, const ocr2_config *c, ocr2_tensor_family f,
			     int layer, int expert, const ocr2_tensor **out);
/* Calls fn for every tensor the config requires, in the table's order (SAM
 * blocks, flow layers and decoder layers one after another, each layer's
 * families in table order, a layer's experts one by one); stops at and
 * returns the first status other than OCR2_OK. */
ocr2_status ocr2_tensors_walk(const ocr2_config *c,
			      ocr2_status (*fn)(void *user, ocr2_tensor_family f, int layer,
						int expert),
			      void *user);
/* Whether SAM block i attends globally (listed in sam_global). */
bool ocr2_sam_block_global(const ocr2_config *c, int block);

#endif
