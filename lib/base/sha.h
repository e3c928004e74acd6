/* sha.h - SHA-256 and SHA-1, streaming and allocation-free (lib/base/sha256.c). */
#ifndef OCR2_BASE_SHA_H
#define OCR2_BASE_SHA_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (the sha256 the hub publishes for LFS files) and SHA-1 (the git
 * blob id it publishes for small files). Streaming; no allocation. */

typedef struct {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
} ocr2_sha256;

void ocr2_sha256_init(ocr2_sha256 *c);
void ocr2_sha256_update(ocr2_sha256 *c, const void *data, size_t n);
void ocr2_sha256_final(ocr2_sha256 *c, uint8_t out[32]);
/* The SHA-256 of data[0..n) in one call. */
void ocr2_sha256_buf(const void *data, size_t n, uint8_t out[32]);
/* Whether the x86 SHA instructions are used (decided at first use);
 * ocr2_sha256_use_generic(1) forces the portable code (tests). */
int ocr2_sha256_accelerated(void);
void ocr2_sha256_use_generic(int on);

typedef struct {
	uint32_t h[5];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
} ocr2_sha1;

void ocr2_sha1_init(ocr2_sha1 *c);
void ocr2_sha1_update(ocr2_sha1 *c, const void *data, size_t n);
void ocr2_sha1_final(ocr2_sha1 *c, uint8_t out[20]);
/* Lower-case hex of d[0..n) into out[2n+1]. */
void ocr2_hex(const uint8_t *d, size_t n, char *out);

#endif
