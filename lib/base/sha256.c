/* sha256.c - SHA-256 (FIPS 180-4), used to verify downloaded model files
 * against the sha256 the hub publishes for each LFS object, and SHA-1, used
 * for the git blob id the hub publishes for small (non-LFS) files. */
#include <string.h>

#include "base/sha.h"

static uint32_t rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t rotl(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	store_be32(p, (uint32_t)(v >> 32));
	store_be32(p + 4, (uint32_t)v);
}

/* The Merkle-Damgard framing both hashes share: buffer partial blocks, run
 * whole ones, pad with 0x80, zeros and the bit length (big-endian). */
typedef void (*blocks_fn)(uint32_t *h, const uint8_t *p, size_t nblocks);

static void md_update(uint32_t *h, uint8_t buf[64], size_t *nbuf, uint64_t *len, blocks_fn run,
		      const void *data, size_t n)
{
	const uint8_t *p = data;
	*len += n;
	if (*nbuf) {
		size_t take = 64 - *nbuf < n ? 64 - *nbuf : n;
		memcpy(buf + *nbuf, p, take);
		*nbuf += take;
		p += take;
		n -= take;
		if (*nbuf < 64)
			return;
		run(h, buf, 1);
		*nbuf = 0;
	}
	if (n >= 64) {
		run(h, p, n / 64);
		p += n / 64 * 64;
		n %= 64;
	}
	memcpy(buf, p, n);
	*nbuf = n;
}

static void md_final(uint32_t *h, int nwords, uint8_t buf[64], size_t nbuf, uint64_t len,
		     blocks_fn run, uint8_t *out)
{
	buf[nbuf++] = 0x80;
	if (nbuf > 56) {
		memset(buf + nbuf, 0, 64 - nbuf);
		run(h, buf, 1);
		nbuf = 0;
	}
	memset(buf + nbuf, 0, 56 - nbuf);
	store_be64(buf + 56, len * 8);
	run(h, buf, 1);
	for (int i = 0; i < nwords; i++)
		store_be32(out + 4 * i, h[i]);
}


/* ---- SHA-256 ---------------------------------------------------------------- */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static void sha256_blocks(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	uint32_t w[64];
	for (; nblocks; nblocks--, p += 64) {
		for (int i = 0; i < 16; i++)
			w[i] = load_be32(p + 4 * i);
		for (int i = 16; i < 64; i++) {
			uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
			uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
		for (int i = 0; i < 64; i++) {
			uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
				      ((e & f) ^ (~e & g)) + K256[i] + w[i];
			uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
				      ((a & b) ^ (a & c) ^ (b & c));
			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
	}
}

/* The x86 SHA extensions (Intel since Goldmont/Ice Lake, AMD since Zen):
 * about 8x the portable code, which matters when a 6.7 GB file is checked.
 * Chosen at run time; the build stays portable. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHANI_CODE 1

__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);    /* a b c d */
	__m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);    /* e f g h */
	tmp = _mm_shuffle_epi32(tmp, 0xB1);
	st1 = _mm_shuffle_epi32(st1, 0x1B);
	__m128i st0 = _mm_alignr_epi8(tmp, st1, 8);               /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);                   /* CDGH */
	for (; nblocks; nblocks--, p += 64) {
		__m128i save0 = st0, save1 = st1, w[16];
		for (int g = 0; g < 16; g++) {
			if (g < 4) {
				w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)),
							bswap);
			} else {
				__m128i t = _mm_sha256msg1_epu32(w[g - 4], w[g - 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[g - 1], w[g - 2], 4));
				w[g] = _mm_sha256msg2_epu32(t, w[g - 1]);
			}
			__m128i m = _mm_add_epi32(w[g], _mm_loadu_si128((const __m128i *)&K256[4 * g]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, m);
			m = _mm_shuffle_epi32(m, 0x0E);
			st0 = _mm_sha256rnds2_epu32(st0, st1, m);
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
	}
	tmp = _mm_shuffle_epi32(st0, 0x1B);
	st1 = _mm_shuffle_epi32(st1, 0xB1);
	st0 = _mm_blend_epi16(tmp, st1, 0xF0);
	st1 = _mm_alignr_epi8(st1, tmp, 8);
	_mm_storeu_si128((__m128i *)&h[0], st0);
	_mm_storeu_si128((__m128i *)&h[4], st1);
}

static int cpu_has_shani(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
		return 0; /* SSE4.1, SSSE3 */
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;
}
#endif

static int use_generic = -1; /* -1: not decided yet */

void ocr2_sha256_use_generic(int on)
{
	use_generic = on;
}

int ocr2_sha256_accelerated(void)
{
#ifdef HAVE_SHANI_CODE
	if (use_generic < 0)
		use_generic = !cpu_has_shani();
	return !use_generic;
#else
	return 0;
#endif
}

static void sha256_run(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
#ifdef HAVE_SHANI_CODE
	if (ocr2_sha256_accelerated()) {
		sha256_blocks_shani(h, p, nblocks);
		return;
	}
#endif
	sha256_blocks(h, p, nblocks);
}

void ocr2_sha256_init(ocr2_sha256 *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(c->h, iv, sizeof iv);
	c->len = 0;
	c->n = 0;
}

void ocr2_sha256_update(ocr2_sha256 *c, const void *data, size_t n)
{
	md_update(c->h, c->buf, &c->n, &c->len, sha256_run, data, n);
}

void ocr2_sha256_final(ocr2_sha256 *c, uint8_t out[32])
{
	md_final(c->h, 8, c->buf, c->n, c->len, sha256_run, out);
}

void ocr2_sha256_buf(const void *data, size_t n, uint8_t out[32])
{
	ocr2_sha256 c;
	ocr2_sha256_init(&c);
	ocr2_sha256_update(&c, data, n);
	ocr2_sha256_final(&c, out);
}

/* ---- SHA-1 ------------------------------------------------------------------ */

static void sha1_blocks(uint32_t h[5], const uint8_t *p, size_t nblocks)
{
	uint32_t w[80];
	for (; nblocks; nblocks--, p += 64) {
		for (int i = 0; i < 16; i++)
			w[i] = load_be32(p + 4 * i);
		for (int i = 16; i < 80; i++)
			w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
		for (int i = 0; i < 80; i++) {
			uint32_t f, k;
			if (i < 20) {
				f = (b & c) | (~b & d);
				k = 0x5a827999;
			} else if (i < 40) {
				f = b ^ c ^ d;
				k = 0x6ed9eba1;
			} else if (i < 60) {
				f = (b & c) | (b & d) | (c & d);
				k = 0x8f1bbcdc;
			} else {
				f = b ^ c ^ d;
				k = 0xca62c1d6;
			}
			uint32_t t = rotl(a, 5) + f + e + k + w[i];
			e = d;
			d = c;
			c = rotl(b, 30);
			b = a;
			a = t;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
	}
}

void ocr2_sha1_init(ocr2_sha1 *c)
{
	static const uint32_t iv[5] = {
		0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0,
	};
	memcpy(c->h, iv, sizeof iv);
	c->len = 0;
	c->n = 0;
}

void ocr2_sha1_update(ocr2_sha1 *c, const void *data, size_t n)
{
	md_update(c->h, c->buf, &c->n, &c->len, sha1_blocks, data, n);
}

void ocr2_sha1_final(ocr2_sha1 *c, uint8_t out[20])
{
	md_final(c->h, 5, c->buf, c->n, c->len, sha1_blocks, out);
}

void ocr2_hex(const uint8_t *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}
