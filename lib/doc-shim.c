/* doc-shim.c - a PNG-only stand-in for the document API (ocr2_doc_*,
 * ocr2_pagesel_*, ocr2_image_*), built only while lib/doc.c is still a stub so
 * the CLI can be built and tested before the documents branch lands. */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct ocr2_doc {
	ocr2_format fmt;
	char *path;
};

struct ocr2_pagesel {
	int n;
	int (*r)[2];
};

ocr2_format ocr2_format_sniff(const void *buf, size_t n)
{
	const unsigned char *b = buf;
	if (n >= 5 && !memcmp(b, "%PDF-", 5))
		return OCR2_FMT_PDF;
	if (n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4)))
		return OCR2_FMT_TIFF;
	if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
		return OCR2_FMT_PNG;
	if (n >= 3 && !memcmp(b, "\xff\xd8\xff", 3))
		return OCR2_FMT_JPEG;
	return OCR2_FMT_UNKNOWN;
}

const char *ocr2_format_name(ocr2_format f)
{
	switch (f) {
	case OCR2_FMT_PDF: return "pdf";
	case OCR2_FMT_TIFF: return "tiff";
	case OCR2_FMT_PNG: return "png";
	case OCR2_FMT_JPEG: return "jpeg";
	default: return "unknown";
	}
}

ocr2_doc_params ocr2_doc_default_params(void)
{
	ocr2_doc_params p = {144, (int64_t)1 << 28};
	return p;
}

ocr2_status ocr2_doc_open(const char *path, const ocr2_doc_params *p, ocr2_doc **out)
{
	*out = NULL;
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : NULL;
	if (!f)
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strcmp(path, "-") ? strerror(errno)
								      : "stdin needs lib/doc.c");
	unsigned char head[16];
	size_t n = fread(head, 1, sizeof head, f);
	fclose(f);
	ocr2_format fmt = ocr2_format_sniff(head, n);
	if (fmt == OCR2_FMT_UNKNOWN)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: not a PDF, TIFF, PNG or JPEG file", path);
	if (fmt != OCR2_FMT_PNG)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: %s needs lib/doc.c", path,
				 ocr2_format_name(fmt));
	ocr2_doc *d = calloc(1, sizeof *d);
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	}
	d->fmt = fmt;
	*out = d;
	return OCR2_OK;
}

ocr2_status ocr2_doc_open_memory(const void *data, size_t n, const char *name,
				 const ocr2_doc_params *p, ocr2_doc **out)
{
	*out = NULL;
	return ocr2_fail(OCR2_ERR_FORMAT, "%s: needs lib/doc.c", name);
}

int ocr2_doc_page_count(const ocr2_doc *d)
{
	return 1;
}

ocr2_format ocr2_doc_format(const ocr2_doc *d)
{
	return d->fmt;
}

ocr2_status ocr2_doc_render(ocr2_doc *d, int index, ocr2_image *out)
{
	memset(out, 0, sizeof *out);
	png_image im;
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&im, d->path))
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: %s", d->path, im.message);
	im.format = PNG_FORMAT_RGB;
	out->rgb = malloc(PNG_IMAGE_SIZE(im));
	if (!out->rgb) {
		png_image_free(&im);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", d->path);
	}
	png_color white = {255, 255, 255};
	if (!png_image_finish_read(&im, &white, out->rgb, 0, NULL)) {
		free(out->rgb);
		out->rgb = NULL;
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: %s", d->path, im.message);
	}
	out->width = (int)im.width;
	out->height = (int)im.height;
	return OCR2_OK;
}

void ocr2_doc_free(ocr2_doc *d)
{
	if (!d)
		return;
	free(d->path);
	free(d);
}

void ocr2_image_free(ocr2_image *img)
{
	if (!img)
		return;
	free(img->rgb);
	memset(img, 0, sizeof *img);
}

ocr2_status ocr2_image_write_png(const ocr2_image *img, const char *path)
{
	png_image im;
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	im.width = (png_uint_32)img->width;
	im.height = (png_uint_32)img->height;
	im.format = PNG_FORMAT_RGB;
	if (!png_image_write_to_file(&im, path, 0, img->rgb, 0, NULL))
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", path, im.message);
	return OCR2_OK;
}

static int num(const char **s)
{
	long v = 0;
	if (**s < '0' || **s > '9')
		return -1;
	while (**s >= '0' && **s <= '9') {
		v = v * 10 + (*(*s)++ - '0');
		if (v > 1000000000)
			return -1;
	}
	return (int)v;
}

ocr2_status ocr2_pagesel_parse(const char *spec, ocr2_pagesel **out)
{
	*out = NULL;
	ocr2_pagesel *ps = calloc(1, sizeof *ps);
	if (!ps || !(ps->r = calloc(strlen(spec) + 1, sizeof *ps->r))) {
		free(ps);
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	}
	const char *s = spec;
	for (;;) {
		int a = 1, b;
		if (*s != '-' && (a = num(&s)) < 1)
			goto bad;
		b = a;
		if (*s == '-') {
			s++;
			b = (*s == ',' || !*s) ? 0x7fffffff : num(&s);
			if (b < a)
				goto bad;
		}
		ps->r[ps->n][0] = a;
		ps->r[ps->n][1] = b;
		ps->n++;
		if (!*s)
			break;
		if (*s++ != ',')
			goto bad;
	}
	*out = ps;
	return OCR2_OK;
bad:
	ocr2_pagesel_free(ps);
	return ocr2_fail(OCR2_ERR_INVALID, "'%s': not a page selection like 1,3-5,9-", spec);
}

int ocr2_pagesel_has(const ocr2_pagesel *s, int page1)
{
	if (!s)
		return 1;
	for (int i = 0; i < s->n; i++)
		if (page1 >= s->r[i][0] && page1 <= s->r[i][1])
			return 1;
	return 0;
}

void ocr2_pagesel_free(ocr2_pagesel *s)
{
	if (!s)
		return;
	free(s->r);
	free(s);
}
