/* residency.c - where the mapped weights live: 2 MiB pages from the page
 * cache or a re-read, or an anonymous huge-page copy (OCR2_WEIGHTS=copy).
 *
 * Decoding streams ~1 GB of weights per token. Through 4 KiB pages that runs
 * at ~30 GB/s here, through 2 MiB pages at ~51 GB/s (TLB misses and the
 * prefetchers stopping at every 4 KiB boundary). The file is mapped at a
 * 2 MiB boundary with MADV_HUGEPAGE, so where the page cache holds the file in
 * 2 MiB folios (filesystems with large folios, Linux >= 6.x) it is mapped
 * whole. Where it holds small folios (the file was cached before with 4 KiB
 * pages), dropping the clean cache and reading it once through the huge-page
 * mapping rebuilds it in large folios, for this and later runs. On request
 * (OCR2_WEIGHTS=copy) the file is copied into anonymous huge-page memory,
 * which is all 2 MiB pages whatever the page cache holds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"
#include "compute/pool.h"
#include "model/model.h"
#include "model/weights-private.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* Transparent huge pages for madvise'd memory: "[always]" or "[madvise]". */
static bool thp_usable(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f)
		return false;
	char line[256] = "";
	bool ok = fgets(line, sizeof line, f) && !strstr(line, "[never]");
	fclose(f);
	return ok;
}

/* Bytes of the mapping at addr that the kernel maps with 2 MiB entries
 * (FilePmdMapped + AnonHugePages of its /proc/self/smaps entry); -1 when
 * unknown. */
static int64_t huge_mapped(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	bool in = false;
	int64_t kb = -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			if (in)
				kb = 0;
			continue;
		}
		unsigned long long v;
		if (in && (sscanf(line, "FilePmdMapped: %llu kB", &v) == 1 ||
			   sscanf(line, "AnonHugePages: %llu kB", &v) == 1))
			kb += (int64_t)v;
	}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

#define POPULATE_CHUNK ((size_t)128 << 20)

/* Faults the whole mapping in, 128 MiB at a time so that a raised *cancel
 * (may be NULL) stops it within one chunk's read; false when the kernel
 * cannot (before 5.14) or when cancelled. */
static bool populate(const wfile *f, volatile int *cancel)
{
	for (size_t off = 0; off < f->size; off += POPULATE_CHUNK) {
		if (cancel && *cancel)
			return false;
		size_t len = f->size - off < POPULATE_CHUNK ? f->size - off : POPULATE_CHUNK;
		if (madvise((char *)f->map + off, len, MADV_POPULATE_READ) != 0)
			return false;
	}
	return true;
}

int64_t ocr2_buddy_huge_bytes(FILE *f, long page)
{
	char line[1024];
	int64_t total = -1;
	while (fgets(line, sizeof line, f)) {
		char *p = strstr(line, "zone");
		if (!p)
			continue;
		p += 4;
		while (*p == ' ')
			p++;
		while (*p && *p != ' ' && *p != '\n') /* the zone's name */
			p++;
		if (total < 0)
			total = 0;
		for (int order = 0; order < 40; order++) {
			char *end;
			long long n = strtoll(p, &end, 10);
			if (end == p)
				break;
			p = end;
			int64_t block = (int64_t)page << order;
			if (block >= (int64_t)HUGE_PAGE && n > 0 && n < (1ll << 40))
				total += (int64_t)n * block;
		}
	}
	return total;
}

/* Bytes the kernel holds free in blocks of 2 MiB or more; -1 when unknown. */
static int64_t free_huge_bytes(void)
{
	FILE *f = fopen("/proc/buddyinfo", "r");
	if (!f)
		return -1;
	int64_t total = ocr2_buddy_huge_bytes(f, sysconf(_SC_PAGESIZE));
	fclose(f);
	return total;
}

/* All but a sliver of the file in 2 MiB mappings (h bytes). Decoding reads
 * every part of it, and each 4 KiB page costs a page walk that the weights
 * streaming past keep evicting from the caches: at 79 % the q8 model decoded
 * ~15 % slower than at 100 %. */
static bool mostly_huge(const wfile *f, int64_t h)
{
	return h >= 0 && (uint64_t)h >= f->size / 100 * 98;
}

/* Re-reading builds 2 MiB folios only where the kernel has free 2 MiB blocks
 * to put them in (those free now, and the h bytes of 2 MiB folios the drop
 * gives back); without them the re-read costs a read from disk for nothing,
 * on every run. */
static bool reread_can_help(const wfile *f, int64_t h)
{
	int64_t free = free_huge_bytes();
	return free >= 0 && (uint64_t)(free + h) >= f->size + f->size / 8;
}

typedef struct {
	wfile *f;
	char *dst;
	int fd;
	int err; /* first errno seen, or -1 for a short read */
	volatile int *cancel;
} copy_job;

#define COPY_CHUNK ((size_t)64 << 20)

static void copy_part(void *arg, int i, int n)
{
	(void)n;
	copy_job *j = arg;
	size_t off = (size_t)i * COPY_CHUNK;
	size_t len = j->f->size - off < COPY_CHUNK ? j->f->size - off : COPY_CHUNK;
	if (j->cancel && *j->cancel) {
		__atomic_store_n(&j->err, EINTR, __ATOMIC_RELAXED);
		return;
	}
	while (len) {
		ssize_t r = pread(j->fd, j->dst + off, len, (off_t)off);
		if (r <= 0) {
			__atomic_store_n(&j->err, r < 0 ? errno : -1, __ATOMIC_RELAXED);
			return;
		}
		off += (size_t)r;
		len -= (size_t)r;
	}
}

/* One file into 2 MiB-aligned anonymous memory; pointers into the old map
 * are moved to the same offsets in the copy. */
static ocr2_status copy_to_anon(ocr2_weights *w, int fi, ocr2_pool *pool, volatile int *cancel)
{
	wfile *f = &w->files[fi];
	size_t region_size = f->size + HUGE_PAGE;
	char *region = mmap(NULL, region_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED)
		return OCR2_OK; /* keep the file mapping */
	char *dst = (char *)(((uintptr_t)region + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
	madvise(dst, f->size, MADV_HUGEPAGE);
#endif
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		munmap(region, region_size);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: cannot open: %s", f->path, strerror(e));
	}
	copy_job j = {f, dst, fd, 0, cancel};
	int chunks = (int)((f->size + COPY_CHUNK - 1) / COPY_CHUNK);
	if (pool)
		ocr2_pool_run(pool, copy_part, &j, chunks);
	else
		for (int i = 0; i < chunks; i++)
			copy_part(&j, i, chunks);
	close(fd);
	/* the copy must be the bytes whose header was parsed from the map */
	if (!j.err && memcmp(dst, f->map, f->size < 4096 ? f->size : 4096) != 0)
		j.err = -1;
	if (j.err) {
		munmap(region, region_size);
		if (j.err == EINTR && cancel && *cancel)
			return ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: loading cancelled", f->path);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: %s", f->path,
				 j.err < 0 ? "file changed while loading" : strerror(j.err));
	}
	mprotect(region, region_size, PROT_READ);
	const char *lo = f->map, *hi = lo + f->size;
	for (int i = 0; i < w->n; i++) {
		ocr2_tensor *t = &w->t[i].t;
		if ((const char *)t->data >= lo && (const char *)t->data < hi)
			t->data = dst + ((const char *)t->data - lo);
		if (t->scales && (const char *)t->scales >= lo && (const char *)t->scales < hi)
			t->scales = (const float *)(dst + ((const char *)t->scales - lo));
		if (t->scales_h && (const char *)t->scales_h >= lo && (const char *)t->scales_h < hi)
			t->scales_h = (const uint16_t *)(dst + ((const char *)t->scales_h - lo));
	}
	if (f->region)
		munmap(f->region, f->region_size);
	else
		munmap(f->map, f->size);
	f->map = dst;
	f->region = region;
	f->region_size = region_size;
	f->copied = true;
	return OCR2_OK;
}

/* Faults the file in through its huge-page mapping. Some large folios but
 * not nearly all: parts of the file were cached through 4 KiB pages (read
 * by other means, or when memory was fragmented), so where the kernel now
 * has the free 2 MiB blocks, the clean cache is dropped and read again once.
 * None at all: the filesystem does not build them, and re-reading would not
 * help. */
static void map_huge(wfile *f, volatile int *cancel)
{
	if (!populate(f, cancel))
		return; /* an old kernel (leave it to the page faults), or cancelled */
	int64_t h = huge_mapped(f->map);
	if (h <= 0 || mostly_huge(f, h) || !reread_can_help(f, h))
		return;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* our own 4 KiB entries first: the kernel keeps cached pages that are
	 * still mapped, so dropping the cache before unmapping them did nothing */
	madvise(f->map, f->size, MADV_DONTNEED);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	populate(f, cancel);
}

/* OCR2_WEIGHTS=copy: copying costs the file's size again in memory and
 * seconds of page zeroing per run, so it is for long batches only, and then
 * only when it fits. */
static ocr2_status copy_all(ocr2_weights *w, ocr2_pool *pool, volatile int *cancel)
{
	uint64_t total = 0;
	for (int i = 0; i < w->n_files; i++)
		total += w->files[i].size;
	uint64_t avail = ocr2_mem_available() / 1024; /* kB */
	if (avail && total / 1024 > avail / 4 * 3)
		return ocr2_fail(OCR2_ERR_NOMEM,
				 "%s: OCR2_WEIGHTS=copy: the weights (%llu MB) do not fit in 3/4 of "
				 "the available memory (%llu MB)",
				 w->where, (unsigned long long)(total >> 20),
				 (unsigned long long)(avail >> 10));
	for (int i = 0; i < w->n_files; i++) {
		if (w->files[i].copied)
			continue;
		ocr2_status st = copy_to_anon(w, i, pool, cancel);
		if (st)
			return st;
	}
	return OCR2_OK;
}

const char *ocr2_weights_residency(const ocr2_weights *w)
{
	static char buf[96];
	uint64_t total = 0, huge = 0;
	bool copied = false;
	for (int i = 0; i < w->n_files; i++) {
		total += w->files[i].size;
		if (w->files[i].copied) {
			copied = true;
			huge += w->files[i].size;
		} else {
			int64_t h = huge_mapped(w->files[i].map);
			huge += h > 0 ? (uint64_t)h : 0;
		}
	}
	snprintf(buf, sizeof buf, "%s, %.0f%% in 2 MiB pages",
		 copied ? "copied to huge-page memory" : "memory-mapped",
		 total ? 100.0 * (double)(huge > total ? total : huge) / (double)total : 0.0);
	return buf;
}

ocr2_status ocr2_weights_resident(ocr2_weights *w, ocr2_pool *pool, volatile int *cancel)
{
	const char *mode = getenv("OCR2_WEIGHTS");
	if (mode && !strcmp(mode, "mmap"))
		return OCR2_OK;
	if (mode && !strcmp(mode, "copy"))
		return copy_all(w, pool, cancel);
	if (thp_usable())
		for (int i = 0; i < w->n_files; i++)
			map_huge(&w->files[i], cancel);
	if (cancel && *cancel)
		return ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: loading cancelled", w->where);
	return OCR2_OK;
}
