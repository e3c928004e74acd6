/* doc.c - opening documents: format sniffing from magic bytes, reading files
 * and stdin, and dispatch to the PDF, TIFF, PNG and JPEG readers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "document/document.h"

/* A PDF header may follow up to 1024 bytes of junk (mail headers, a BOM, a
 * print job preamble): poppler, like Acrobat, looks for "%PDF-" that far, so
 * sniffing does too. Every other format must start at byte 0. */
#define PDF_SCAN 1024

ocr2_format ocr2_format_sniff(const void *buf, size_t n)
{
	const uint8_t *b = buf;
	if (!b)
		return OCR2_FMT_UNKNOWN;
	if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
		return OCR2_FMT_PNG;
	if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
		return OCR2_FMT_JPEG;
	/* classic TIFF (42) and BigTIFF (43), both byte orders */
	if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
		       (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43))))
		return OCR2_FMT_TIFF;
	size_t lim = n < PDF_SCAN ? n : PDF_SCAN;
	for (size_t i = 0; i + 5 <= lim; i++)
		if (b[i] == '%' && !memcmp(b + i, "%PDF-", 5))
			return OCR2_FMT_PDF;
	return OCR2_FMT_UNKNOWN;
}

const char *ocr2_format_name(ocr2_format f)
{
	switch (f) {
	case OCR2_FMT_PDF: return "PDF";
	case OCR2_FMT_TIFF: return "TIFF";
	case OCR2_FMT_PNG: return "PNG";
	case OCR2_FMT_JPEG: return "JPEG";
	case OCR2_FMT_UNKNOWN: break;
	}
	return "unknown";
}

ocr2_doc_params ocr2_doc_default_params(void)
{
	ocr2_doc_params p = {.dpi = 144, .max_pixels = (int64_t)1 << 28};
	/* OCR2_MAX_PIXELS lowers or raises the guard (man ocr2, ENVIRONMENT) */
	const char *e = getenv("OCR2_MAX_PIXELS");
	char *end;
	long long v = e && *e ? strtoll(e, &end, 10) : 0;
	if (v > 0 && !*end)
		p.max_pixels = v;
	return p;
}

ocr2_status doc_check_size(const ocr2_doc *d, int64_t w, int64_t h, int page1)
{
	char where[32] = "";
	if (d->n_pages > 1)
		snprintf(where, sizeof where, "page %d: ", page1);
	if (w < 1 || h < 1)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: %simage has no pixels (%lldx%lld)", d->name,
				 where, (long long)w, (long long)h);
	/* w, h < 2^31 each for every caller, so the product cannot overflow */
	if (w > INT32_MAX || h > INT32_MAX || w * h > d->p.max_pixels || w * 3 > INT32_MAX)
		return ocr2_fail(OCR2_ERR_TOO_LARGE,
				 "%s: %s%lldx%lld pixels is more than the limit of %lld", d->name,
				 where, (long long)w, (long long)h, (long long)d->p.max_pixels);
	return OCR2_OK;
}

ocr2_status doc_image_alloc(const ocr2_doc *d, int w, int h, ocr2_image *out)
{
	out->rgb = malloc((size_t)w * h * 3);
	if (!out->rgb)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory for %dx%d pixels", d->name, w,
				 h);
	out->width = w;
	out->height = h;
	return OCR2_OK;
}

/* Reads the rest of fd; the buffer is NUL-padded by one byte. */
static ocr2_status read_all(int fd, const char *name, uint8_t **data, size_t *n)
{
	char *buf;
	if (ocr2_read_fd(fd, SIZE_MAX, &buf, n) != 0) {
		if (errno == ENOMEM)
			return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", name);
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot read: %s", name, strerror(errno));
	}
	*data = (uint8_t *)buf;
	return OCR2_OK;
}

static ocr2_status open_format(ocr2_doc *d, const char *pdf_path)
{
	switch (d->fmt) {
	case OCR2_FMT_PDF: return doc_pdf_open(d, pdf_path);
	case OCR2_FMT_TIFF: return doc_tiff_open(d);
	case OCR2_FMT_PNG: return doc_png_open(d);
	case OCR2_FMT_JPEG: return doc_jpeg_open(d);
	case OCR2_FMT_UNKNOWN: break;
	}
	if (d->n == 0)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: empty file", d->name);
	return ocr2_fail(OCR2_ERR_FORMAT, "%s: not a PDF, TIFF, PNG or JPEG file", d->name);
}

static ocr2_doc *doc_new(const char *name, const ocr2_doc_params *p)
{
	ocr2_doc *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->name = strdup(name ? name : "(memory)");
	if (!d->name) {
		free(d);
		return NULL;
	}
	d->p = p ? *p : ocr2_doc_default_params();
	if (!(d->p.dpi > 0) || d->p.dpi > 1e5)
		d->p.dpi = 144;
	if (d->p.max_pixels <= 0)
		d->p.max_pixels = (int64_t)1 << 28;
	return d;
}

static ocr2_status finish_open(ocr2_doc *d, const char *pdf_path, ocr2_doc **out)
{
	ocr2_status s = open_format(d, pdf_path);
	if (s != OCR2_OK) {
		ocr2_doc_free(d);
		return s;
	}
	if (d->n_pages < 1) {
		/* message first: it names the file, which dies with d */
		s = ocr2_fail(OCR2_ERR_EMPTY, "%s: document has no pages", d->name);
		ocr2_doc_free(d);
		return s;
	}
	*out = d;
	return OCR2_OK;
}

ocr2_status ocr2_doc_open(const char *path, const ocr2_doc_params *p, ocr2_doc **out)
{
	*out = NULL;
	if (!path || !*path)
		return ocr2_fail(OCR2_ERR_INVALID, "no input file named");
	ocr2_doc *d = doc_new(path, p);
	if (!d)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	bool is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ocr2_doc_free(d);
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot open: %s", path, strerror(e));
	}
	struct stat st;
	bool regular = !is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (!is_stdin && !regular && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		ocr2_doc_free(d);
		return ocr2_fail(OCR2_ERR_IO, "%s: is a directory", path);
	}
	/* A PDF in a regular file is left to poppler, which reads only what
	 * it needs; everything else (stdin, pipes, images) is read into
	 * memory. */
	uint8_t head[PDF_SCAN];
	size_t nh = 0;
	if (regular) {
		while (nh < sizeof head) {
			ssize_t r = read(fd, head + nh, sizeof head - nh);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				int e = errno;
				close(fd);
				ocr2_doc_free(d);
				return ocr2_fail(OCR2_ERR_IO, "%s: cannot read: %s", path,
						 strerror(e));
			}
			if (r == 0)
				break;
			nh += (size_t)r;
		}
		d->fmt = ocr2_format_sniff(head, nh);
		if (d->fmt == OCR2_FMT_PDF) {
			close(fd);
			return finish_open(d, path, out);
		}
		if (lseek(fd, 0, SEEK_SET) != 0) {
			int e = errno;
			close(fd);
			ocr2_doc_free(d);
			return ocr2_fail(OCR2_ERR_IO, "%s: cannot seek: %s", path, strerror(e));
		}
	}
	ocr2_status s = read_all(fd, is_stdin ? "stdin" : path, &d->data, &d->n);
	if (!is_stdin)
		close(fd);
	if (s != OCR2_OK) {
		ocr2_doc_free(d);
		return s;
	}
	d->fmt = ocr2_format_sniff(d->data, d->n);
	return finish_open(d, NULL, out);
}

ocr2_status ocr2_doc_open_memory(const void *data, size_t n, const char *name,
				 const ocr2_doc_params *p, ocr2_doc **out)
{
	*out = NULL;
	ocr2_doc *d = doc_new(name, p);
	if (!d)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", name ? name : "(memory)");
	d->data = malloc(n + 1);
	if (!d->data) {
		ocr2_doc_free(d);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", name ? name : "(memory)");
	}
	if (n)
		memcpy(d->data, data, n);
	d->data[n] = 0;
	d->n = n;
	d->fmt = ocr2_format_sniff(d->data, d->n);
	return finish_open(d, NULL, out);
}

int ocr2_doc_page_count(const ocr2_doc *d)
{
	return d ? d->n_pages : 0;
}

double ocr2_doc_render_dpi(const ocr2_doc *d)
{
	return d ? d->render_dpi : 0;
}

ocr2_format ocr2_doc_format(const ocr2_doc *d)
{
	return d ? d->fmt : OCR2_FMT_UNKNOWN;
}

ocr2_status ocr2_doc_render(ocr2_doc *d, int index, ocr2_image *out)
{
	memset(out, 0, sizeof *out);
	if (!d)
		return ocr2_fail(OCR2_ERR_INVALID, "no document");
	if (index < 0 || index >= d->n_pages)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: no page %d (the document has %d)", d->name,
				 index + 1, d->n_pages);
	d->render_dpi = 0;
	switch (d->fmt) {
	case OCR2_FMT_PDF: return doc_pdf_render(d, index, out);
	case OCR2_FMT_TIFF: return doc_tiff_render(d, index, true, out);
	case OCR2_FMT_PNG: return doc_png_render(d, out);
	case OCR2_FMT_JPEG: return doc_jpeg_render(d, out);
	case OCR2_FMT_UNKNOWN: break;
	}
	return ocr2_fail(OCR2_ERR_INTERNAL, "%s: no reader", d->name);
}

ocr2_status ocr2_doc_page_dpi(ocr2_doc *d, int index, double *xdpi, double *ydpi)
{
	*xdpi = *ydpi = 0;
	if (!d)
		return ocr2_fail(OCR2_ERR_INVALID, "no document");
	if (index < 0 || index >= d->n_pages)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: no page %d (the document has %d)", d->name,
				 index + 1, d->n_pages);
	if (d->fmt == OCR2_FMT_PDF) {
		*xdpi = *ydpi = d->p.dpi;
		return OCR2_OK;
	}
	double dpi[2];
	ocr2_status s = doc_image_dpi(d, index, dpi);
	if (s != OCR2_OK)
		return s;
	/* a declared resolution that cannot be meant is no resolution */
	if (dpi[0] >= 1 && dpi[0] <= 1e5 && dpi[1] >= 1 && dpi[1] <= 1e5) {
		*xdpi = dpi[0];
		*ydpi = dpi[1];
	}
	return OCR2_OK;
}

void ocr2_doc_free(ocr2_doc *d)
{
	if (!d)
		return;
	doc_pdf_close(d);
	doc_tiff_close(d);
	free(d->data);
	free(d->name);
	free(d);
}

void ocr2_image_free(ocr2_image *img)
{
	if (!img)
		return;
	free(img->rgb);
	memset(img, 0, sizeof *img);
}
