/* test-quantize.c - ocr2 model quantize on the tiny model: every q8 weight is
 * within half a quantization step of the original, everything else is copied
 * byte for byte, and the copy loads and passes the architecture check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test-quantize MODEL_DIR OUT_DIR\n");
		return 2;
	}
	if (ocr2_model_quantize(argv[1], argv[2], NULL, NULL) != OCR2_OK) {
		printf("FAIL quantize: %s\n", ocr2_errmsg());
		return 1;
	}
	ocr2_weights *a = NULL, *b = NULL;
	if (ocr2_weights_load(argv[1], &a) || ocr2_weights_load(argv[2], &b)) {
		printf("FAIL load: %s\n", ocr2_errmsg());
		return 1;
	}
	int fails = 0, n_q8 = 0, n_copy = 0;
	for (int i = 0; i < ocr2_weights_count(a); i++) {
		const ocr2_tensor *t = ocr2_weights_at(a, i), *q = ocr2_weights_get(b, t->name);
		if (!q) {
			printf("FAIL: %s missing from the copy\n", t->name);
			fails++;
			continue;
		}
		if (q->nelem != t->nelem || q->ndim != t->ndim) {
			printf("FAIL: %s changed shape\n", t->name);
			fails++;
			continue;
		}
		if (q->dtype != OCR2_DT_Q8) {
			if (q->dtype != t->dtype || q->nbytes != t->nbytes ||
			    memcmp(q->data, t->data, t->nbytes)) {
				printf("FAIL: %s not copied exactly\n", t->name);
				fails++;
			}
			n_copy++;
			continue;
		}
		n_q8++;
		if (!strcmp(t->name + strlen(t->name) - 11, "gate.weight") &&
		    !strstr(t->name, "proj")) {
			printf("FAIL: router %s was quantized\n", t->name);
			fails++;
		}
		double worst = 0;
		for (int64_t e = 0; e < t->nelem; e++) {
			float s = q->scales[e / 32];
			double err = fabs(ocr2_tensor_f32(q, e) - ocr2_tensor_f32(t, e));
			/* half a step, plus the f32 rounding of scale*q */
			double tol = 0.5 * s * (1 + 1e-5) + 1e-7 * fabs(ocr2_tensor_f32(t, e));
			if (err > tol && err - tol > worst)
				worst = err - tol;
		}
		if (worst > 0) {
			printf("FAIL: %s exceeds half a step by %g\n", t->name, worst);
			fails++;
		}
	}
	ocr2_config c;
	char path[4096];
	snprintf(path, sizeof path, "%s/config.json", argv[2]);
	if (ocr2_config_load(path, &c) != OCR2_OK ||
	    ocr2_model_check_tensors(b, &c, argv[2]) != OCR2_OK) {
		printf("FAIL: the copy does not pass the model check: %s\n", ocr2_errmsg());
		fails++;
	}
	if (n_q8 == 0) {
		printf("FAIL: nothing was quantized\n");
		fails++;
	}
	printf("%d tensors quantized, %d copied\n", n_q8, n_copy);
	ocr2_weights_free(a);
	ocr2_weights_free(b);
	return fails != 0;
}
