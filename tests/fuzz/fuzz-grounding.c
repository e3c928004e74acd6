/* fuzz-grounding.c - libFuzzer target: the grounding-tag parser and the
 * Markdown conversion on arbitrary model output. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ocr2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	if (!s)
		return 0;
	ocr2_blocks b;
	if (ocr2_blocks_parse(s, &b) == OCR2_OK) {
		for (int i = 0; i < b.n_blocks; i++)
			for (int j = 0; j < b.blocks[i].n_boxes; j++)
				ocr2_grid_to_pixel(b.blocks[i].boxes[j][0], 1000);
		ocr2_blocks_free(&b);
	}
	char *md = NULL;
	if (ocr2_markdown_from_raw(s, 1, NULL, &md) == OCR2_OK)
		free(md);
	free(s);
	return 0;
}
