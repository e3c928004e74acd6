/* test-sha.c - SHA-256 and SHA-1 against the FIPS 180-2 example vectors
 * (appendix B of the standard), and a file mode whose output test_sha.py
 * compares with sha256sum/sha1sum:
 *   test-sha            the vectors, fed whole and in odd-sized pieces, through
 *                       the x86 SHA instructions (when the CPU has them) and
 *                       through the portable code
 *   test-sha [-g] FILE...  "<sha256> <sha1> <git-blob-sha1> FILE" per file
 *                       (-g: portable code only) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/sha.h"
#include "check.h"

static void hash_both(const void *p, size_t n, size_t piece, char h256[65], char h1[41])
{
	ocr2_sha256 a;
	ocr2_sha1 b;
	uint8_t d[32];
	ocr2_sha256_init(&a);
	ocr2_sha1_init(&b);
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i += piece) {
		size_t k = n - i < piece ? n - i : piece;
		ocr2_sha256_update(&a, s + i, k);
		ocr2_sha1_update(&b, s + i, k);
	}
	ocr2_sha256_final(&a, d);
	ocr2_hex(d, 32, h256);
	ocr2_sha1_final(&b, d);
	ocr2_hex(d, 20, h1);
}

static void vector(const char *what, const void *p, size_t n, const char *want256,
		   const char *want1)
{
	static const size_t pieces[] = {1, 3, 55, 56, 63, 64, 65, 1000, (size_t)-1};
	for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
		char h256[65], h1[41];
		hash_both(p, n, pieces[i] == (size_t)-1 ? (n ? n : 1) : pieces[i], h256, h1);
		bool same = !strcmp(h256, want256) && !strcmp(h1, want1);
		CHECK(same, "%s (pieces of %zu): sha256 %s sha1 %s", what, pieces[i], h256, h1);
		if (!same)
			return;
	}
	uint8_t d[32];
	char one[65];
	ocr2_sha256_buf(p, n, d);
	ocr2_hex(d, 32, one);
	CHECK(!strcmp(one, want256), "%s: ocr2_sha256_buf %s", what, one);
	printf("ok %s\n", what);
}

static void run_vectors(void);

int main(int argc, char **argv)
{
	int first = 1;
	if (argc > 1 && !strcmp(argv[1], "-g")) {
		ocr2_sha256_use_generic(1);
		first = 2;
	}
	if (argc > first) {
		for (int i = first; i < argc; i++) {
			char *buf;
			size_t n;
			if (ocr2_read_file(argv[i], SIZE_MAX, OCR2_ERR_IO, &buf, &n) != OCR2_OK) {
				fprintf(stderr, "%s\n", ocr2_errmsg());
				return 1;
			}
			char h256[65], h1[41], blob[41];
			hash_both(buf, n, 4093, h256, h1);
			/* git blob id: sha1("blob <size>\0" + content) */
			ocr2_sha1 c;
			uint8_t d[20];
			char head[32];
			int hn = snprintf(head, sizeof head, "blob %zu", n);
			ocr2_sha1_init(&c);
			ocr2_sha1_update(&c, head, (size_t)hn + 1);
			ocr2_sha1_update(&c, buf, n);
			ocr2_sha1_final(&c, d);
			ocr2_hex(d, 20, blob);
			printf("%s %s %s %s\n", h256, h1, blob, argv[i]);
			free(buf);
		}
		return 0;
	}
	for (int pass = 0; pass < 2; pass++) {
		ocr2_sha256_use_generic(pass);
		if (!pass && !ocr2_sha256_accelerated()) {
			printf("(no x86 SHA instructions here: portable code only)\n");
			continue;
		}
		printf("%s:\n", pass ? "portable" : "x86 SHA instructions");
		run_vectors();
	}
	return check_done();
}

static void run_vectors(void)
{
	/* FIPS 180-2 appendix B (SHA-256) and A (SHA-1) examples */
	vector("abc", "abc", 3,
	       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	vector("448-bit message", m2, strlen(m2),
	       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	       "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	char *mil = malloc(1000000);
	if (!mil)
		exit(1);
	memset(mil, 'a', 1000000);
	vector("one million 'a'", mil, 1000000,
	       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(mil);
	vector("empty", "", 0,
	       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
