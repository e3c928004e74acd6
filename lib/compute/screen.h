/* screen.h - the greedy choice through an 8-bit copy of lm_head
 * (lib/compute/screen.c). */
#ifndef OCR2_COMPUTE_SCREEN_H
#define OCR2_COMPUTE_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compute/pool.h"
#include "compute/tensor.h"

/* Decoding only needs the argmax of lm_head . x, and the bf16 lm_head is 29 %
 * of the bytes a step reads. A screen is an 8-bit copy of such a matrix: one
 * pass over it gives every row an estimate with a proven error bound, and only
 * the rows whose bound reaches the best lower bound are computed exactly, by
 * the same kernel as the full product. The choice is the full product's, bit
 * for bit; lib/compute/screen.c derives the bound. */
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

#endif
