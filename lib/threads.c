/* threads.c - a small persistent thread pool: the caller and n-1 workers
 * split a range of work items; used by the memory-bound kernels. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

struct ocr2_pool {
	int n;
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	void (*fn)(void *, int, int);
	void *arg;
	int items;
	int next;       /* next item to take */
	int busy;       /* workers still inside the current job */
	unsigned gen;   /* job generation */
	bool quit;
};

int ocr2_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static void drain(ocr2_pool *p)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int i = p->next < p->items ? p->next++ : -1;
		pthread_mutex_unlock(&p->mu);
		if (i < 0)
			return;
		p->fn(p->arg, i, p->items);
	}
}

static void *worker(void *arg)
{
	ocr2_pool *p = arg;
	unsigned seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		drain(p);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
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
	p->quit = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->th);
	free(p);
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
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->items = n;
	p->next = 0;
	p->busy = p->n - 1;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	drain(p);
	pthread_mutex_lock(&p->mu);
	while (p->busy > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
