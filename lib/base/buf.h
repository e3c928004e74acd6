/* buf.h - a growing byte string for the writers that assemble text in memory
 * (hOCR, PDF content streams, the font program); lib/base/buf.c. */
#ifndef OCR2_BASE_BUF_H
#define OCR2_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zero-initialise ({0}) to start. An allocation failure is sticky: later
 * appends do nothing and `oom` stays set, so a writer checks once at the end
 * instead of after every append. s is NUL-terminated whenever len > 0. */
typedef struct {
	char *s;
	size_t len, cap;
	bool oom;
} ocr2_buf;

void ocr2_buf_add(ocr2_buf *b, const void *p, size_t n);
void ocr2_buf_str(ocr2_buf *b, const char *s);
void ocr2_buf_byte(ocr2_buf *b, uint8_t c);
void ocr2_buf_printf(ocr2_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A number with up to 3 decimals, trailing zeros dropped, always with '.'
 * whatever LC_NUMERIC says (PDF and hOCR syntax are not localised). */
void ocr2_buf_num(ocr2_buf *b, double v);
/* Big-endian integers, for font tables. */
void ocr2_buf_be16(ocr2_buf *b, unsigned v);
void ocr2_buf_be32(ocr2_buf *b, uint32_t v);
/* Takes the string (malloc'd, "" when empty) and resets b; NULL after an
 * allocation failure (b is freed either way). */
char *ocr2_buf_take(ocr2_buf *b);
void ocr2_buf_free(ocr2_buf *b);

#endif
