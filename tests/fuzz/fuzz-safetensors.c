/* fuzz-safetensors.c - libFuzzer target: a safetensors file (header, offsets,
 * dtypes) through the real loader, then every tensor's bytes (and each Q8_0
 * block's scale) are touched so an out-of-bounds binding shows up under
 * AddressSanitizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	if (!path[0]) {
		const char *dir = getenv("TMPDIR");
		snprintf(path, sizeof path, "%s/ocr2-fuzz-%d.safetensors", dir && *dir ? dir : "/tmp",
			 (int)getpid());
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	ocr2_weights *w = NULL;
	if (ocr2_weights_load_file(path, &w) == OCR2_OK) {
		volatile uint8_t sink = 0;
		for (int i = 0; i < ocr2_weights_count(w); i++) {
			const ocr2_tensor *t = ocr2_weights_at(w, i);
			const uint8_t *p = t->data;
			for (size_t b = 0; b < t->nbytes; b++)
				sink ^= p[b];
			/* Q8_0 reads its F16 or F32 scales too */
			for (int64_t e = 0; t->dtype == OCR2_DT_Q8 && e < t->nelem; e += 32) {
				float v = ocr2_tensor_f32(t, e);
				uint8_t bits[4];
				memcpy(bits, &v, 4);
				sink ^= bits[3];
			}
		}
		(void)sink;
		ocr2_weights_free(w);
	}
	unlink(path);
	return 0;
}
