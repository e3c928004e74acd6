/* internal.h - what lib/, encoder/ and decoder/ share and the public header
 * does not show: errors, JSON, safetensors weights, config, kernels, threads. */
#ifndef OCR2_INTERNAL_H
#define OCR2_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ocr2.h"

/* ---- errors (lib/error.c) -------------------------------------------------- */

/* Records a one-line message for ocr2_errmsg() and returns s, so callers can
 * write `return ocr2_fail(OCR2_ERR_IO, "%s: cannot open", path);`. */
ocr2_status ocr2_fail(ocr2_status s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
double ocr2_now(void); /* monotonic seconds */
/* Reads a whole (small) file into a malloc'd, NUL-terminated buffer. Failures
 * are one line naming the file ("cannot open: ...", "file too large" past max
 * bytes, "read error") with status err; out of memory is OCR2_ERR_NOMEM. */
ocr2_status ocr2_read_file(const char *path, size_t max, ocr2_status err, char **out,
			   size_t *len);
/* "dir/name", malloc'd (NULL when out of memory). */
char *ocr2_path_join(const char *dir, const char *name);

/* ---- UTF-8 and Unicode classes (lib/unicode.c) ----------------------------- */

/* Disjoint classes: L*, M*, Nd, Nl, No, Pc, other P*, S*, White_Space (\s). */
enum {
	OCR2_UC_OTHER, OCR2_UC_L, OCR2_UC_M, OCR2_UC_ND, OCR2_UC_NL, OCR2_UC_NO,
	OCR2_UC_PC, OCR2_UC_P, OCR2_UC_S, OCR2_UC_WS,
};
int ocr2_uclass(uint32_t cp);
bool ocr2_uclass_is_word(uint32_t cp); /* Rust regex \w */
const char *ocr2_unicode_version(void);  /* of the class tables, e.g. "14.0.0" */
/* Encodes a code point (< 0x110000) as UTF-8 into o[0..4); returns the length. */
size_t ocr2_utf8_put(char *o, uint32_t cp);
/* Decodes one strict UTF-8 scalar value; returns its length, 0 if invalid. */
int ocr2_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Length (>= 1) of the invalid sequence at s, counted as from_utf8_lossy does. */
int ocr2_utf8_invalid_len(const unsigned char *s, size_t n);
/* Offset of the first invalid byte, or n when text[0..n) is valid UTF-8. */
size_t ocr2_utf8_check(const char *text, size_t n);

/* ---- JSON (lib/json.c) ----------------------------------------------------- */
/* A DOM parser for config.json, tokenizer.json and safetensors headers.
 * Strict RFC 8259; depth-limited; strings are NUL-terminated UTF-8 (may
 * contain NUL bytes from \u0000: use .len). */

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
	json_type type;
	bool b;
	double num;
	char *str;       /* JSON_STRING */
	size_t len;      /* string length, or number of items/members */
	json_value *items;  /* JSON_ARRAY: len items; JSON_OBJECT: len values */
	char **keys;        /* JSON_OBJECT: len keys (NUL-terminated) */
	size_t *key_lens;
};

/* Parses text[0..n). On error returns NULL and sets ocr2_errmsg to
 * "<what>: <problem> at byte N" with `what` naming the file. */
json_value *json_parse(const char *text, size_t n, const char *what);
void json_free(json_value *v);
/* Member lookup (first match), NULL if v is not an object or key absent. */
const json_value *json_get(const json_value *v, const char *key);
/* Nested lookup with a dotted path is NOT provided: keys contain dots. */
const json_value *json_at(const json_value *v, size_t i); /* array item or NULL */
/* Typed getters with defaults; *ok (may be NULL) is cleared on a type mismatch. */
double json_num(const json_value *v, double dflt, bool *ok);
const char *json_str(const json_value *v, const char *dflt);

/* ---- safetensors weights (lib/weights.c) ----------------------------------- */

typedef enum {
	OCR2_DT_F32 = 0,
	OCR2_DT_F16,
	OCR2_DT_BF16,
	OCR2_DT_I32,
	OCR2_DT_I64,
	OCR2_DT_Q8,  /* ocr2's own 8-bit: int8 rows in blocks of 32 with an f32 scale each */
} ocr2_dtype;

const char *ocr2_dtype_name(ocr2_dtype t);
size_t ocr2_dtype_size(ocr2_dtype t); /* bytes per element; Q8 reports 1 */

typedef struct {
	const char *name;
	ocr2_dtype dtype;
	int ndim;
	int64_t shape[4];
	int64_t nelem;
	const void *data;   /* inside the mmap, bounds-checked at load */
	size_t nbytes;
	const float *scales; /* Q8 with F32 scales: [nelem/32], else NULL */
	const uint16_t *scales_h; /* Q8 with F16 scales (what quantize writes) */
} ocr2_tensor;

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
 * OCR2_WEIGHTS=mmap skips all of it. Fails on a read error. pool may be NULL. */
ocr2_status ocr2_weights_resident(ocr2_weights *w, ocr2_pool *pool);
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

/* ---- config (lib/config.c) ------------------------------------------------- */

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
	/* net_3 outputs enc_hidden (896); the config's 1024 is stale (model.md §1.1) */

	/* flow encoder (vision_config.width["qwen2-0-5b"]) */
	int enc_hidden;        /* 896 */
	int enc_layers;        /* 24 */
	int enc_heads;         /* 14 */
	int enc_kv_heads;      /* 2 */
	int enc_intermediate;  /* 4864 */
	float enc_rope_theta;  /* 1e6 */
	float enc_rms_eps;     /* 1e-6 */

	/* fixed by the model's design (model.md §0.1) */
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

/* ---- hashes (lib/sha256.c) -------------------------------------------------- */
/* SHA-256 (the sha256 the hub publishes for LFS files) and SHA-1 (the git
 * blob id it publishes for small files). Streaming; no allocation. */

typedef struct {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
} ocr2_sha256;

void ocr2_sha256_init(ocr2_sha256 *c);
void ocr2_sha256_update(ocr2_sha256 *c, const void *data, size_t n);
void ocr2_sha256_final(ocr2_sha256 *c, uint8_t out[32]);
/* Whether the x86 SHA instructions are used (decided at first use);
 * ocr2_sha256_use_generic(1) forces the portable code (tests). */
int ocr2_sha256_accelerated(void);
void ocr2_sha256_use_generic(int on);

typedef struct {
	uint32_t h[5];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
} ocr2_sha1;

void ocr2_sha1_init(ocr2_sha1 *c);
void ocr2_sha1_update(ocr2_sha1 *c, const void *data, size_t n);
void ocr2_sha1_final(ocr2_sha1 *c, uint8_t out[20]);
/* Lower-case hex of d[0..n) into out[2n+1]. */
void ocr2_hex(const uint8_t *d, size_t n, char *out);

/* ---- model download (lib/fetch.c) ------------------------------------------ */
/* Downloads a model repository's files from a Hugging Face hub (or a mirror)
 * into a directory: each file goes to DIR/.incomplete/NAME.part, is hashed
 * while it is written, resumed with an HTTP Range after an interruption,
 * fsync'd, checked against the hash the hub publishes and only then renamed
 * to DIR/NAME. DIR/.ocr2-fetch.json records the repository, commit and the
 * expected size and hash of each file (it is what --offline verifies). */

#define OCR2_FETCH_REPO "deepseek-ai/DeepSeek-OCR-2"
/* The commit of OCR2_FETCH_REPO downloaded by default (see man ocr2-model). */
#define OCR2_FETCH_REVISION "aaa02f3811945a91062062994c5c4a3f4c0af2b0"
#define OCR2_FETCH_ENDPOINT "https://huggingface.co"
#define OCR2_FETCH_MANIFEST ".ocr2-fetch.json"

typedef enum {
	OCR2_FETCH_LISTED,   /* the file list came: done = bytes already there, total = all bytes */
	OCR2_FETCH_SKIP,     /* file present and verified; total = its size */
	OCR2_FETCH_START,    /* download starts; done = bytes kept from an earlier try */
	OCR2_FETCH_PROGRESS, /* done of total bytes of this file */
	OCR2_FETCH_RETRY,    /* the transfer broke after progress; resuming (done = attempt) */
	OCR2_FETCH_DONE,     /* verified and moved into place */
	OCR2_FETCH_BAD,      /* offline: present but its hash or size is wrong */
	OCR2_FETCH_MISSING,  /* offline: not there */
} ocr2_fetch_event;

typedef struct {
	const char *endpoint;   /* NULL: OCR2_FETCH_ENDPOINT */
	const char *repo;       /* NULL: OCR2_FETCH_REPO */
	const char *revision;   /* NULL: OCR2_FETCH_REVISION for the default repo, else "main" */
	const char *token;      /* sent as "Authorization: Bearer" to the endpoint's host only */
	const char *user_agent; /* NULL: "ocr2/VERSION" */
	int timeout_s;          /* connect timeout and the longest stall tolerated; 0: 60 */
	int retries;            /* resumptions of a transfer that broke after progress; <0: 3 */
	int offline;            /* never touch the network: verify what is there */
	const volatile int *cancel; /* set (from a signal handler) to stop; parts are kept */
	void (*cb)(void *arg, ocr2_fetch_event ev, const char *file, uint64_t done,
		   uint64_t total);
	void *cb_arg;
} ocr2_fetch_params;

typedef struct {
	int n_files;          /* files of the model */
	int n_skipped;        /* already there and verified */
	int n_fetched;        /* downloaded and verified */
	int n_missing;        /* offline: missing or bad */
	uint64_t bytes_total;   /* size of all files */
	uint64_t bytes_fetched; /* bytes received in this run */
	char commit[41];      /* the commit the revision resolved to ("" offline without record) */
} ocr2_fetch_result;

/* Whether this build can download (libcurl); when not, ocr2_fetch fails with
 * OCR2_ERR_INVALID unless p->offline. */
int ocr2_fetch_available(void);
/* Fetches (or, offline, verifies) the model into dir, creating it. Failures:
 * OCR2_ERR_NETWORK ("URL: could not resolve host (no network?)"),
 * OCR2_ERR_CHECKSUM (the .part is deleted), OCR2_ERR_IO (disk),
 * OCR2_ERR_MODEL (offline: files missing or bad; the repository lacks a
 * needed file), OCR2_ERR_INTERRUPTED (*cancel; parts kept for a resume). */
ocr2_status ocr2_fetch(const char *dir, const ocr2_fetch_params *p, ocr2_fetch_result *r);

typedef struct {
	uint64_t bytes;  /* regular files directly in dir */
	int complete;    /* every recorded (or, without a record, every needed) file is there */
	int partial;     /* .incomplete/ holds parts of an interrupted fetch */
	char repo[128], commit[41];
	char why[160];   /* when not complete: what is missing */
} ocr2_model_dir_state;

/* Describes an installed model directory for `ocr2 model list` (sizes only,
 * no hashing). */
ocr2_status ocr2_model_dir_describe(const char *dir, ocr2_model_dir_state *st);

/* ---- model checks (lib/modelcheck.c) ------------------------------------- */

/* Verifies that every tensor the architecture needs (model.md §2.2, sized
 * from c) is present with the right shape and a float dtype; returns
 * OCR2_ERR_MODEL naming the first offender ("<dir>: missing tensor NAME" ...). */
ocr2_status ocr2_model_check_tensors(const ocr2_weights *w, const ocr2_config *c,
				     const char *dir);
/* Reads every float tensor and fails with OCR2_ERR_MODEL naming the first one
 * (in name order) that holds a NaN or an infinity. Touches all the data. */
ocr2_status ocr2_weights_check_finite(const ocr2_weights *w, const char *dir);

/* ---- threads (lib/threads.c) ----------------------------------------------- */

/* Runs fn(arg, i, n) for i in [0, n) on the pool's threads (the caller
 * participates). n is the number of work items: split rows, not threads. */
ocr2_pool *ocr2_pool_new(int n_threads);
void ocr2_pool_free(ocr2_pool *p);
int ocr2_pool_size(const ocr2_pool *p);
void ocr2_pool_run(ocr2_pool *p, void (*fn)(void *arg, int i, int n), void *arg, int n);
/* Runs fn(arg, a, b) over chunks that cover [0, n) exactly once. Each thread
 * starts on its own contiguous share, front to back, in shrinking chunks (a
 * quarter of what is left, at least min_chunk), then takes chunks from the
 * backs of the shares not yet done. Every thread thus streams long runs of
 * adjacent rows (what the prefetchers need) and all finish within about
 * min_chunk of each other. */
void ocr2_pool_run_ranges(ocr2_pool *p, void (*fn)(void *arg, int64_t a, int64_t b), void *arg,
			  int64_t n, int64_t min_chunk);
/* A buffer of at least bytes owned by the pool, kept between calls (no page
 * faults for every product's widened weights); for the calling thread only,
 * valid until the next call. NULL when p is NULL or memory is short. */
void *ocr2_pool_scratch(ocr2_pool *p, size_t bytes);
int ocr2_ncpu(void);

/* ---- kernels (lib/kernels.c) ------------------------------------------------ */
/* One kernel per operation, reused by the encoder and the decoder. All
 * activations are float32 (model.md §0.1: f32 math on the stored weights). */

/* ocr2_pool_run for items that call sgemm themselves (attention heads, the
 * experts of prefill): OpenBLAS runs single-threaded meanwhile, as its own
 * threads contend with the pool's (measured 3.4x slower on 2 cores), then is
 * restored. */
void ocr2_pool_run_blas(ocr2_pool *pool, void (*fn)(void *arg, int i, int n), void *arg, int n);

/* Zeroed memory for large buffers that are streamed whole (the KV cache):
 * mmap'd and advised for transparent huge pages. NULL on failure or 0 bytes;
 * free with the same size. */
void *ocr2_alloc_huge(size_t bytes);
void ocr2_free_huge(void *p, size_t bytes);

/* y[n, m] = x[n, k] · W[m, k]^T (+ bias[m]); W any float dtype (f32/bf16/f16/q8).
 * Large n goes through OpenBLAS sgemm (weights widened to f32 in row panels);
 * n == 1 goes through gemv. pool may be NULL. */
void ocr2_linear(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
		 const float *bias, float *y);
/* ocr2_linear for the vision encoder: the opt-in bf16 products (below) when
 * OCR2_MATMUL=bf16 and W is bf16 with n >= 4, else ocr2_linear. The language
 * model keeps f32 products whatever the setting. */
void ocr2_linear_vision(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
			const float *bias, float *y);
/* Same for a row range [r0, r1) of W, writing y[n, r1-r0] (experts, vocab slices). */
void ocr2_linear_rows(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
		      int r0, int r1, const float *bias, float *y);
/* Several independent y = W x products (one input row each) as ONE pool job,
 * so a decode step pays one hand-over for e.g. all its routed experts. */
typedef struct {
	const ocr2_tensor *w; /* [m, k] */
	const float *x;       /* [k] */
	float *y;             /* [m] */
} ocr2_gemv_task;
void ocr2_gemv_batch(ocr2_pool *pool, const ocr2_gemv_task *tasks, int n_tasks);
/* The gate and up products of n_pairs SwiGLU blocks in one job: tasks[2i] is
 * a gate, tasks[2i+1] its up, of the same height (the loader checks the
 * model's shapes). Each piece of rows computes both and leaves
 * silu(gate) * up in the gate's y, the same numbers as ocr2_silu_mul after
 * the products, without a pass of its own. */
void ocr2_gemv_batch_glu(ocr2_pool *pool, const ocr2_gemv_task *tasks, int n_pairs);
/* Reads element i of a float tensor as f32. */
float ocr2_tensor_f32(const ocr2_tensor *t, int64_t i);
/* Widens rows [r0, r1) of a 2-D float tensor (or all of a 1-D one when r0=0,
 * r1=1) into dst. */
void ocr2_tensor_rows_f32(const ocr2_tensor *t, int64_t r0, int64_t r1, float *dst);
/* Newly malloc'd f32 copy of the whole tensor (small tensors: norms, biases). */
float *ocr2_tensor_to_f32(const ocr2_tensor *t);

void ocr2_rmsnorm(ocr2_pool *pool, float *y, const float *x, const float *w, int n, int dim,
		  float eps);
void ocr2_layernorm(ocr2_pool *pool, float *y, const float *x, const float *w, const float *b,
		    int n, int dim, float eps);
void ocr2_softmax(float *x, int n);
void ocr2_softmax_ref(float *x, int n);  /* the plain loop (oracle) */
bool ocr2_softmax_simd(float *x, int n); /* lib/gemv.c; false = not available */
void ocr2_silu_mul(ocr2_pool *pool, float *gate, const float *up, int n); /* gate = silu(gate) * up */
/* GELU with erf, in pieces over pool (may be NULL): AVX-512 (erf to ~2e-7
 * absolute) where available; _ref is the erff loop (the oracle). */
void ocr2_gelu(ocr2_pool *pool, float *x, int n);
void ocr2_gelu_ref(float *x, int n);
bool ocr2_gelu_simd(float *x, int n); /* lib/gemv.c; false = not available */
/* Half-split (rotate_half) RoPE on x[n_tok, n_heads, head_dim] at positions
 * pos[i] (or pos0 + i when pos == NULL), in place. */
void ocr2_rope(float *x, int n_tok, int n_heads, int head_dim, const int *pos, int pos0,
	       float theta);
#define OCR2_MAX_HEAD_DIM 512 /* config.c refuses wider heads */
/* The same in two steps, for callers that rotate several tensors at the same
 * positions: row t of cs[n][hd] holds the cos (first hd/2) and sin (last
 * hd/2) of the angles at position pos0 + t; then x[n_tok, n_heads, head_dim]
 * rotated by per-token rows cs[n_tok][hd]. */
void ocr2_rope_angles(int pos0, int n, int head_dim, float theta, float *cs);
void ocr2_rope_apply(float *x, int n_tok, int n_heads, int head_dim, const float *cs);

/* y[r - r0] = W[r, :k] . x for r in [r0, r1) (lib/gemv.c): AVX-512 when the CPU
 * has it (OCR2_NO_SIMD=1 forces the portable loop), else the portable loop,
 * which ocr2_gemv_rows_ref always runs (the oracle in tests). */
void ocr2_gemv_rows(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y);
void ocr2_gemv_rows_ref(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y);
/* Opt-in bf16 products (lib/gemm.c, OCR2_MATMUL=bf16 on a CPU with
 * avx512_bf16): y[n, m] = bf16(x)[n, k] . W[m, k]^T (+ bias), f32 sums.
 * False when not enabled or out of memory: the caller then does it in f32.
 * ocr2_linear_vision uses it. */
bool ocr2_gemm_bf16(ocr2_pool *pool, const float *x, int n, int k, const uint16_t *w, int m,
		    const float *bias, float *y);
void ocr2_gemm_bf16_ref(const float *x, int n, int k, const uint16_t *w, int m,
			const float *bias, float *y);
bool ocr2_gemm_bf16_enabled(void);
/* The same on one thread, for attention: an f32 operand packed once (NULL
 * when not enabled or out of memory), then c[n, m] (row stride ldc) = alpha *
 * bf16(a)[n, k] (row stride lda) . B^T. B[j][p] is b[j*ldb + p] (keys), or
 * b[p*ldb + j] with by_columns (values). */
typedef struct ocr2_bf16_operand ocr2_bf16_operand;
ocr2_bf16_operand *ocr2_bf16_pack_f32(const float *b, int ldb, int m, int k, bool by_columns);
void ocr2_bf16_operand_free(ocr2_bf16_operand *o);
bool ocr2_gemm_bf16_st(const float *a, int lda, int n, const ocr2_bf16_operand *w, float alpha,
		       float *c, int ldc);
/* tests: on (when the CPU allows) or off regardless of OCR2_MATMUL */
void ocr2_gemm_bf16_force(bool on);
const char *ocr2_matmul_name(void);
/* q8 weights read x rounded to int16 in blocks of 32 with one f32 scale each
 * (q[k], s[k/32]; lib/gemv.c explains why and how far). ocr2_gemv_rows does it
 * per call; callers that run many row ranges on one x round it once here and
 * use ocr2_gemv_rows_q8x. The _ref quantizer is the portable oracle: both
 * give identical q and s. */
void ocr2_q8x_quantize(const float *x, int k, int16_t *q, float *s);
void ocr2_q8x_quantize_ref(const float *x, int k, int16_t *q, float *s);
void ocr2_gemv_rows_q8x(const ocr2_tensor *w, const int16_t *xq, const float *xs, int k, int r0,
			int r1, float *y);
const char *ocr2_gemv_kernel_name(void);
/* AVX-512 (f, bw, vl) kernels run: the CPU has them and OCR2_NO_SIMD is unset. */
bool ocr2_have_avx512(void);

/* The vision encoder's attention products in register tiles (lib/tiles.c),
 * for one (window, head): pack K in panels of 16 keys (kt, of
 * ocr2_tile_kt_floats floats) and V contiguous (vc [T, hd]) from rows ld
 * floats apart, then S = alpha q kt for nr query rows (S rows lds apart)
 * and O = P vc (O rows ldo apart). Only where ocr2_tile_ok(hd): AVX-512,
 * hd a multiple of 16 up to 64. */
bool ocr2_tile_ok(int hd);
size_t ocr2_tile_kt_floats(int T, int hd);
void ocr2_tile_pack_k(const float *k, int ld, int T, int hd, float *kt);
void ocr2_tile_pack_v(const float *v, int ld, int T, int hd, float *vc);
void ocr2_tile_qk(const float *q, int ldq, int nr, const float *kt, int T, int hd, float alpha,
		  float *s, int lds);
void ocr2_tile_pv(const float *p, int ldp, int nr, const float *vc, int T, int hd, float *o,
		  int ldo);
/* Reads n bytes (a multiple of 64) with the widest loads the CPU has and
 * folds them into a value nothing can drop: ocr2 bench's streaming-read
 * bound, measured the way the weight kernels read. */
uint64_t ocr2_stream_read(const void *p, size_t n);
/* One attention row (lib/gemv.c): s[t] = scale * q.K[t] for t < nk, s =
 * softmax(s), out = sum_t s[t] V[t]; K and V rows hd floats apart. AVX-512 when
 * hd is a multiple of 16; _ref is the plain loop (the oracle in tests). */
void ocr2_attend(const float *q, const float *K, const float *V, int nk, int hd, float scale,
		 float *s, float *out);
void ocr2_attend_ref(const float *q, const float *K, const float *V, int nk, int hd, float scale,
		     float *s, float *out);

float ocr2_bf16_to_f32(uint16_t h);
uint16_t ocr2_f32_to_bf16(float f); /* round to nearest even */
float ocr2_f16_to_f32(uint16_t h);
/* Round to nearest even for the f16 normal range; magnitudes below 2^-14
 * become signed zero, above 65504 infinity (callers check the range). */
uint16_t ocr2_f32_to_f16(float f);
/* Block b's scale of a Q8 tensor, whichever width it is stored in. */
static inline float ocr2_q8_scale(const ocr2_tensor *t, int64_t b)
{
	return t->scales ? t->scales[b] : ocr2_f16_to_f32(t->scales_h[b]);
}

/* ---- the greedy choice through an 8-bit copy (lib/screen.c) --------------- */

/* Decoding only needs the argmax of lm_head . x, and the bf16 lm_head is 29 %
 * of the bytes a step reads. A screen is an 8-bit copy of such a matrix: one
 * pass over it gives every row an estimate with a proven error bound, and only
 * the rows whose bound reaches the best lower bound are computed exactly, by
 * the same kernel as the full product. The choice is the full product's, bit
 * for bit; lib/screen.c derives the bound. */
typedef struct ocr2_screen ocr2_screen;
/* NULL when w does not qualify (a dtype other than f32/bf16/f16, rows not a
 * multiple of 32 long, a non-finite value) or memory is short: the caller
 * then keeps the full product. pool may be NULL. */
ocr2_screen *ocr2_screen_new(const ocr2_tensor *w, ocr2_pool *pool);
void ocr2_screen_free(ocr2_screen *s);
/* Bytes one ocr2_screen_argmax streams before its exact rows. */
size_t ocr2_screen_bytes(const ocr2_screen *s);
/* Bytes of the scratch ocr2_screen_argmax needs (float-aligned). */
size_t ocr2_screen_scratch_bytes(const ocr2_screen *s);
/* torch.argmax of W . x with the rows in banned (sorted ascending, nb of
 * them) taken as -inf, W being the matrix s was made from. *n_exact
 * receives the rows computed exactly. Returns -1
 * when the screen cannot decide (non-finite or huge x, every row banned, too
 * many close rows): the caller computes the full product. */
int ocr2_screen_argmax(const ocr2_screen *s, ocr2_pool *pool, const float *x,
		       const int32_t *banned, int nb, float *scratch, int *n_exact);
/* tests: every estimate made as wrong as its bound allows, against the
 * right choice (computed in full first), which must still come out */
void ocr2_screen_adversary(bool on);
/* tests: row r's estimate and bound for x, as ocr2_screen_argmax sees them */
void ocr2_screen_estimate(const ocr2_screen *s, const float *x, int r0, int r1, float *est,
			  float *bound);

/* ---- quantization (lib/quantize.c) ---------------------------------------- */

/* Writes dst_dir/model.safetensors with the decoder's large matrices as Q8_0
 * (+ NAME.q8scale) and everything else as stored, and copies config.json and
 * the tokenizer files. dst_dir must differ from src_dir. */
ocr2_status ocr2_model_quantize(const char *src_dir, const char *dst_dir,
				void (*progress)(void *user, int done, int total), void *user);
/* One block of 32 weights: scale = max|w|/127, q = round(w/scale). */
void ocr2_q8_block(const float *w, int8_t *q, float *scale);
void ocr2_q8_block_h(const float *w, int8_t *q, uint16_t *scale);

/* ---- the real model (lib/pipeline.c) ---------------------------------------- */

typedef struct ocr2_pipeline ocr2_pipeline;
/* Loads config.json, the weights (checked), tokenizer.json (special ids checked
 * against the config) and both model halves; n_threads 0 = all cores. */
ocr2_status ocr2_pipeline_load(const char *dir, int n_threads, ocr2_pipeline **out);
void ocr2_pipeline_free(ocr2_pipeline *p);
ocr2_status ocr2_pipeline_recognize(ocr2_pipeline *p, const ocr2_image *img,
				    const ocr2_recognize_params *rp, ocr2_result *r);
const ocr2_config *ocr2_pipeline_config(const ocr2_pipeline *p);
struct enc_model;
struct dec_model;
/* For ocr2 bench: the pieces inside. */
void ocr2_pipeline_parts(ocr2_pipeline *p, struct enc_model **enc, struct dec_model **dec,
			 ocr2_pool **pool, const ocr2_weights **w);

/* ---- the stand-in model (lib/standin.c; only with -Dstand_in=true) -------- */
/* Returns canned text from the file $OCR2_STAND_IN for every page (see
 * standin.c for the test knobs). ocr2_model_load picks it only in a build with
 * OCR2_STAND_IN=1 and only when the variable names a file. */
typedef struct ocr2_standin ocr2_standin;
ocr2_status ocr2_standin_load(const char *path, ocr2_standin **out);
void ocr2_standin_free(ocr2_standin *s);
ocr2_status ocr2_standin_recognize(ocr2_standin *s, const ocr2_image *img,
				   const ocr2_recognize_params *p, ocr2_result *out);

#endif
