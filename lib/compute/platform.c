/* platform.c - what the kernels need to know about the machine: whether
 * the AVX-512 kernels run, and big zeroed buffers in huge pages. A leaf. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "compute/pool.h"

void *ocr2_alloc_huge(size_t bytes)
{
	if (bytes == 0)
		return NULL;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

void ocr2_free_huge(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

static int use_simd = -1; /* -1 unknown, 0 no, 1 AVX-512 */

bool ocr2_have_avx512(void)
{
	if (use_simd < 0) {
		const char *e = getenv("OCR2_NO_SIMD");
		int ok = 0;
#if defined(__x86_64__) && defined(__GNUC__)
		__builtin_cpu_init();
		ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		     __builtin_cpu_supports("avx512vl");
#endif
		use_simd = ok && !(e && *e && strcmp(e, "0")) ? 1 : 0;
	}
	return use_simd == 1;
}
