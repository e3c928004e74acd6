/* testutil.h - helpers shared by the encoder tests: sha256 (hex) and PNG
 * loading. Test code only (files: ocr2_read_file; comparisons: check.h). */
#ifndef ENC_TESTUTIL_H
#define ENC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ocr2.h"

/* hex must hold 65 bytes. */
void tu_sha256_hex(const void *data, size_t n, char *hex);
/* 8-bit RGB from any PNG (gray/palette expanded, alpha dropped, 16-bit
 * stripped: Pillow's convert("RGB")). Returns 0 on success. */
int tu_load_png(const char *path, ocr2_image *img);

#endif
