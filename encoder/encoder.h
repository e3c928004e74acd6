/* encoder.h - DeepEncoder V2 (MODEL.md §3, §4): Pillow-exact preprocessing,
 * SAM ViT-B, the causal-flow Qwen2 encoder and the projector. */
#ifndef OCR2_ENCODER_H
#define OCR2_ENCODER_H

#include "compute/pool.h"
#include "model/model.h"

typedef struct enc_model enc_model;

/* Binds and shape-checks every encoder tensor of w (which must outlive the
 * model) and precomputes the 768-view position tables; OCR2_ERR_MODEL names
 * the first missing or misshapen tensor. The model is read-only afterwards;
 * calls on one model from several threads at once are not supported (the
 * attention stages adjust OpenBLAS's global thread count). */
/* ---- the loaded model (shared by the encoder sources only) ------------------------- */

#define ENC_MAX_SAM_LAYERS 64
#define ENC_MAX_FLOW_LAYERS 128

typedef struct {
	bool global;                      /* global attention (else windowed) */
	float *n1w, *n1b, *n2w, *n2b;     /* [W] */
	const ocr2_tensor *qkv, *proj, *lin1, *lin2;
	float *qkv_b, *proj_b, *lin1_b, *lin2_b;
	/* Rel-pos tables [2K-1, hd] for attention side K: index 0 for the 1024
	 * view, 1 for the 768 view (equal for windowed blocks). */
	float *rel_h[2], *rel_w[2];
	int rel_k[2];
} enc_sam_block;

typedef struct {
	float *in_norm, *post_norm;       /* [E] */
	const ocr2_tensor *q, *k, *v, *o, *gate, *up, *down;
	float *q_b, *k_b, *v_b;
} enc_flow_layer;

struct enc_model {
	ocr2_config c;
	/* SAM (MODEL.md §4.1) */
	const ocr2_tensor *patch_w;       /* [W, 3, 16, 16] */
	float *patch_b;
	float *pos[2];                    /* [G, G, W] for G = 64 (1024) and 48 (768) */
	enc_sam_block sam[ENC_MAX_SAM_LAYERS];
	const ocr2_tensor *neck0, *neck2, *net2, *net3;
	float *neck1_w, *neck1_b, *neck3_w, *neck3_b;
	/* flow encoder (§4.2) */
	enc_flow_layer flow[ENC_MAX_FLOW_LAYERS];
	float *flow_norm;
	float *query_1024, *query_768;    /* [256, E], [144, E] */
	/* projector (§4.3) */
	const ocr2_tensor *proj_w;        /* [hidden, E] */
	float *proj_b, *view_sep;         /* [hidden] */
	/* The precision (ocr2_precision): the matrix products with bf16 weights
	 * and SAM's attention take bf16 inputs and sum in f32 where the CPU runs
	 * that (ocr2_gemm_bf16_available); false (enc_load's default) keeps
	 * float32 throughout, the reference. */
	bool bf16;
	/* polled between the layers of SAM and of the flow encoder: raised,
	 * enc_image stops with OCR2_ERR_INTERRUPTED (NULL: never) */
	volatile int *cancel;
};


/* View side -> index into the per-view tables (0: base 1024, 1: tile 768). */
int enc_view_index(const enc_model *m, int S);

/* Binds and shape-checks every encoder and projector tensor through the table
 * of model/tensors.h (MODEL.md §2.2); a mismatch is OCR2_ERR_MODEL naming the
 * tensor. */
ocr2_status enc_load(const ocr2_weights *w, const ocr2_config *c, enc_model **out);
void enc_free(enc_model *m);

/* ---- preprocessing (MODEL.md §3), pure functions --------------------------- */

/* The crop grid for a W x H image: cols = rows = 1 means no local crops. */
void enc_choose_grid(int w, int h, int tile, int min_crops, int max_crops, int *cols, int *rows);
/* Pillow's Image.resize(BICUBIC) on 8-bit RGB, bit-exact (MODEL.md §3.5).
 * Sizes must be >= 1. Fails only with OCR2_ERR_NOMEM. */
ocr2_status enc_resize_bicubic(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);
/* ImageOps.pad(img, (size,size), BICUBIC, color=127) (MODEL.md §3.3); dst is
 * size*size*3. A side that would round to 0 (a > 2048:1 strip, which Pillow
 * refuses) is kept at 1 pixel. Fails only with OCR2_ERR_NOMEM. */
ocr2_status enc_pad_view(const ocr2_image *img, int size, uint8_t *dst);
/* u8 RGB HWC -> f32 CHW in [-1, 1] (MODEL.md §3.6). */
void enc_normalize(const uint8_t *rgb, int size, float *chw);

typedef struct {
	int cols, rows, n_crops;     /* n_crops = 0 or cols*rows */
	uint8_t *global;             /* base_size^2 * 3 */
	uint8_t *crops;              /* n_crops * tile^2 * 3, row-major tile order */
} enc_views;

/* The global view (ImageOps.pad to base_size) and, unless no_crop or both
 * sides <= tile_size, the crops of the whole image resized to the grid's
 * canvas. Images over 32768 px a side give OCR2_ERR_TOO_LARGE. */
ocr2_status enc_make_views(const ocr2_image *img, const ocr2_config *c, bool no_crop,
			   enc_views *out);
void enc_views_free(enc_views *v);

/* ---- stages ----------------------------------------------------------------- */

/* SAM + neck + net_2 + net_3: chw [3,S,S] -> tokens [(S/64)^2, enc_hidden],
 * S = base_size or tile_size (anything else is OCR2_ERR_INTERNAL). */
ocr2_status enc_sam(enc_model *m, ocr2_pool *pool, const float *chw, int S, float *out);
/* Flow encoder: visual tokens [N, enc_hidden] -> query outputs [N, enc_hidden];
 * N must match a query table (256 or 144). */
ocr2_status enc_flow(enc_model *m, ocr2_pool *pool, const float *tokens, int N, float *out);
/* Projector: [N, enc_hidden] -> [N, hidden]. */
void enc_project(enc_model *m, ocr2_pool *pool, const float *x, int N, float *out);

/* The whole image: [crops..., global, view_seperator] as [*n_emb, hidden]
 * (MODEL.md §4.4). *emb is malloc'd. */
ocr2_status enc_image(enc_model *m, ocr2_pool *pool, const ocr2_image *img, bool no_crop,
		      float **emb, int *n_emb);

#endif
