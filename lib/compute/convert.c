/* convert.c - the float formats of stored weights (bf16, f16, q8 scales)
 * widened to f32 and back, and tensors read as f32. A leaf of lib/compute/. */
#include <stdlib.h>
#include <string.h>

#include "compute/tensor.h"

const char *ocr2_dtype_name(ocr2_dtype t)
{
	switch (t) {
	case OCR2_DT_F32: return "F32";
	case OCR2_DT_F16: return "F16";
	case OCR2_DT_BF16: return "BF16";
	case OCR2_DT_I32: return "I32";
	case OCR2_DT_I64: return "I64";
	case OCR2_DT_Q8: return "Q8_0";
	}
	return "?";
}

size_t ocr2_dtype_size(ocr2_dtype t)
{
	switch (t) {
	case OCR2_DT_F32: return 4;
	case OCR2_DT_F16: return 2;
	case OCR2_DT_BF16: return 2;
	case OCR2_DT_I32: return 4;
	case OCR2_DT_I64: return 8;
	case OCR2_DT_Q8: return 1;
	}
	return 0;
}

float ocr2_bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t ocr2_f32_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)(u >> 16 | 0x40); /* quiet NaN */
	u += 0x7fff + (u >> 16 & 1);
	return (uint16_t)(u >> 16);
}

uint16_t ocr2_f32_to_f16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
	if ((u & 0x7fffffff) > 0x7f800000)
		return sign | 0x7e00; /* NaN */
	int e = (int)(u >> 23 & 0xff) - 127 + 15;
	uint32_t m = u & 0x7fffff;
	if (e <= 0)
		return sign;
	if (e >= 31)
		return sign | 0x7c00;
	uint32_t h = (uint32_t)e << 10 | m >> 13, rem = m & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++; /* a carry into the exponent is still right; 31 is infinity */
	return sign | (uint16_t)h;
}

float ocr2_f16_to_f32(uint16_t h)
{
	uint32_t s = (uint32_t)(h >> 15) << 31, e = h >> 10 & 0x1f, m = h & 0x3ff, u;
	if (e == 0) {
		if (m == 0)
			u = s;
		else { /* subnormal */
			e = 127 - 15 + 1;
			while (!(m & 0x400)) {
				m <<= 1;
				e--;
			}
			m &= 0x3ff;
			u = s | e << 23 | m << 13;
		}
	} else if (e == 31)
		u = s | 0x7f800000 | m << 13;
	else
		u = s | (e + 127 - 15) << 23 | m << 13;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

float ocr2_tensor_f32(const ocr2_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case OCR2_DT_F32: return ((const float *)t->data)[i];
	case OCR2_DT_BF16: return ocr2_bf16_to_f32(((const uint16_t *)t->data)[i]);
	case OCR2_DT_F16: return ocr2_f16_to_f32(((const uint16_t *)t->data)[i]);
	case OCR2_DT_Q8: return ((const int8_t *)t->data)[i] * ocr2_q8_scale(t, i / 32);
	case OCR2_DT_I32: return (float)((const int32_t *)t->data)[i];
	case OCR2_DT_I64: return (float)((const int64_t *)t->data)[i];
	}
	return 0;
}

static int64_t row_len(const ocr2_tensor *t)
{
	int64_t k = 1;
	for (int d = 1; d < t->ndim; d++)
		k *= t->shape[d];
	return t->ndim <= 1 ? t->nelem : k;
}

void ocr2_tensor_rows_f32(const ocr2_tensor *t, int64_t r0, int64_t r1, float *dst)
{
	int64_t k = row_len(t), i0 = r0 * k, n = (r1 - r0) * k;
	switch (t->dtype) {
	case OCR2_DT_F32:
		memcpy(dst, (const float *)t->data + i0, (size_t)n * 4);
		return;
	case OCR2_DT_BF16: {
		const uint16_t *s = (const uint16_t *)t->data + i0;
		uint32_t *d = (uint32_t *)dst;
		for (int64_t i = 0; i < n; i++)
			d[i] = (uint32_t)s[i] << 16;
		return;
	}
	case OCR2_DT_Q8:
		if (i0 % 32 == 0 && n % 32 == 0) { /* whole blocks: one scale each */
			const int8_t *q = (const int8_t *)t->data + i0;
			for (int64_t b = 0; b < n / 32; b++) {
				float sc = ocr2_q8_scale(t, i0 / 32 + b);
				for (int i = 0; i < 32; i++)
					dst[b * 32 + i] = q[b * 32 + i] * sc;
			}
			return;
		}
		/* fall through */
	default:
		for (int64_t i = 0; i < n; i++)
			dst[i] = ocr2_tensor_f32(t, i0 + i);
	}
}

float *ocr2_tensor_to_f32(const ocr2_tensor *t)
{
	float *d = malloc((size_t)t->nelem * sizeof(float));
	if (d)
		ocr2_tensor_rows_f32(t, 0, t->ndim <= 1 ? 1 : t->shape[0], d);
	return d;
}