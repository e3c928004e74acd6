/* testutil.h - helpers shared by the encoder tests: sha256 (hex), PNG
 * loading, file slurping and float comparisons. Test code only. */
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
/* malloc'd NUL-terminated contents, or NULL. */
char *tu_slurp(const char *path, size_t *n);
/* Max |a-b| and max |b| over n floats; returns the index of the worst. */
size_t tu_maxdiff(const float *a, const float *b, size_t n, double *max_abs, double *max_ref);

#endif
