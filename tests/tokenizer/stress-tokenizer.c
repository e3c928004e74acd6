/* stress-tokenizer.c - throws seeded random bytes at the tokenizer (no
 * libFuzzer needed; tests/fuzz/fuzz-tokenizer.c is the libFuzzer target):
 * encode must never crash, must reject invalid UTF-8 with OCR2_ERR_UTF8 and
 * nothing else, and must give decode(encode(x)) == x for valid text; decode
 * must take any id list and give valid UTF-8 or OCR2_ERR_INVALID.
 *
 *   stress-tokenizer TOKENIZER_JSON [SECONDS [SEED]]
 * Under sanitizers:
 *   meson setup build-asan -Db_sanitize=address,undefined -Dstand_in=true */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/unicode.h"

static ocr2_tokenizer *tok;
static uint64_t rng_state;

static void die(const char *what, const uint8_t *data, size_t n)
{
	fprintf(stderr, "FAIL: %s on input of %zu bytes:", what, n);
	for (size_t i = 0; i < n && i < 200; i++)
		fprintf(stderr, " %02x", data[i]);
	fputc('\n', stderr);
	abort();
}

static void check_input(const uint8_t *data, size_t n)
{
	int32_t *ids;
	int nids;
	bool valid = ocr2_utf8_check((const char *)data, n) == n;
	ocr2_status st = ocr2_tokenizer_encode(tok, (const char *)data, n, &ids, &nids);
	if (!valid) {
		if (st != OCR2_ERR_UTF8 || ids || nids)
			die("invalid UTF-8 not rejected", data, n);
	} else {
		if (st != OCR2_OK)
			die("valid text not encoded", data, n);
		if (nids > (int)n)
			die("more ids than bytes", data, n);
		char *back;
		size_t blen;
		if (ocr2_tokenizer_decode(tok, ids, nids, &back, &blen) != OCR2_OK || blen != n ||
		    memcmp(back, data, n) != 0)
			die("decode(encode(x)) != x", data, n);
		free(back);
		free(ids);
	}
	/* the bytes again, read as ids */
	int m = (int)(n / 4);
	int32_t *raw = malloc((size_t)m * sizeof *raw + 1);
	memcpy(raw, data, (size_t)m * sizeof *raw);
	int vs = ocr2_tokenizer_vocab_size(tok);
	for (int i = 0; i < m; i++)
		if (raw[i] >= 0)
			raw[i] %= vs + 1; /* mostly valid, sometimes one past the end */
	char *out;
	size_t olen;
	st = ocr2_tokenizer_decode(tok, raw, m, &out, &olen);
	if (st == OCR2_OK) {
		if (ocr2_utf8_check(out, olen) != olen || out[olen] != 0)
			die("decode gave invalid UTF-8", data, n);
		free(out);
	} else if (st != OCR2_ERR_INVALID)
		die("decode failed unexpectedly", data, n);
	free(raw);
}

static uint32_t rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

/* Text that reaches deep: specials and their fragments, whitespace runs,
 * digits, CJK and kana, marks, emoji, any scalar value; then sometimes a
 * corrupted byte. */
static size_t make_input(uint8_t *buf, size_t cap)
{
	static const char *const frags[] = {
		"<image>", "<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>", "<|grounding|>", "<td>",
		"</td>", "<tr>", "</tr>", "<|User|>", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
		"<\xef\xbd\x9cUser\xef\xbd\x9c>", "<|EOT|>", "<", "<|", "|>", "<im", "\xef\xbd\x9c",
		" ", "  ", "\t", "\n", "\r", "\r\n", "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\xa8",
		"\xc2\x85", "123", "4567890", "abc", "Hello", "'s", "!!", "...", "$$", "\\frac",
		"\xe6\x97\xa5\xe6\x9c\xac", "\xe3\x81\xae", "\xe3\x83\xbb", "\xcc\x81", "\xe2\x80\x8d",
		"\xf0\x9f\x98\x80", "\xf0\x9f\x87\xab", "[[1, 2, 3, 4]]",
	};
	size_t n = 0;
	int parts = (int)(rnd() % 40);
	for (int p = 0; p < parts && n + 64 < cap; p++) {
		uint32_t r = rnd() % 10;
		if (r < 5) {
			const char *f = frags[rnd() % (sizeof frags / sizeof *frags)];
			size_t l = strlen(f);
			memcpy(buf + n, f, l);
			n += l;
		} else if (r < 8) {
			uint32_t cp;
			do
				cp = rnd() % (r == 5 ? 0x80 : r == 6 ? 0x3100 : 0x110000);
			while (cp >= 0xD800 && cp < 0xE000);
			n += ocr2_utf8_put((char *)buf + n, cp);
		} else if (r < 9) {
			uint32_t k = rnd() % 50;
			uint8_t c = (uint8_t)" \n\ta1"[rnd() % 5];
			while (k-- && n < cap - 64)
				buf[n++] = c;
		} else {
			buf[n++] = (uint8_t)rnd(); /* any byte, often invalid */
		}
	}
	if (n && rnd() % 8 == 0)
		buf[rnd() % n] = (uint8_t)rnd();
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: stress-tokenizer TOKENIZER_JSON [SECONDS [SEED]]\n");
		return 2;
	}
	if (ocr2_tokenizer_load(argv[1], &tok)) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
		return 1;
	}
	double secs = argc > 2 ? atof(argv[2]) : 10;
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	uint8_t *buf = malloc(1 << 16);
	double t0 = ocr2_now();
	long iters = 0, valid = 0;
	while (ocr2_now() - t0 < secs) {
		for (int k = 0; k < 100; k++) {
			size_t n;
			if (rnd() % 4 == 0) { /* pure random bytes */
				n = rnd() % 64;
				for (size_t i = 0; i < n; i++)
					buf[i] = (uint8_t)rnd();
			} else
				n = make_input(buf, 1 << 16);
			valid += ocr2_utf8_check((const char *)buf, n) == n;
			check_input(buf, n);
			iters++;
		}
	}
	printf("%ld inputs (%ld valid UTF-8) in %.0f s: no failure\n", iters, valid, secs);
	free(buf);
	ocr2_tokenizer_free(tok);
	return 0;
}
