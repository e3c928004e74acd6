/* test-quantize.c - ocr2 model quantize on the tiny model: every q8 weight is
 * within half a quantization step of the original (its scale stored as f16,
 * the values in range here), everything else is copied byte for byte, the
 * copy loads and passes the architecture check, and quantizing the copy
 * again gives the same file. Also the f32 -> f16 rounding behind the scales,
 * against every f16 value and the midpoints between neighbours. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test-quantize MODEL_DIR OUT_DIR\n");
		return 2;
	}
	CHECK(ocr2_model_quantize(argv[1], argv[2], NULL, NULL) == OCR2_OK, "quantize: %s",
	      ocr2_errmsg());
	if (check_failures)
		return check_done();
	ocr2_weights *a = NULL, *b = NULL;
	CHECK(!ocr2_weights_load(argv[1], &a) && !ocr2_weights_load(argv[2], &b), "load: %s",
	      ocr2_errmsg());
	if (check_failures)
		return check_done();
	int n_q8 = 0, n_copy = 0;
	for (int i = 0; i < ocr2_weights_count(a); i++) {
		const ocr2_tensor *t = ocr2_weights_at(a, i), *q = ocr2_weights_get(b, t->name);
		CHECK(q, "%s missing from the copy", t->name);
		if (!q)
			continue;
		CHECK(q->nelem == t->nelem && q->ndim == t->ndim, "%s changed shape", t->name);
		if (q->nelem != t->nelem || q->ndim != t->ndim)
			continue;
		if (q->dtype != OCR2_DT_Q8) {
			CHECK(q->dtype == t->dtype && q->nbytes == t->nbytes &&
			      !memcmp(q->data, t->data, t->nbytes),
			      "%s not copied exactly", t->name);
			n_copy++;
			continue;
		}
		n_q8++;
		CHECK(q->scales_h, "%s kept f32 scales (its values fit f16)", t->name);
		CHECK(strcmp(t->name + strlen(t->name) - 11, "gate.weight") || strstr(t->name, "proj"),
		      "router %s was quantized", t->name);
		double worst = 0;
		for (int64_t e = 0; e < t->nelem; e++) {
			float s = ocr2_q8_scale(q, e / 32);
			double err = fabs(ocr2_tensor_f32(q, e) - ocr2_tensor_f32(t, e));
			/* half a step, plus the f32 rounding of scale*q */
			double tol = 0.5 * s * (1 + 1e-5) + 1e-7 * fabs(ocr2_tensor_f32(t, e));
			if (err > tol && err - tol > worst)
				worst = err - tol;
		}
		CHECK(!(worst > 0), "%s exceeds half a step by %g", t->name, worst);
	}
	ocr2_config c;
	char path[4096];
	snprintf(path, sizeof path, "%s/config.json", argv[2]);
	CHECK(ocr2_config_load(path, &c) == OCR2_OK &&
	      ocr2_model_check_tensors(b, &c, argv[2]) == OCR2_OK,
	      "the copy does not pass the model check: %s", ocr2_errmsg());
	/* idempotent: a q8 copy quantized again is the same file */
	{
		char again[4096], f1[4200], f2[4200];
		snprintf(again, sizeof again, "%s-again", argv[2]);
		snprintf(f1, sizeof f1, "%s/model.safetensors", argv[2]);
		snprintf(f2, sizeof f2, "%s/model.safetensors", again);
		FILE *x = NULL, *y = NULL;
		bool same = ocr2_model_quantize(argv[2], again, NULL, NULL) == OCR2_OK &&
			    (x = fopen(f1, "rb")) && (y = fopen(f2, "rb"));
		for (int cx = 0, cy = 0; same && (cx != EOF || cy != EOF);) {
			cx = fgetc(x);
			cy = fgetc(y);
			same = cx == cy;
		}
		if (x)
			fclose(x);
		if (y)
			fclose(y);
		CHECK(same, "quantizing the copy again changed it (%s)", ocr2_errmsg());
	}
	/* f32 -> f16: exact on every finite f16, nearest-even on midpoints */
	for (uint32_t h = 0; h < 0x7c00; h++) {
		float v = ocr2_f16_to_f32((uint16_t)h);
		if (h >= 0x400 && ocr2_f32_to_f16(v) != h) { /* normals round-trip */
			FAIL("f16 %04x does not round-trip", h);
			break;
		}
		if (h >= 0x400 && h + 1 < 0x7c00) {
			float mid = (v + ocr2_f16_to_f32((uint16_t)(h + 1))) / 2; /* exact in f32 */
			uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
			if (ocr2_f32_to_f16(mid) != want || ocr2_f32_to_f16(-mid) != (want | 0x8000)) {
				FAIL("f16 midpoint above %04x rounds wrong", h);
				break;
			}
		}
	}
	CHECK(ocr2_f32_to_f16(1e6f) == 0x7c00 && ocr2_f32_to_f16(65504.f) == 0x7bff &&
	      ocr2_f32_to_f16(1e-9f) == 0,
	      "f16 overflow / underflow");
	CHECK(n_q8 != 0, "nothing was quantized");
	printf("%d tensors quantized, %d copied\n", n_q8, n_copy);
	ocr2_weights_free(a);
	ocr2_weights_free(b);
	return check_done();
}
