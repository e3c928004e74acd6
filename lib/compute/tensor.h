/* tensor.h - what the kernels compute on: a typed view of stored weights,
 * and the conversions between the float formats (lib/compute/convert.c). */
#ifndef OCR2_COMPUTE_TENSOR_H
#define OCR2_COMPUTE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

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

/* Reads element i of a float tensor as f32. */
float ocr2_tensor_f32(const ocr2_tensor *t, int64_t i);
/* Widens rows [r0, r1) of a 2-D float tensor (or all of a 1-D one when r0=0,
 * r1=1) into dst. */
void ocr2_tensor_rows_f32(const ocr2_tensor *t, int64_t r0, int64_t r1, float *dst);
/* Newly malloc'd f32 copy of the whole tensor (small tensors: norms, biases). */
float *ocr2_tensor_to_f32(const ocr2_tensor *t);

#endif
