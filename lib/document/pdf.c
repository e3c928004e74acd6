/* pdf.c - PDF pages through poppler-glib and cairo, one page at a time, drawn
 * the way `pdftocairo -png -r DPI` draws them. */
#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <glib.h>
#include <poppler.h>

#include "base/error.h"
#include "base/unicode.h"
#include "document/document.h"

/* poppler-glib reports syntax errors of damaged files through g_log in the
 * "Poppler" domain, which by default lands on stderr. The library never
 * prints: the handler keeps the last message of this thread for the error
 * line instead. */
static _Thread_local char poppler_msg[200];

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
	if (msg && !poppler_msg[0])
		snprintf(poppler_msg, sizeof poppler_msg, "%s", msg);
}

static void install_log_handler(void)
{
	g_log_set_handler("Poppler", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
			  quiet_log, NULL);
}

static void quiet_poppler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_log_handler);
	poppler_msg[0] = 0;
}

/* " (poppler: <first message>)" or "" */
static const char *poppler_detail(char *buf, size_t n)
{
	if (!poppler_msg[0])
		return "";
	snprintf(buf, n, " (poppler: %s)", poppler_msg);
	return buf;
}

ocr2_status doc_pdf_open(ocr2_doc *d, const char *path)
{
	quiet_poppler();
	GError *err = NULL;
	PopplerDocument *pd = NULL;
	if (path) {
		gchar *abs = g_canonicalize_filename(path, NULL);
		gchar *uri = abs ? g_filename_to_uri(abs, NULL, &err) : NULL;
		g_free(abs);
		if (!uri) {
			ocr2_status s = ocr2_fail(OCR2_ERR_IO, "%s: cannot open: %s", d->name,
						  err ? err->message : "bad file name");
			if (err)
				g_error_free(err);
			return s;
		}
		pd = poppler_document_new_from_file(uri, NULL, &err);
		g_free(uri);
	} else {
		/* d->data outlives the document: no copy */
		GBytes *b = g_bytes_new_static(d->data, d->n);
		pd = poppler_document_new_from_bytes(b, NULL, &err);
		g_bytes_unref(b);
	}
	if (!pd) {
		char det[240];
		ocr2_status s;
		if (err && err->domain == POPPLER_ERROR && err->code == POPPLER_ERROR_ENCRYPTED)
			s = ocr2_fail(OCR2_ERR_ENCRYPTED,
				      "%s: encrypted PDF (a password is needed to open it)", d->name);
		else if (err && err->domain == G_FILE_ERROR)
			s = ocr2_fail(OCR2_ERR_IO, "%s: cannot open: %s", d->name, err->message);
		else
			s = ocr2_fail(OCR2_ERR_FORMAT, "%s: corrupt or truncated PDF%s", d->name,
				      poppler_detail(det, sizeof det));
		if (err)
			g_error_free(err);
		return s;
	}
	d->pdf = pd;
	d->n_pages = poppler_document_get_n_pages(pd);
	return OCR2_OK;
}

/* The raster size of a page of w x h points, as pdftocairo computes it:
 * (int)ceil(points * (dpi / 72.0)), evaluated in that order. */
static double raster_side(double pts, double dpi)
{
	return ceil(pts * (dpi / 72.0));
}

ocr2_status doc_pdf_render(ocr2_doc *d, int index, ocr2_image *out)
{
	quiet_poppler();
	PopplerPage *page = poppler_document_get_page(d->pdf, index);
	if (!page)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: page %d: cannot be read", d->name, index + 1);
	double pw = 0, ph = 0;
	poppler_page_get_size(page, &pw, &ph); /* crop box, /Rotate applied */
	double dpi = d->p.dpi;
	double fw = raster_side(pw, dpi), fh = raster_side(ph, dpi);
	if (fw >= 1 && fh >= 1 && fw * fh > (double)d->p.max_pixels) {
		/* the largest whole dpi below that fits: from the area bound down,
		 * past the rounding up of each side (as OCRmyPDF lowers the dpi of
		 * an oversized page rather than refuse it) */
		double fit = floor(72.0 * sqrt((double)d->p.max_pixels / (pw * ph)));
		if (fit >= dpi)
			fit = ceil(dpi) - 1;
		while (fit >= 1 && raster_side(pw, fit) * raster_side(ph, fit) > (double)d->p.max_pixels)
			fit--;
		if (fit >= 1) {
			dpi = fit;
			fw = raster_side(pw, dpi);
			fh = raster_side(ph, dpi);
		}
	}
	d->render_dpi = dpi;
	if (!(fw >= 1 && fh >= 1 && fw < 2147483647.0 && fh < 2147483647.0)) {
		g_object_unref(page);
		if (fw >= 1 && fh >= 1)
			return ocr2_fail(OCR2_ERR_TOO_LARGE,
					 "%s: page %d: %.0fx%.0f points at %g dpi is too large",
					 d->name, index + 1, pw, ph, dpi);
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: page %d: page has no area (%gx%g points)",
				 d->name, index + 1, pw, ph);
	}
	ocr2_status s = doc_check_size(d, (int64_t)fw, (int64_t)fh, index + 1);
	if (s != OCR2_OK) {
		g_object_unref(page);
		return s;
	}
	int w = (int)fw, h = (int)fh;
	int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, w);
	uint8_t *buf = stride > 0 ? calloc((size_t)stride, (size_t)h) : NULL;
	if (!buf) {
		g_object_unref(page);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: page %d: out of memory for %dx%d pixels",
				 d->name, index + 1, w, h);
	}
	cairo_surface_t *surf =
		cairo_image_surface_create_for_data(buf, CAIRO_FORMAT_ARGB32, w, h, stride);
	cairo_t *cr = cairo_create(surf);
	/* pdftocairo's renderPage: draw on transparent, then put white behind */
	cairo_save(cr);
	cairo_scale(cr, dpi / 72.0, dpi / 72.0);
	poppler_page_render(page, cr);
	cairo_restore(cr);
	cairo_set_operator(cr, CAIRO_OPERATOR_DEST_OVER);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_status_t cs = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_flush(surf);
	cairo_surface_destroy(surf);
	g_object_unref(page);
	if (cs != CAIRO_STATUS_SUCCESS) {
		free(buf);
		return ocr2_fail(cs == CAIRO_STATUS_NO_MEMORY ? OCR2_ERR_NOMEM : OCR2_ERR_FORMAT,
				 "%s: page %d: cairo: %s", d->name, index + 1,
				 cairo_status_to_string(cs));
	}
	/* ARGB32 (native-endian words, opaque after the white fill) -> RGB in
	 * place: the write index 3i never passes the read index 4i. */
	uint8_t *o = buf;
	for (int y = 0; y < h; y++) {
		const uint32_t *row = (const uint32_t *)(buf + (size_t)y * stride);
		for (int x = 0; x < w; x++) {
			uint32_t px = row[x];
			*o++ = (uint8_t)(px >> 16);
			*o++ = (uint8_t)(px >> 8);
			*o++ = (uint8_t)px;
		}
	}
	uint8_t *shrunk = realloc(buf, (size_t)w * h * 3);
	out->rgb = shrunk ? shrunk : buf;
	out->width = w;
	out->height = h;
	return OCR2_OK;
}

void doc_pdf_close(ocr2_doc *d)
{
	if (d->pdf)
		g_object_unref(d->pdf);
	d->pdf = NULL;
}

/* Not text for --skip-text: white space, controls and the invisible format
 * characters some producers scatter (zero-width space and joiners, BOM). */
static bool blank_char(uint32_t cp)
{
	return cp < 0x21 || (cp >= 0x7F && cp <= 0xA0) || (cp >= 0x200B && cp <= 0x200D) ||
	       cp == 0x2060 || cp == 0xFEFF || ocr2_uclass(cp) == OCR2_UC_WS;
}

ocr2_status ocr2_doc_page_text(ocr2_doc *d, int index, char **text, int *has_text)
{
	*text = NULL;
	*has_text = 0;
	if (!d)
		return ocr2_fail(OCR2_ERR_INVALID, "no document");
	if (index < 0 || index >= d->n_pages)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: no page %d (the document has %d)", d->name,
				 index + 1, d->n_pages);
	gchar *g = NULL;
	if (d->fmt == OCR2_FMT_PDF) {
		quiet_poppler();
		PopplerPage *page = poppler_document_get_page(d->pdf, index);
		if (!page)
			return ocr2_fail(OCR2_ERR_FORMAT, "%s: page %d: cannot be read", d->name,
					 index + 1);
		g = poppler_page_get_text(page);
		g_object_unref(page);
	}
	size_t n = g ? strlen(g) : 0;
	char *t = malloc(n + 1);
	if (!t) {
		g_free(g);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", d->name);
	}
	if (n)
		memcpy(t, g, n);
	t[n] = 0;
	g_free(g);
	/* poppler hands out UTF-8; a stray invalid byte is not a reason to call
	 * a page empty, so it counts as text */
	for (size_t i = 0; i < n && !*has_text;) {
		uint32_t cp;
		int k = ocr2_utf8_next((const unsigned char *)t + i, n - i, &cp);
		if (k == 0 || !blank_char(cp))
			*has_text = 1;
		i += k ? (size_t)k : 1;
	}
	*text = t;
	return OCR2_OK;
}
