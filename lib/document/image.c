/* image.c - raster documents: TIFF (every frame, through libtiff's RGBA
 * reader, resampled to square pixels), PNG (libpng) and JPEG (libjpeg, EXIF
 * orientation applied), and the PNG writer. Transparency is composited on
 * white (see composite()). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <tiffio.h>

#include "base/error.h"
#include "document/document.h"
#include "document/resize.h"

/* Alpha on a white page, the way Pillow's Image.paste(img, mask=alpha) onto
 * white does it (the official PDF script's RGBA path): round((c*a +
 * 255*(255-a)) / 255), i.e. (x + 127) / 255 in integers, exact for every c, a. */
static inline uint8_t composite(unsigned c, unsigned a)
{
	return (uint8_t)((c * a + 255u * (255u - a) + 127u) / 255u);
}

/* ---- TIFF -------------------------------------------------------------------- */

static int tiff_on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	ocr2_doc *d = user;
	if (d && !d->tif_msg[0]) {
		char m[200];
		vsnprintf(m, sizeof m, fmt, ap);
		snprintf(d->tif_msg, sizeof d->tif_msg, "%s", m);
	}
	return 1; /* handled: the global handler stays silent */
}

static int tiff_on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	return 1;
}

static void tiff_silence_globals(void)
{
	/* Codecs that report without a TIFF handle reach the process-wide
	 * handlers, which print by default. The library never prints. */
	TIFFSetErrorHandler(NULL);
	TIFFSetWarningHandler(NULL);
}

static tmsize_t tiff_read(thandle_t h, void *buf, tmsize_t n)
{
	ocr2_doc *d = h;
	if (n <= 0 || d->tif_pos >= d->n)
		return 0;
	size_t k = d->n - d->tif_pos;
	if ((size_t)n < k)
		k = (size_t)n;
	memcpy(buf, d->data + d->tif_pos, k);
	d->tif_pos += k;
	return (tmsize_t)k;
}

static tmsize_t tiff_write(thandle_t h, void *buf, tmsize_t n)
{
	return -1;
}

static toff_t tiff_seek(thandle_t h, toff_t off, int whence)
{
	ocr2_doc *d = h;
	uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? d->tif_pos : d->n;
	uint64_t pos = base + off; /* libtiff passes negative offsets as wrapped */
	if (whence == SEEK_SET)
		pos = off;
	if (pos > SIZE_MAX)
		return (toff_t)-1;
	d->tif_pos = (size_t)pos; /* past the end is allowed; reads return 0 */
	return pos;
}

static int tiff_close(thandle_t h)
{
	return 0;
}

static toff_t tiff_size(thandle_t h)
{
	return ((ocr2_doc *)h)->n;
}

static int tiff_map(thandle_t h, void **base, toff_t *size)
{
	ocr2_doc *d = h;
	*base = d->data;
	*size = d->n;
	return 1;
}

static void tiff_unmap(thandle_t h, void *base, toff_t size)
{
}

ocr2_status doc_tiff_open(ocr2_doc *d)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, tiff_silence_globals);
	TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
	if (!o)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", d->name);
	TIFFOpenOptionsSetErrorHandlerExtR(o, tiff_on_error, d);
	TIFFOpenOptionsSetWarningHandlerExtR(o, tiff_on_warning, d);
	/* libtiff's own buffers (strips, tiles, tags); our raster is separate */
	int64_t cap = d->p.max_pixels * 8;
	TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)(cap < ((int64_t)1 << 26) ? (int64_t)1 << 26 : cap));
	d->tif_msg[0] = 0;
	d->tif_pos = 0;
	TIFF *t = TIFFClientOpenExt(d->name, "r", (thandle_t)d, tiff_read, tiff_write, tiff_seek,
				    tiff_close, tiff_size, tiff_map, tiff_unmap, o);
	TIFFOpenOptionsFree(o);
	if (!t)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: corrupt TIFF%s%s", d->name,
				 d->tif_msg[0] ? ": " : "", d->tif_msg);
	d->tif = t;
	/* TIFFNumberOfDirectories stops at loops and at the first bad link */
	tdir_t n = TIFFNumberOfDirectories(t);
	d->n_pages = n > 100000 ? 100000 : (int)n;
	return OCR2_OK;
}

/* Pixels that are not square (a fax: 204 x 98 dpi) are shown by viewers at
 * their physical proportions; the model must see them so too, or a standard
 * fax reaches it squashed 2:1. The axis of the lower resolution is resampled
 * up to the higher one (no detail is thrown away: 1728x1100 at 204x98 dpi
 * becomes 1728x2290 at 204 dpi), with Pillow's bicubic filter, which is
 * deterministic (integer coefficients) and what the encoder resizes with. The
 * ResolutionUnit does not matter (a ratio; RESUNIT_NONE declares exactly that
 * aspect). Missing, non-positive or absurd values (a ratio over 8) are
 * ignored, as viewers ignore them. */
static void square_size(TIFF *t, int *w, int *h)
{
	float xr = 0, yr = 0;
	if (!TIFFGetField(t, TIFFTAG_XRESOLUTION, &xr) || !TIFFGetField(t, TIFFTAG_YRESOLUTION, &yr))
		return;
	if (!(xr > 0 && yr > 0) || xr / yr > 8 || yr / xr > 8)
		return;
	double nw = *w, nh = *h;
	if (xr > yr)
		nh = floor(*h * ((double)xr / yr) + 0.5);
	else if (yr > xr)
		nw = floor(*w * ((double)yr / xr) + 0.5);
	if (nw >= 1 && nh >= 1 && nw < 2147483647.0 && nh < 2147483647.0) {
		*w = (int)nw;
		*h = (int)nh;
	}
}

ocr2_status doc_tiff_render(ocr2_doc *d, int index, bool square, ocr2_image *out)
{
	TIFF *t = d->tif;
	d->tif_msg[0] = 0;
	if (!TIFFSetDirectory(t, (tdir_t)index))
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: page %d: corrupt TIFF directory%s%s", d->name,
				 index + 1, d->tif_msg[0] ? ": " : "", d->tif_msg);
	uint32_t w = 0, h = 0;
	TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
	ocr2_status s = doc_check_size(d, w, h, index + 1);
	if (s != OCR2_OK)
		return s;
	int sw = (int)w, sh = (int)h;
	if (square)
		square_size(t, &sw, &sh);
	if ((sw != (int)w || sh != (int)h) && (s = doc_check_size(d, sw, sh, index + 1)) != OCR2_OK)
		return s;
	char emsg[1024] = "";
	if (!TIFFRGBAImageOK(t, emsg))
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: page %d: unsupported TIFF: %s", d->name,
				 index + 1, emsg);
	uint32_t *raster = malloc((size_t)w * h * 4);
	if (!raster)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: page %d: out of memory for %ux%u pixels",
				 d->name, index + 1, w, h);
	d->tif_msg[0] = 0;
	int ok = TIFFReadRGBAImageOriented(t, w, h, raster, ORIENTATION_TOPLEFT, 1);
	if (!ok || d->tif_msg[0]) {
		free(raster);
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: page %d: corrupt TIFF data%s%s", d->name,
				 index + 1, d->tif_msg[0] ? ": " : "", d->tif_msg);
	}
	/* ABGR words -> RGB in place (write index 3i never passes read 4i).
	 * libtiff hands out premultiplied colour for both kinds of alpha, so
	 * white behind it is c + (255 - a); for unassociated alpha this equals
	 * composite() of the unpremultiplied value. */
	uint8_t *o = (uint8_t *)raster;
	size_t np = (size_t)w * h;
	for (size_t i = 0; i < np; i++) {
		uint32_t px = raster[i];
		unsigned a = TIFFGetA(px), r = TIFFGetR(px), g = TIFFGetG(px), b = TIFFGetB(px);
		if (a != 255) {
			r += 255 - a;
			g += 255 - a;
			b += 255 - a;
			r = r > 255 ? 255 : r;
			g = g > 255 ? 255 : g;
			b = b > 255 ? 255 : b;
		}
		o[3 * i] = (uint8_t)r;
		o[3 * i + 1] = (uint8_t)g;
		o[3 * i + 2] = (uint8_t)b;
	}
	uint8_t *shrunk = realloc(raster, np * 3);
	uint8_t *rgb = shrunk ? shrunk : (uint8_t *)raster;
	if (sw != (int)w || sh != (int)h) {
		uint8_t *sq = malloc((size_t)sw * sh * 3);
		if (!sq || !ocr2_resize_bicubic(rgb, (int)w, (int)h, sq, sw, sh)) {
			free(sq);
			free(rgb);
			return ocr2_fail(OCR2_ERR_NOMEM, "%s: page %d: out of memory for %dx%d pixels",
					 d->name, index + 1, sw, sh);
		}
		free(rgb);
		rgb = sq;
	}
	out->rgb = rgb;
	out->width = sw;
	out->height = sh;
	return OCR2_OK;
}

void doc_tiff_close(ocr2_doc *d)
{
	if (d->tif)
		TIFFClose(d->tif);
	d->tif = NULL;
}

/* ---- PNG ------------------------------------------------------------------- */

typedef struct {
	const ocr2_doc *d;
	size_t pos;
	char msg[200];
	png_structp png;
	png_infop info;
	uint8_t *buf;
	png_bytep *rows;
	FILE *f; /* writer */
} png_ctx;

static void png_on_error(png_structp png, png_const_charp msg)
{
	png_ctx *c = png_get_error_ptr(png);
	if (!c->msg[0])
		snprintf(c->msg, sizeof c->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
}

static void png_read_mem(png_structp png, png_bytep out, png_size_t n)
{
	png_ctx *c = png_get_io_ptr(png);
	if (n > c->d->n - c->pos)
		png_error(png, "file is truncated");
	memcpy(out, c->d->data + c->pos, n);
	c->pos += n;
}

static void png_ctx_free(png_ctx *c)
{
	if (c->png)
		png_destroy_read_struct(&c->png, c->info ? &c->info : NULL, NULL);
	free(c->buf);
	free(c->rows);
	c->buf = NULL;
	c->rows = NULL;
}

/* Decodes (or with out == NULL only checks the header of) d's PNG; dpi, when
 * not NULL, gets the pHYs resolution (0 when it has none in metres). */
static ocr2_status png_decode(ocr2_doc *d, ocr2_image *out, double *dpi)
{
	png_ctx ctx = {.d = d}, *c = &ctx;
	c->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, png_on_error, png_on_warning);
	if (c->png)
		c->info = png_create_info_struct(c->png);
	if (!c->png || !c->info) {
		png_ctx_free(c);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", d->name);
	}
	if (setjmp(png_jmpbuf(c->png))) {
		png_ctx_free(c);
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: corrupt PNG: %s", d->name, c->msg);
	}
	png_set_read_fn(c->png, c, png_read_mem);
	int64_t lim = d->p.max_pixels < 0x7fffffff ? d->p.max_pixels : 0x7fffffff;
	png_set_user_limits(c->png, (png_uint_32)lim, (png_uint_32)lim);
	png_read_info(c->png, c->info);
	png_uint_32 w = png_get_image_width(c->png, c->info);
	png_uint_32 h = png_get_image_height(c->png, c->info);
	if (dpi) {
		png_uint_32 rx = 0, ry = 0;
		int unit = 0;
		dpi[0] = dpi[1] = 0;
		if (png_get_pHYs(c->png, c->info, &rx, &ry, &unit) && unit == PNG_RESOLUTION_METER) {
			dpi[0] = rx * 0.0254;
			dpi[1] = ry * 0.0254;
		}
	}
	ocr2_status s = doc_check_size(d, w, h, 1);
	if (s != OCR2_OK || !out) {
		png_ctx_free(c);
		return s;
	}
	png_set_expand(c->png);     /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
	png_set_strip_16(c->png);   /* the high byte, as Pillow reads 16-bit PNGs */
	png_set_gray_to_rgb(c->png);
	png_set_interlace_handling(c->png);
	png_read_update_info(c->png, c->info);
	int ch = png_get_channels(c->png, c->info);
	size_t rb = png_get_rowbytes(c->png, c->info);
	if ((ch != 3 && ch != 4) || rb != (size_t)w * ch)
		png_error(c->png, "unexpected pixel layout");
	c->buf = malloc(rb * h);
	c->rows = malloc(sizeof *c->rows * h);
	if (!c->buf || !c->rows) {
		png_ctx_free(c);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory for %ux%u pixels", d->name, w,
				 h);
	}
	for (png_uint_32 y = 0; y < h; y++)
		c->rows[y] = c->buf + rb * y;
	png_read_image(c->png, c->rows);
	png_read_end(c->png, NULL);
	uint8_t *px = c->buf;
	if (ch == 4) {
		size_t np = (size_t)w * h;
		for (size_t i = 0; i < np; i++) {
			unsigned a = px[4 * i + 3];
			uint8_t r = px[4 * i], g = px[4 * i + 1], b = px[4 * i + 2];
			px[3 * i] = composite(r, a);
			px[3 * i + 1] = composite(g, a);
			px[3 * i + 2] = composite(b, a);
		}
		uint8_t *shrunk = realloc(px, np * 3);
		if (shrunk)
			px = shrunk;
	}
	c->buf = NULL;
	png_ctx_free(c);
	out->rgb = px;
	out->width = (int)w;
	out->height = (int)h;
	return OCR2_OK;
}

ocr2_status doc_png_open(ocr2_doc *d)
{
	ocr2_status s = png_decode(d, NULL, NULL);
	if (s == OCR2_OK)
		d->n_pages = 1;
	return s;
}

ocr2_status doc_png_render(ocr2_doc *d, ocr2_image *out)
{
	return png_decode(d, out, NULL);
}

static void png_on_write_error(png_structp png, png_const_charp msg)
{
	png_on_error(png, msg);
}

static void png_write_file(png_structp png, png_bytep data, png_size_t n)
{
	png_ctx *c = png_get_io_ptr(png);
	if (fwrite(data, 1, n, c->f) != n)
		png_error(png, strerror(errno));
}

static void png_flush_file(png_structp png)
{
	png_ctx *c = png_get_io_ptr(png);
	fflush(c->f);
}

ocr2_status ocr2_image_write_png(const ocr2_image *img, const char *path)
{
	if (!img || !img->rgb || img->width < 1 || img->height < 1)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: no image to write", path);
	png_ctx ctx = {0}, *c = &ctx;
	c->f = fopen(path, "wb");
	if (!c->f)
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
	png_structp png =
		png_create_write_struct(PNG_LIBPNG_VER_STRING, c, png_on_write_error, png_on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!png || !info) {
		png_destroy_write_struct(&png, NULL);
		fclose(c->f);
		unlink(path);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		fclose(c->f);
		unlink(path);
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot write: %s", path, c->msg);
	}
	png_set_write_fn(png, c, png_write_file, png_flush_file);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < img->height; y++)
		png_write_row(png, img->rgb + (size_t)y * img->width * 3);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	int e = 0;
	if (fflush(c->f) != 0 || ferror(c->f))
		e = errno ? errno : EIO;
	if (fclose(c->f) != 0 && !e)
		e = errno ? errno : EIO;
	if (e) {
		unlink(path);
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot write: %s", path, strerror(e));
	}
	return OCR2_OK;
}

/* ---- JPEG ------------------------------------------------------------------ */

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
	int truncated;
} jpeg_err;

static void jpeg_on_error(j_common_ptr ci)
{
	jpeg_err *e = (jpeg_err *)ci->err;
	if (!e->msg[0])
		e->pub.format_message(ci, e->msg);
	longjmp(e->jb, 1);
}

static void jpeg_on_message(j_common_ptr ci, int level)
{
	jpeg_err *e = (jpeg_err *)ci->err;
	/* A file that ends early decodes with grey filler and only a warning;
	 * that would be partial output, so it is an error here (as in Pillow). */
	if (level < 0 && e->pub.msg_code == JWRN_JPEG_EOF)
		e->truncated = 1;
	if (level < 0)
		e->pub.num_warnings++;
}

static unsigned rd16(const uint8_t *p, int be)
{
	return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t rd32(const uint8_t *p, int be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The Orientation tag (0x0112) of IFD0 in an APP1 "Exif\0\0" payload, or 1.
 * Like Pillow, only a single SHORT/LONG value of 1..8 counts. */
static int exif_orientation(const uint8_t *p, size_t n)
{
	if (n < 6 || memcmp(p, "Exif\0\0", 6))
		return 1;
	p += 6;
	n -= 6;
	if (n < 8)
		return 1;
	int be;
	if (!memcmp(p, "II*\0", 4))
		be = 0;
	else if (!memcmp(p, "MM\0*", 4))
		be = 1;
	else
		return 1;
	uint32_t ifd = rd32(p + 4, be);
	if (ifd > n || n - ifd < 2)
		return 1;
	unsigned cnt = rd16(p + ifd, be);
	for (unsigned i = 0; i < cnt; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		if (e + 12 > n)
			return 1;
		if (rd16(p + e, be) != 0x0112)
			continue;
		unsigned type = rd16(p + e + 2, be);
		uint32_t count = rd32(p + e + 4, be);
		if (count != 1)
			return 1;
		unsigned v = type == 3 ? rd16(p + e + 8, be) : type == 4 ? rd32(p + e + 8, be) : 0;
		return v >= 1 && v <= 8 ? (int)v : 1;
	}
	return 1;
}

/* Pillow's ImageOps.exif_transpose, on RGB: the source pixel for output (x, y)
 * of an ow x oh result from a w x h image. */
static void orient(const uint8_t *src, int w, int h, int o, uint8_t *dst)
{
	int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			int sx, sy;
			switch (o) {
			case 2: sx = w - 1 - x; sy = y; break;              /* FLIP_LEFT_RIGHT */
			case 3: sx = w - 1 - x; sy = h - 1 - y; break;      /* ROTATE_180 */
			case 4: sx = x; sy = h - 1 - y; break;              /* FLIP_TOP_BOTTOM */
			case 5: sx = y; sy = x; break;                      /* TRANSPOSE */
			case 6: sx = y; sy = h - 1 - x; break;              /* ROTATE_270 */
			case 7: sx = w - 1 - y; sy = h - 1 - x; break;      /* TRANSVERSE */
			case 8: sx = w - 1 - y; sy = x; break;              /* ROTATE_90 */
			default: sx = x; sy = y; break;
			}
			memcpy(dst + ((size_t)y * ow + x) * 3, src + ((size_t)sy * w + sx) * 3, 3);
		}
}

typedef struct {
	struct jpeg_decompress_struct ci;
	jpeg_err err;
	uint8_t *buf;   /* decoded, w * h * 3 */
	uint8_t *row;   /* one scanline of out_color_components */
	uint8_t *rot;
} jpeg_ctx;

static void jpeg_ctx_free(jpeg_ctx *c)
{
	jpeg_destroy_decompress(&c->ci);
	free(c->buf);
	free(c->row);
	free(c->rot);
}

static ocr2_status jpeg_decode(ocr2_doc *d, ocr2_image *out)
{
	jpeg_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", d->name);
	c->ci.err = jpeg_std_error(&c->err.pub);
	c->err.pub.error_exit = jpeg_on_error;
	c->err.pub.emit_message = jpeg_on_message;
	if (setjmp(c->err.jb)) {
		ocr2_status s = ocr2_fail(OCR2_ERR_FORMAT, "%s: corrupt JPEG: %s", d->name,
					  c->err.msg);
		jpeg_ctx_free(c);
		free(c);
		return s;
	}
	jpeg_create_decompress(&c->ci);
	if (d->n > (unsigned long)-1)
		ERREXIT(&c->ci, JERR_INPUT_EMPTY);
	jpeg_mem_src(&c->ci, d->data, (unsigned long)d->n);
	jpeg_save_markers(&c->ci, JPEG_APP0 + 1, 0xFFFF);
	jpeg_read_header(&c->ci, TRUE);
	int w = (int)c->ci.image_width, h = (int)c->ci.image_height;
	ocr2_status s = doc_check_size(d, c->ci.image_width, c->ci.image_height, 1);
	if (s != OCR2_OK || !out) {
		jpeg_ctx_free(c);
		free(c);
		return s;
	}
	int o = 1;
	for (jpeg_saved_marker_ptr m = c->ci.marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
		    !memcmp(m->data, "Exif\0\0", 6)) {
			o = exif_orientation(m->data, m->data_length);
			break; /* the first Exif segment, as Pillow */
		}
	int cmyk = c->ci.jpeg_color_space == JCS_CMYK || c->ci.jpeg_color_space == JCS_YCCK;
	int gray = c->ci.jpeg_color_space == JCS_GRAYSCALE;
	c->ci.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&c->ci);
	int nc = c->ci.output_components;
	if ((int)c->ci.output_width != w || (int)c->ci.output_height != h ||
	    nc != (cmyk ? 4 : gray ? 1 : 3))
		ERREXIT(&c->ci, JERR_CONVERSION_NOTIMPL);
	c->buf = malloc((size_t)w * h * 3);
	c->row = malloc((size_t)w * nc);
	if (!c->buf || !c->row) {
		jpeg_ctx_free(c);
		free(c);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory for %dx%d pixels", d->name, w,
				 h);
	}
	while (c->ci.output_scanline < c->ci.output_height) {
		int y = (int)c->ci.output_scanline;
		JSAMPROW r = c->row;
		if (jpeg_read_scanlines(&c->ci, &r, 1) != 1)
			ERREXIT(&c->ci, JERR_INPUT_EMPTY);
		uint8_t *o3 = c->buf + (size_t)y * w * 3;
		for (int x = 0; x < w; x++) {
			const uint8_t *p = c->row + (size_t)x * nc;
			if (gray) {
				o3[3 * x] = o3[3 * x + 1] = o3[3 * x + 2] = p[0];
			} else if (cmyk) {
				/* Adobe-inverted CMYK, as Pillow assumes ("CMYK;I"), then
				 * Pillow's cmyk2rgb: (255 - k) - round(c * (255 - k) / 255) */
				unsigned nk = p[3];
				for (int k = 0; k < 3; k++) {
					unsigned cc = 255u - p[k], t = cc * nk + 128u;
					o3[3 * x + k] = (uint8_t)(nk - (((t >> 8) + t) >> 8));
				}
			} else {
				memcpy(o3 + 3 * x, p, 3);
			}
		}
	}
	if (c->err.truncated)
		ERREXIT(&c->ci, JERR_INPUT_EOF);
	jpeg_finish_decompress(&c->ci);
	if (c->err.truncated)
		ERREXIT(&c->ci, JERR_INPUT_EOF);
	if (o != 1) {
		c->rot = malloc((size_t)w * h * 3);
		if (!c->rot) {
			jpeg_ctx_free(c);
			free(c);
			return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", d->name);
		}
		orient(c->buf, w, h, o, c->rot);
		uint8_t *t = c->buf;
		c->buf = c->rot;
		c->rot = t;
	}
	out->rgb = c->buf;
	out->width = o >= 5 ? h : w;
	out->height = o >= 5 ? w : h;
	c->buf = NULL;
	jpeg_ctx_free(c);
	free(c);
	return OCR2_OK;
}

ocr2_status doc_jpeg_open(ocr2_doc *d)
{
	ocr2_status s = jpeg_decode(d, NULL);
	if (s == OCR2_OK)
		d->n_pages = 1;
	return s;
}

ocr2_status doc_jpeg_render(ocr2_doc *d, ocr2_image *out)
{
	return jpeg_decode(d, out);
}

/* ---- what the PDF writer needs to know of a JPEG, and resolutions -------- */

ocr2_status doc_jpeg_info(const uint8_t *data, size_t n, const char *name, doc_jpeg_header *out)
{
	memset(out, 0, sizeof *out);
	jpeg_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", name);
	c->ci.err = jpeg_std_error(&c->err.pub);
	c->err.pub.error_exit = jpeg_on_error;
	c->err.pub.emit_message = jpeg_on_message;
	if (setjmp(c->err.jb)) {
		ocr2_status s = ocr2_fail(OCR2_ERR_FORMAT, "%s: corrupt JPEG: %s", name, c->err.msg);
		jpeg_ctx_free(c);
		free(c);
		return s;
	}
	jpeg_create_decompress(&c->ci);
	if (n > (unsigned long)-1)
		ERREXIT(&c->ci, JERR_INPUT_EMPTY);
	jpeg_mem_src(&c->ci, data, (unsigned long)n);
	jpeg_save_markers(&c->ci, JPEG_APP0 + 1, 0xFFFF);
	jpeg_read_header(&c->ci, TRUE);
	out->width = (int)c->ci.image_width;
	out->height = (int)c->ci.image_height;
	out->components = c->ci.num_components;
	out->adobe = c->ci.saw_Adobe_marker;
	out->baseline_8bit = c->ci.data_precision == 8 && !c->ci.arith_code;
	out->orientation = 1;
	for (jpeg_saved_marker_ptr m = c->ci.marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
		    !memcmp(m->data, "Exif\0\0", 6)) {
			out->orientation = exif_orientation(m->data, m->data_length);
			break;
		}
	if (c->ci.saw_JFIF_marker && c->ci.X_density > 0 && c->ci.Y_density > 0 &&
	    (c->ci.density_unit == 1 || c->ci.density_unit == 2)) {
		double f = c->ci.density_unit == 2 ? 2.54 : 1.0;
		out->xdpi = c->ci.X_density * f;
		out->ydpi = c->ci.Y_density * f;
	}
	jpeg_ctx_free(c);
	free(c);
	return OCR2_OK;
}

ocr2_status doc_image_dpi(ocr2_doc *d, int index, double dpi[2])
{
	dpi[0] = dpi[1] = 0;
	switch (d->fmt) {
	case OCR2_FMT_TIFF: {
		d->tif_msg[0] = 0;
		if (!TIFFSetDirectory(d->tif, (tdir_t)index))
			return ocr2_fail(OCR2_ERR_FORMAT, "%s: page %d: corrupt TIFF directory%s%s",
					 d->name, index + 1, d->tif_msg[0] ? ": " : "", d->tif_msg);
		float x = 0, y = 0;
		uint16_t unit = RESUNIT_INCH;
		TIFFGetFieldDefaulted(d->tif, TIFFTAG_RESOLUTIONUNIT, &unit);
		if (unit != RESUNIT_INCH && unit != RESUNIT_CENTIMETER)
			return OCR2_OK;
		if (TIFFGetField(d->tif, TIFFTAG_XRESOLUTION, &x) &&
		    TIFFGetField(d->tif, TIFFTAG_YRESOLUTION, &y)) {
			double f = unit == RESUNIT_CENTIMETER ? 2.54 : 1.0;
			dpi[0] = x * f;
			dpi[1] = y * f;
		}
		return OCR2_OK;
	}
	case OCR2_FMT_PNG: return png_decode(d, NULL, dpi);
	case OCR2_FMT_JPEG: {
		doc_jpeg_header h;
		ocr2_status s = doc_jpeg_info(d->data, d->n, d->name, &h);
		if (s == OCR2_OK) {
			/* the page is the image as shown: a quarter turn swaps the axes */
			dpi[0] = h.orientation >= 5 ? h.ydpi : h.xdpi;
			dpi[1] = h.orientation >= 5 ? h.xdpi : h.ydpi;
		}
		return s;
	}
	default: return OCR2_OK;
	}
}
