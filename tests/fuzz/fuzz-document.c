/* fuzz-document.c - libFuzzer target: the image and PDF entry points through
 * the real libraries (poppler, libtiff, libpng, libjpeg): open from memory and
 * render the first two pages at a low DPI with a small pixel cap. */
#include "ocr2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ocr2_doc_params p = ocr2_doc_default_params();
	p.dpi = 18;
	p.max_pixels = 1 << 22;
	ocr2_doc *d = NULL;
	if (ocr2_doc_open_memory(data, size, "fuzz-input", &p, &d) == OCR2_OK) {
		int n = ocr2_doc_page_count(d);
		for (int i = 0; i < n && i < 2; i++) {
			ocr2_image img = {0};
			if (ocr2_doc_render(d, i, &img) == OCR2_OK)
				ocr2_image_free(&img);
		}
		ocr2_doc_free(d);
	}
	return 0;
}
