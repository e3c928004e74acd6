/* check.c - what a checkpoint must hold for the architecture a config
 * describes (MODEL.md §2.2), and the NaN/Inf scan behind `ocr2 model check`.
 *
 * The list is the loaders' own table (model/tensors.h), walked in the model's
 * order (SAM, flow encoder, projector, language model); the first missing,
 * mis-shaped or non-float tensor is reported. Extra tensors are ignored, as
 * the official loader does. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"
#include "model/tensors.h"

typedef struct {
	const ocr2_weights *w;
	const ocr2_config *c;
	const char *dir;
} checker;

/* Checks one tensor of the table (model/tensors.h). */
static ocr2_status need(void *user, ocr2_tensor_family f, int layer, int expert)
{
	checker *k = user;
	ocr2_status st = ocr2_tensor_bind(k->w, k->c, f, layer, expert, NULL);
	if (st != OCR2_OK && k->dir && strncmp(ocr2_errmsg(), k->dir, strlen(k->dir))) {
		char msg[1024]; /* weights from elsewhere: name the directory too */
		snprintf(msg, sizeof msg, "%s", ocr2_errmsg());
		ocr2_fail(st, "%s: %s", k->dir, msg);
	}
	return st;
}

ocr2_status ocr2_model_check_tensors(const ocr2_weights *w, const ocr2_config *c,
				     const char *dir)
{
	checker k = {w, c, dir};
	return ocr2_tensors_walk(c, need, &k);
}

/* bf16/f16/f32 are finite unless the exponent bits are all ones. */
static int64_t first_nonfinite(const ocr2_tensor *t)
{
	switch (t->dtype) {
	case OCR2_DT_BF16:
	case OCR2_DT_F16: {
		const uint16_t *p = t->data;
		const uint16_t m = t->dtype == OCR2_DT_BF16 ? 0x7f80 : 0x7c00;
		for (int64_t i = 0; i < t->nelem; i++)
			if ((p[i] & m) == m)
				return i;
		return -1;
	}
	case OCR2_DT_F32: {
		const uint32_t *p = t->data;
		for (int64_t i = 0; i < t->nelem; i++)
			if ((p[i] & 0x7f800000u) == 0x7f800000u)
				return i;
		return -1;
	}
	case OCR2_DT_Q8:
		/* the int8 part is always finite; the scales are their own F32 tensor */
		return -1;
	default:
		return -1;
	}
}

ocr2_status ocr2_weights_check_finite(const ocr2_weights *w, const char *dir)
{
	for (int i = 0; i < ocr2_weights_count(w); i++) {
		const ocr2_tensor *t = ocr2_weights_at(w, i);
		int64_t j = first_nonfinite(t);
		if (j >= 0) {
			float v = ocr2_tensor_f32(t, j);
			return ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s holds %s at element %lld", dir,
					 t->name, v != v ? "NaN" : "an infinity", (long long)j);
		}
	}
	return OCR2_OK;
}
