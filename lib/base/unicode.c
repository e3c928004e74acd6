/* unicode.c - UTF-8 decoding and validation, and the Unicode character
 * classes the tokenizer's pre-tokenizer needs (tables: lib/base/unicode-tables.h). */
#include <string.h>

#include "base/unicode.h"
#include "unicode-tables.h"

_Static_assert(OCR2_UC_OTHER == 0 && OCR2_UC_L == 1 && OCR2_UC_M == 2 && OCR2_UC_ND == 3 &&
	       OCR2_UC_NL == 4 && OCR2_UC_NO == 5 && OCR2_UC_PC == 6 && OCR2_UC_P == 7 &&
	       OCR2_UC_S == 8 && OCR2_UC_WS == 9, "class order of lib/base/gen-unicode.py");

const char *ocr2_unicode_version(void)
{
	return OCR2_UNICODE_VERSION;
}

/* One scalar value from s[0..n), strict (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). Returns its length in bytes, or 0
 * when s does not start with a valid sequence. */
size_t ocr2_utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

int ocr2_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		*cp = (c & 0x1F) << 6 | (s[1] & 0x3F);
		return 2;
	}
	if (c < 0xF0) {
		unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
			return 0;
		*cp = (c & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return 3;
	}
	if (c < 0xF5) {
		unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		if (n < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		*cp = (c & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
		      (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
		return 4;
	}
	return 0;
}

/* Length of the invalid sequence at s (n > 0, not a valid start): the
 * lead byte plus the continuation bytes that could still have completed it,
 * as Rust's String::from_utf8_lossy (and the Unicode "maximal subpart"
 * practice) count it. Always >= 1. */
int ocr2_utf8_invalid_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	int need;
	unsigned lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c < 0xE0)
		need = 1;
	else if (c >= 0xE0 && c < 0xF0) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c < 0xF5) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 1;
	int k = 1;
	for (int i = 0; i < need && (size_t)k < n; i++) {
		unsigned b = s[k];
		if (i == 0 ? (b < lo || b > hi) : (b & 0xC0) != 0x80)
			break;
		k++;
	}
	return k;
}

size_t ocr2_utf8_check(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	uint32_t cp;
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int k = ocr2_utf8_next(s + i, n - i, &cp);
		if (!k)
			return i;
		i += (size_t)k;
	}
	return n;
}

int ocr2_uclass(uint32_t cp)
{
	if (cp < 256)
		return uc_latin1[cp];
	size_t lo = 0, hi = UC_NRUNS; /* find the last run starting <= cp */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (uc_run_start[mid] <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return uc_run_class[lo];
}

bool ocr2_uclass_is_word(uint32_t cp)
{
	switch (ocr2_uclass(cp)) {
	case OCR2_UC_L: case OCR2_UC_M: case OCR2_UC_ND: case OCR2_UC_NL: case OCR2_UC_PC:
		return true;
	default:
		/* Rust regex's \w also takes Join_Control and the Other_Alphabetic
		 * symbols (circled and squared Latin letters). */
		return cp == 0x200C || cp == 0x200D || (cp >= 0x24B6 && cp <= 0x24E9) ||
		       (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
		       (cp >= 0x1F170 && cp <= 0x1F189);
	}
}
