/* threads.c - a small persistent thread pool: the caller and n-1 workers
 * split a range of work items; used by the memory-bound kernels.
 *
 * Decoding runs ~300 short jobs per token, so handing a job over must not
 * cost a futex wake-up each time (syscalls are expensive in VMs). Workers and
 * the caller therefore spin for a short while on atomics before they sleep
 * on a condition variable; the sleeper counts make the wake-ups lossless:
 * each side publishes its state, then reads the other's (seq_cst), so one of
 * the two always sees the other (Dekker's pattern). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "compute/pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* ~50-100 us of pause instructions: longer than the gap between two decode
 * jobs, far shorter than a matrix product during which OpenBLAS owns the cores. */
#define SPIN_LIMIT 20000

struct ocr2_pool {
	int n;
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	void (*fn)(void *, int, int);
	void *arg;
	int items;
	atomic_int next;        /* next item to take */
	atomic_int busy;        /* workers still inside the current job */
	atomic_uint gen;        /* job generation */
	atomic_int sleepers;    /* workers waiting on `go` */
	atomic_int caller_asleep;
	atomic_bool quit;
	void *scratch;          /* ocr2_pool_scratch */
	size_t scratch_size;
};

static void drain(ocr2_pool *p)
{
	for (;;) {
		int i = atomic_fetch_add(&p->next, 1);
		if (i >= p->items)
			return;
		p->fn(p->arg, i, p->items);
	}
}

static void *worker(void *arg)
{
	ocr2_pool *p = arg;
	unsigned seen = 0;
	for (;;) {
		int spins = 0;
		while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit)) {
			if (++spins < SPIN_LIMIT) {
				cpu_relax();
				continue;
			}
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
				pthread_cond_wait(&p->go, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->quit))
			break;
		seen = atomic_load(&p->gen);
		drain(p);
		if (atomic_fetch_sub(&p->busy, 1) == 1 && atomic_load(&p->caller_asleep)) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
	}
	return NULL;
}

ocr2_pool *ocr2_pool_new(int n_threads)
{
	if (n_threads <= 0)
		n_threads = ocr2_ncpu();
	ocr2_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->n = n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	p->th = calloc((size_t)n_threads, sizeof *p->th);
	if (!p->th) {
		free(p);
		return NULL;
	}
	for (int i = 1; i < n_threads; i++)
		if (pthread_create(&p->th[i], NULL, worker, p) != 0) {
			p->n = i;
			break;
		}
	return p;
}

void ocr2_pool_free(ocr2_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->quit, true);
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->th);
	ocr2_free_huge(p->scratch, p->scratch_size);
	free(p);
}

void *ocr2_pool_scratch(ocr2_pool *p, size_t bytes)
{
	if (!p)
		return NULL;
	if (bytes > p->scratch_size) {
		ocr2_free_huge(p->scratch, p->scratch_size);
		p->scratch = ocr2_alloc_huge(bytes);
		p->scratch_size = p->scratch ? bytes : 0;
	}
	return p->scratch;
}

int ocr2_pool_size(const ocr2_pool *p)
{
	return p ? p->n : 1;
}

void ocr2_pool_run(ocr2_pool *p, void (*fn)(void *arg, int i, int n), void *arg, int n)
{
	if (!p || p->n == 1 || n == 1) {
		for (int i = 0; i < n; i++)
			fn(arg, i, n);
		return;
	}
	/* the previous job is complete (busy reached 0), so workers only read
	 * fn/arg/items after seeing the new generation */
	p->fn = fn;
	p->arg = arg;
	p->items = n;
	atomic_store(&p->next, 0);
	atomic_store(&p->busy, p->n - 1);
	atomic_fetch_add(&p->gen, 1);
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->go);
		pthread_mutex_unlock(&p->mu);
	}
	drain(p);
	int spins = 0;
	while (atomic_load(&p->busy) > 0) {
		if (++spins < SPIN_LIMIT) {
			cpu_relax();
			continue;
		}
		pthread_mutex_lock(&p->mu);
		atomic_store(&p->caller_asleep, 1);
		while (atomic_load(&p->busy) > 0)
			pthread_cond_wait(&p->done, &p->mu);
		atomic_store(&p->caller_asleep, 0);
		pthread_mutex_unlock(&p->mu);
	}
}

/* ---- ranges: shares with stealing ---------------------------------------- */

typedef struct {
	_Alignas(64) _Atomic uint64_t fb; /* front | back << 32, rows not yet taken */
} share;

typedef struct {
	void (*fn)(void *arg, int64_t a, int64_t b);
	void *arg;
	share *sh;
	int n_sh;
	int64_t min_chunk;
} ranges_job;

/* Takes up to a quarter of what is left of share s (at least min_chunk):
 * from its front (the owner) or its back (a thief). False when empty. */
static bool take(ranges_job *j, int s, bool front, int64_t *a, int64_t *b)
{
	uint64_t v = atomic_load(&j->sh[s].fb);
	for (;;) {
		int64_t f = (int64_t)(v & 0xFFFFFFFFu), e = (int64_t)(v >> 32);
		if (f >= e)
			return false;
		int64_t c = (e - f) / 4;
		if (c < j->min_chunk)
			c = j->min_chunk;
		if (c > e - f)
			c = e - f;
		uint64_t nv = front ? (uint64_t)(f + c) | ((uint64_t)e << 32)
				    : (uint64_t)f | ((uint64_t)(e - c) << 32);
		if (atomic_compare_exchange_weak(&j->sh[s].fb, &v, nv)) {
			*a = front ? f : e - c;
			*b = front ? f + c : e;
			return true;
		}
	}
}

static void ranges_part(void *arg, int i, int n)
{
	(void)n;
	ranges_job *j = arg;
	int64_t a, b;
	while (take(j, i, true, &a, &b))
		j->fn(j->arg, a, b);
	for (int k = 1; k < j->n_sh; k++) {
		int v = (i + k) % j->n_sh;
		while (take(j, v, false, &a, &b))
			j->fn(j->arg, a, b);
	}
}

void ocr2_pool_run_ranges(ocr2_pool *p, void (*fn)(void *arg, int64_t a, int64_t b), void *arg,
			  int64_t n, int64_t min_chunk)
{
	int t = ocr2_pool_size(p);
	if (n <= 0)
		return;
	if (t == 1 || n > 0xFFFFFFFFll || n <= min_chunk) {
		fn(arg, 0, n);
		return;
	}
	share small[16];
	share *sh = t <= 16 ? small : aligned_alloc(64, (size_t)t * sizeof *sh);
	if (!sh) {
		fn(arg, 0, n);
		return;
	}
	for (int i = 0; i < t; i++) {
		uint64_t f = (uint64_t)(n * i / t), e = (uint64_t)(n * (i + 1) / t);
		atomic_init(&sh[i].fb, f | e << 32);
	}
	ranges_job j = {fn, arg, sh, t, min_chunk < 1 ? 1 : min_chunk};
	ocr2_pool_run(p, ranges_part, &j, t);
	if (sh != small)
		free(sh);
}
