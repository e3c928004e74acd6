/* pool.h - the thread pool every parallel kernel runs on (lib/compute/threads.c),
 * the CPU facts it is sized by, and big zeroed buffers (lib/compute/platform.c). */
#ifndef OCR2_COMPUTE_POOL_H
#define OCR2_COMPUTE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ocr2_pool ocr2_pool;

/* Runs fn(arg, i, n) for i in [0, n) on the pool's threads (the caller
 * participates). n is the number of work items: split rows, not threads. */
ocr2_pool *ocr2_pool_new(int n_threads);
void ocr2_pool_free(ocr2_pool *p);
int ocr2_pool_size(const ocr2_pool *p);
void ocr2_pool_run(ocr2_pool *p, void (*fn)(void *arg, int i, int n), void *arg, int n);
/* Runs fn(arg, a, b) over chunks that cover [0, n) exactly once. Each thread
 * starts on its own contiguous share, front to back, in shrinking chunks (a
 * quarter of what is left, at least min_chunk), then takes chunks from the
 * backs of the shares not yet done. Every thread thus streams long runs of
 * adjacent rows (what the prefetchers need) and all finish within about
 * min_chunk of each other. */
void ocr2_pool_run_ranges(ocr2_pool *p, void (*fn)(void *arg, int64_t a, int64_t b), void *arg,
			  int64_t n, int64_t min_chunk);
/* A buffer of at least bytes owned by the pool, kept between calls (no page
 * faults for every product's widened weights); for the calling thread only,
 * valid until the next call. NULL when p is NULL or memory is short. */
void *ocr2_pool_scratch(ocr2_pool *p, size_t bytes);
/* The CPUs this process may really use: the affinity mask, lowered to a
 * cgroup CPU quota (v2 cpu.max or v1 cfs_quota_us, the smallest on the way
 * to the root, a fraction rounded up). The default thread count. */
int ocr2_ncpu(void);
/* The CPU count a quota file's text allows (rounded up), 0 for no limit or
 * an unreadable text; v1 takes "QUOTA PERIOD" (cfs_quota_us cfs_period_us). */
int ocr2_cpu_quota_parse(const char *text, bool v1);
/* The smallest cgroup CPU quota of the process described by proc_cgroup
 * (/proc/self/cgroup's format) under the cgroup mount root; 0 for none. */
int ocr2_cgroup_cpus(const char *proc_cgroup, const char *root);

/* Bytes of memory the process may still take: MemAvailable, lowered to
 * what a cgroup v2 memory limit leaves (memory.max - memory.current, the
 * least on the way up); 0 when unknown. */
uint64_t ocr2_mem_available(void);

/* ocr2_pool_run for items that call sgemm themselves (attention heads, the
 * experts of prefill): OpenBLAS runs single-threaded meanwhile, as its own
 * threads contend with the pool's (measured 3.4x slower on 2 cores), then is
 * restored. */
void ocr2_pool_run_blas(ocr2_pool *pool, void (*fn)(void *arg, int i, int n), void *arg, int n);

/* Zeroed memory for large buffers that are streamed whole (the KV cache):
 * mmap'd and advised for transparent huge pages. NULL on failure or 0 bytes;
 * free with the same size. */
void *ocr2_alloc_huge(size_t bytes);
void ocr2_free_huge(void *p, size_t bytes);

/* AVX-512 (f, bw, vl) kernels run: the CPU has them and OCR2_NO_SIMD is unset. */
bool ocr2_have_avx512(void);
/* AVX2 + FMA + F16C kernels run (also where AVX-512 does); OCR2_NO_SIMD=1
 * turns both off, OCR2_SIMD=avx2 leaves only AVX2. */
bool ocr2_have_avx2(void);

#endif
