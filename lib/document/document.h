/* document.h - what the document readers (doc.c, pdf.c, image.c) share: the
 * document object and one open/render/close triple per format. Private. */
#ifndef OCR2_DOCUMENT_DOCUMENT_H
#define OCR2_DOCUMENT_DOCUMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocr2.h"

struct ocr2_doc {
	ocr2_format fmt;
	char *name;            /* for messages: the path, or "-"/the caller's name */
	ocr2_doc_params p;
	int n_pages;
	double render_dpi;      /* the last PDF page's resolution (ocr2_doc_render_dpi) */
	uint8_t *data;         /* the whole file when read into memory (owned) */
	size_t n;
	void *pdf;             /* PopplerDocument * */
	void *tif;             /* TIFF * */
	size_t tif_pos;        /* TIFFClientOpen position in data */
	char tif_msg[256];     /* first libtiff error of the current call */
};

/* pdf.c: path is the file to open, or NULL to read d->data. */
ocr2_status doc_pdf_open(ocr2_doc *d, const char *path);
ocr2_status doc_pdf_render(ocr2_doc *d, int index, ocr2_image *out);
void doc_pdf_close(ocr2_doc *d);

/* image.c: all three read d->data. */
ocr2_status doc_tiff_open(ocr2_doc *d);
/* square: pixels of unequal X/Y resolution resampled square, as the model
 * and ocr2_doc_render see them; false: the page's own raster (the searchable
 * PDF embeds it, sized by both resolutions, so a bilevel fax stays G4). */
ocr2_status doc_tiff_render(ocr2_doc *d, int index, bool square, ocr2_image *out);
void doc_tiff_close(ocr2_doc *d);
ocr2_status doc_png_open(ocr2_doc *d);
ocr2_status doc_png_render(ocr2_doc *d, ocr2_image *out);
ocr2_status doc_jpeg_open(ocr2_doc *d);
ocr2_status doc_jpeg_render(ocr2_doc *d, ocr2_image *out);

/* What a JPEG file says of itself before decoding: its stored size, colour
 * components, Adobe marker (CMYK data then is inverted), EXIF orientation
 * (1..8), JFIF resolution (0 when absent or only an aspect ratio), and
 * whether it is 8-bit Huffman-coded (what PDF's DCTDecode promises to read). */
typedef struct {
	int width, height, components, adobe, orientation, baseline_8bit;
	double xdpi, ydpi;
} doc_jpeg_header;
ocr2_status doc_jpeg_info(const uint8_t *data, size_t n, const char *name, doc_jpeg_header *out);
/* The resolution a TIFF page, PNG or JPEG (as shown, orientation applied)
 * declares: dpi[0] across, dpi[1] down; 0 when it declares none. */
ocr2_status doc_image_dpi(ocr2_doc *d, int index, double dpi[2]);

/* Refuses w x h when either is < 1 or the product exceeds max_pixels
 * (checked before any allocation). */
ocr2_status doc_check_size(const ocr2_doc *d, int64_t w, int64_t h, int page1);
/* Allocates out->rgb for w x h (after doc_check_size). */
ocr2_status doc_image_alloc(const ocr2_doc *d, int w, int h, ocr2_image *out);

#endif
