/* fuzz-pagesel.c - libFuzzer target: page-range syntax ("1,3-5,9-"). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ocr2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	if (!s)
		return 0;
	ocr2_pagesel *sel = NULL;
	if (ocr2_pagesel_parse(s, &sel) == OCR2_OK) {
		for (int p = 1; p < 50; p++)
			ocr2_pagesel_has(sel, p);
		ocr2_pagesel_has(sel, 2147483647);
		ocr2_pagesel_free(sel);
	}
	free(s);
	return 0;
}
