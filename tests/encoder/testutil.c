/* testutil.c - sha256 in hex and a libpng reader for the encoder tests. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha.h"
#include "testutil.h"

/* The library's SHA-256 (tested against FIPS 180-2 vectors and sha256sum). */
void tu_sha256_hex(const void *data, size_t n, char *hex)
{
	uint8_t d[32];
	ocr2_sha256_buf(data, n, d);
	ocr2_hex(d, 32, hex);
}

int tu_load_png(const char *path, ocr2_image *img)
{
	memset(img, 0, sizeof *img);
	png_image pi;
	memset(&pi, 0, sizeof pi);
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path))
		return -1;
	/* no gamma or colour-space conversion: plain RGB, alpha dropped */
	pi.format = PNG_FORMAT_RGB;
	img->width = (int)pi.width;
	img->height = (int)pi.height;
	img->rgb = malloc(PNG_IMAGE_SIZE(pi));
	if (!img->rgb || !png_image_finish_read(&pi, NULL, img->rgb, 0, NULL)) {
		png_image_free(&pi);
		free(img->rgb);
		img->rgb = NULL;
		return -1;
	}
	return 0;
}
