/* model.h - the model's files: safetensors weights and how they are held in
 * memory, config.json, the tensor checks, and the q8 copy. */
#ifndef OCR2_MODEL_MODEL_H
#define OCR2_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "compute/tensor.h"
#include "ocr2.h"

typedef struct ocr2_weights ocr2_weights;

/* Loads every *.safetensors of dir (through model.safetensors.index.json when
 * present), mmap'd read-only. Every header offset and size is checked against
 * the file; a hostile file gives OCR2_ERR_MODEL with the file and tensor named. */
ocr2_status ocr2_weights_load(const char *dir, ocr2_weights **out);
/* Loads one safetensors file (goldens, tests). */
ocr2_status ocr2_weights_load_file(const char *path, ocr2_weights **out);
void ocr2_weights_free(ocr2_weights *w);
typedef struct ocr2_pool ocr2_pool;
/* Gets the weights into 2 MiB pages for inference, where streaming them runs
 * much faster than through 4 KiB pages (decode is bandwidth-bound): faults
 * the files in through their huge-page-advised mappings and, if the page
 * cache holds them mostly in small folios, drops and re-reads it once.
 * OCR2_WEIGHTS=copy copies them into anonymous huge-page memory instead
 * (OCR2_ERR_NOMEM when they take more than 3/4 of MemAvailable);
 * OCR2_WEIGHTS=mmap skips all of it. Fails on a read error. pool may be NULL.
 * A raised *cancel (may be NULL) stops it within a 128 MiB chunk's read with
 * OCR2_ERR_INTERRUPTED. */
ocr2_status ocr2_weights_resident(ocr2_weights *w, ocr2_pool *pool, volatile int *cancel);
/* Bytes free in blocks of 2 MiB or more, from /proc/buddyinfo's text (one
 * line per zone: "Node 0, zone Normal" then the count of free blocks of each
 * order, 1 << order pages of `page` bytes); -1 when no zone line parses. */
int64_t ocr2_buddy_huge_bytes(FILE *f, long page);
/* How the weights are held, in words (bench); a static buffer. */
const char *ocr2_weights_residency(const ocr2_weights *w);
const ocr2_tensor *ocr2_weights_get(const ocr2_weights *w, const char *name);
int ocr2_weights_count(const ocr2_weights *w);
const ocr2_tensor *ocr2_weights_at(const ocr2_weights *w, int i);
/* Total bytes of tensor data. */
uint64_t ocr2_weights_bytes(const ocr2_weights *w);
/* The mapped files (path and size), for `model info`. */
int ocr2_weights_nfiles(const ocr2_weights *w);
const char *ocr2_weights_file(const ocr2_weights *w, int i, uint64_t *size);
/* How many tensors were misaligned in their file and copied at load. */
int ocr2_weights_copied(const ocr2_weights *w);

/* Finds `name` and checks its dtype is a float type (f32/f16/bf16/q8) and its
 * shape is exactly the given dims (ndim inferred from the count, up to 4;
 * terminate with -1). On failure sets the message "<dir>: tensor NAME: ..." */
ocr2_status ocr2_weights_expect(const ocr2_weights *w, const ocr2_tensor **out,
				const char *name, ...);

typedef struct {
	/* language model (config.json top level / language_config) */
	int hidden;            /* 1280 */
	int n_layers;          /* 12 */
	int n_heads;           /* 10 */
	int n_kv_heads;        /* 10 */
	int head_dim;          /* hidden / n_heads */
	int intermediate;      /* 6848, dense layers */
	int moe_intermediate;  /* 896 */
	int n_experts;         /* 64 */
	int n_experts_per_tok; /* 6 */
	int n_shared_experts;  /* 2 */
	int first_k_dense;     /* 1 */
	int vocab;             /* 129280 */
	int max_pos;           /* 8192 */
	int bos_id, eos_id;    /* 0, 1 */
	float rope_theta;      /* 10000 */
	float rms_eps;         /* 1e-6 */
	bool norm_topk_prob;   /* false */
	float routed_scaling;  /* 1.0 */

	/* SAM ViT-B (vision_config.width.sam_vit_b) */
	int sam_width;         /* 768 */
	int sam_layers;        /* 12 */
	int sam_heads;         /* 12 */
	int sam_mlp;           /* 4 * width */
	int sam_window;        /* 14 */
	int sam_n_global;      /* 4 */
	int sam_global[16];    /* 2,5,8,11 */
	int sam_neck;          /* 256 */
	int sam_net2;          /* 512 (downsample_channels[0]) */
	/* net_3 outputs enc_hidden (896); the config's 1024 is stale (MODEL.md §1.1) */

	/* flow encoder (vision_config.width["qwen2-0-5b"]) */
	int enc_hidden;        /* 896 */
	int enc_layers;        /* 24 */
	int enc_heads;         /* 14 */
	int enc_kv_heads;      /* 2 */
	int enc_intermediate;  /* 4864 */
	float enc_rope_theta;  /* 1e6 */
	float enc_rms_eps;     /* 1e-6 */

	/* fixed by the model's design (MODEL.md §0.1) */
	int patch;             /* 16 */
	int base_size;         /* 1024 */
	int tile_size;         /* 768 */
	int min_crops, max_crops; /* 2, 6 */
	int image_token_id;    /* 128815 */
} ocr2_config;

/* Parses config.json; absent optional fields take the published values;
 * absurd values (zero, negative, overflowing products, > sane caps) are
 * rejected with OCR2_ERR_MODEL naming the field. */
ocr2_status ocr2_config_load(const char *path, ocr2_config *out);
ocr2_status ocr2_config_parse(const char *text, size_t n, const char *what, ocr2_config *out);
void ocr2_config_default(ocr2_config *c); /* the published values */

/* Verifies that every tensor the architecture needs (MODEL.md §2.2: the table
 * of model/tensors.h, sized from c) is present with the right shape and a
 * float dtype; returns
 * OCR2_ERR_MODEL naming the first offender ("<dir>: missing tensor NAME" ...). */
ocr2_status ocr2_model_check_tensors(const ocr2_weights *w, const ocr2_config *c,
				     const char *dir);
/* Reads every float tensor and fails with OCR2_ERR_MODEL naming the first one
 * (in name order) that holds a NaN or an infinity. Touches all the data. */
ocr2_status ocr2_weights_check_finite(const ocr2_weights *w, const char *dir);

/* Writes dst_dir/model.safetensors with the decoder's large matrices as Q8_0
 * (+ NAME.q8scale) and everything else as stored, and copies config.json and
 * the tokenizer files. dst_dir must differ from src_dir. */
ocr2_status ocr2_model_quantize(const char *src_dir, const char *dst_dir,
				void (*progress)(void *user, int done, int total), void *user);
/* One block of 32 weights: scale = max|w|/127, q = round(w/scale). */
void ocr2_q8_block(const float *w, int8_t *q, float *scale);
void ocr2_q8_block_h(const float *w, int8_t *q, uint16_t *scale);

#endif
