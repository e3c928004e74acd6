/* kernels.h - one kernel per operation, shared by the encoder and the decoder:
 * products (linear.c, gemv.c, gemm.c, attend.c, tiles.c) and the activations
 * and norms they leave to act.c. All activations are float32 (MODEL.md §0.1:
 * f32 math on the stored weights). */
#ifndef OCR2_COMPUTE_KERNELS_H
#define OCR2_COMPUTE_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

#include "compute/pool.h"
#include "compute/tensor.h"

/* y[n, m] = x[n, k] · W[m, k]^T (+ bias[m]); W any float dtype (f32/bf16/f16/q8).
 * Large n goes through OpenBLAS sgemm (weights widened to f32 in row panels);
 * n == 1 goes through gemv. pool may be NULL. */
void ocr2_linear(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
		 const float *bias, float *y);
/* ocr2_linear for the vision encoder: with bf16 (the encoder's precision,
 * ocr2_precision) the bf16 products below when W is bf16, n >= 4 and the CPU
 * runs them, else ocr2_linear. The language model keeps f32 products. */
void ocr2_linear_vision(ocr2_pool *pool, bool bf16, const float *x, int n, int k,
			const ocr2_tensor *w, const float *bias, float *y);
/* Same for a row range [r0, r1) of W, writing y[n, r1-r0] (experts, vocab slices). */
void ocr2_linear_rows(ocr2_pool *pool, const float *x, int n, int k, const ocr2_tensor *w,
		      int r0, int r1, const float *bias, float *y);
/* Several independent y = W x products as ONE pool job, so a decode step
 * pays one hand-over for e.g. all its routed experts. A task may carry
 * several inputs (rows > 1: the decode rows of several pages): W is then
 * read from memory once for all of them, and each row's y is bit for bit
 * what a task of that row alone gives (the same kernel on the same row). */
typedef struct {
	const ocr2_tensor *w; /* [m, k] */
	const float *x;       /* [rows, k] */
	float *y;             /* [rows, m] */
	int rows;             /* 0 counts as 1 */
} ocr2_gemv_task;
void ocr2_gemv_batch(ocr2_pool *pool, const ocr2_gemv_task *tasks, int n_tasks);
/* The gate and up products of n_pairs SwiGLU blocks in one job: tasks[2i] is
 * a gate, tasks[2i+1] its up, of the same height (the loader checks the
 * model's shapes). Each piece of rows computes both and leaves
 * silu(gate) * up in the gate's y, the same numbers as ocr2_silu_mul after
 * the products, without a pass of its own. */
void ocr2_gemv_batch_glu(ocr2_pool *pool, const ocr2_gemv_task *tasks, int n_pairs);
void ocr2_rmsnorm(ocr2_pool *pool, float *y, const float *x, const float *w, int n, int dim,
		  float eps);
void ocr2_layernorm(ocr2_pool *pool, float *y, const float *x, const float *w, const float *b,
		    int n, int dim, float eps);
void ocr2_softmax(float *x, int n);
void ocr2_softmax_ref(float *x, int n);  /* the plain loop (oracle) */
bool ocr2_softmax_simd(float *x, int n); /* act.c; false = not available */
void ocr2_silu_mul(ocr2_pool *pool, float *gate, const float *up, int n); /* gate = silu(gate) * up */
/* The same over [a, b) on the calling thread (the glu products' pieces). */
void ocr2_silu_mul_range(float *gate, const float *up, int a, int b);
/* GELU with erf, in pieces over pool (may be NULL): AVX-512 (erf to ~2e-7
 * absolute) where available; _ref is the erff loop (the oracle). */
void ocr2_gelu(ocr2_pool *pool, float *x, int n);
void ocr2_gelu_ref(float *x, int n);
bool ocr2_gelu_simd(float *x, int n); /* act.c; false = not available */
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

/* y[r - r0] = W[r, :k] . x for r in [r0, r1) (lib/compute/gemv.c): AVX-512 when the CPU
 * has it (OCR2_NO_SIMD=1 forces the portable loop), else the portable loop,
 * which ocr2_gemv_rows_ref always runs (the oracle in tests). */
void ocr2_gemv_rows(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y);
void ocr2_gemv_rows_ref(const ocr2_tensor *w, const float *x, int k, int r0, int r1, float *y);
/* bf16 products (lib/compute/gemm.c, on a CPU with avx512_bf16): y[n, m] =
 * bf16(x)[n, k] . W[m, k]^T (+ bias), f32 sums. False when the CPU cannot
 * (ocr2_gemm_bf16_available) or out of memory: the caller then does it in
 * f32. ocr2_linear_vision uses it. */
bool ocr2_gemm_bf16(ocr2_pool *pool, const float *x, int n, int k, const uint16_t *w, int m,
		    const float *bias, float *y);
void ocr2_gemm_bf16_ref(const float *x, int n, int k, const uint16_t *w, int m,
			const float *bias, float *y);
/* avx512_bf16 (and ocr2_have_avx512: OCR2_NO_SIMD and OCR2_SIMD=avx2 turn it off) */
bool ocr2_gemm_bf16_available(void);
/* The same on one thread, for attention: an f32 operand packed once (NULL
 * when not available or out of memory), then c[n, m] (row stride ldc) = alpha *
 * bf16(a)[n, k] (row stride lda) . B^T. B[j][p] is b[j*ldb + p] (keys), or
 * b[p*ldb + j] with by_columns (values). */
typedef struct ocr2_bf16_operand ocr2_bf16_operand;
ocr2_bf16_operand *ocr2_bf16_pack_f32(const float *b, int ldb, int m, int k, bool by_columns);
void ocr2_bf16_operand_free(ocr2_bf16_operand *o);
bool ocr2_gemm_bf16_st(const float *a, int lda, int n, const ocr2_bf16_operand *w, float alpha,
		       float *c, int ldc);
/* q8 weights read x rounded to int16 in blocks of 32 with one f32 scale each
 * (q[k], s[k/32]; lib/compute/gemv.c explains why and how far). ocr2_gemv_rows does it
 * per call; callers that run many row ranges on one x round it once here and
 * use ocr2_gemv_rows_q8x. The _ref quantizer is the portable oracle: both
 * give identical q and s. */
void ocr2_q8x_quantize(const float *x, int k, int16_t *q, float *s);
void ocr2_q8x_quantize_ref(const float *x, int k, int16_t *q, float *s);
void ocr2_gemv_rows_q8x(const ocr2_tensor *w, const int16_t *xq, const float *xs, int k, int r0,
			int r1, float *y);
/* ocr2_gemv_rows_q8x for nx inputs over the same rows, y[j][r - r0] for
 * input j: each input's numbers are those of ocr2_gemv_rows_q8x on it alone
 * (the AVX2 kernel widens a block's weights once for up to four inputs;
 * elsewhere the inputs take turns over the rows). */
void ocr2_gemv_rows_q8x_multi(const ocr2_tensor *w, int nx, const int16_t *const *xq,
			      const float *const *xs, int k, int r0, int r1, float *const *y);
const char *ocr2_gemv_kernel_name(void);

/* The vision encoder's attention products in register tiles (lib/compute/tiles.c),
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
/* One attention row (lib/compute/attend.c): s[t] = scale * q.K[t] for t < nk, s =
 * softmax(s), out = sum_t s[t] V[t]; K and V rows hd floats apart. AVX-512 when
 * hd is a multiple of 16, AVX2 when of 8; _ref is the plain loop (the oracle in tests). */
void ocr2_attend(const float *q, const float *K, const float *V, int nk, int hd, float scale,
		 float *s, float *out);
void ocr2_attend_ref(const float *q, const float *K, const float *V, int nk, int hd, float scale,
		     float *s, float *out);
/* The same with K and V stored as bf16 (the opt-in bf16 KV cache), widened
 * exactly to f32 as they are read: AVX2 (on AVX-512 CPUs too) when hd is a
 * multiple of 8, else the loop, _ref. */
void ocr2_attend_bf16(const float *q, const uint16_t *K, const uint16_t *V, int nk, int hd,
		      float scale, float *s, float *out);
void ocr2_attend_bf16_ref(const float *q, const uint16_t *K, const uint16_t *V, int nk, int hd,
			  float scale, float *s, float *out);

#endif
