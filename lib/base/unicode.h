/* unicode.h - strict UTF-8 and the Unicode classes the tokenizer's
 * pre-tokenizer needs (lib/base/unicode.c, tables in unicode-tables.h). */
#ifndef OCR2_BASE_UNICODE_H
#define OCR2_BASE_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Disjoint classes: L*, M*, Nd, Nl, No, Pc, other P*, S*, White_Space (\s). */
enum {
	OCR2_UC_OTHER, OCR2_UC_L, OCR2_UC_M, OCR2_UC_ND, OCR2_UC_NL, OCR2_UC_NO,
	OCR2_UC_PC, OCR2_UC_P, OCR2_UC_S, OCR2_UC_WS,
};
int ocr2_uclass(uint32_t cp);
bool ocr2_uclass_is_word(uint32_t cp); /* Rust regex \w */
const char *ocr2_unicode_version(void);  /* of the class tables, e.g. "14.0.0" */
/* Encodes a code point (< 0x110000) as UTF-8 into o[0..4); returns the length. */
size_t ocr2_utf8_put(char *o, uint32_t cp);
/* Decodes one strict UTF-8 scalar value; returns its length, 0 if invalid. */
int ocr2_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Length (>= 1) of the invalid sequence at s, counted as from_utf8_lossy does. */
int ocr2_utf8_invalid_len(const unsigned char *s, size_t n);
/* Offset of the first invalid byte, or n when text[0..n) is valid UTF-8. */
size_t ocr2_utf8_check(const char *text, size_t n);

#endif
