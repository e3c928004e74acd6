/* platform.c - what the kernels need to know about the machine: the CPUs
 * this process may use, whether the AVX-512 kernels run, and big zeroed
 * buffers in huge pages. A leaf of compute (it reads sysfs through base/fs.h). */
#include <fcntl.h>
#include <sched.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/fs.h"
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

/* The widest kernels the CPU runs, decided once: 2 AVX-512 (f, bw, vl),
 * 1 AVX2 with FMA and F16C, 0 the portable loops. OCR2_NO_SIMD=1 forces 0;
 * OCR2_SIMD=avx2 caps it at 1 (so the AVX2 kernels stay tested on AVX-512
 * machines). */
static int simd_level = -1;

static int level(void)
{
	if (simd_level < 0) {
		int l = 0;
#if defined(__x86_64__) && defined(__GNUC__)
		__builtin_cpu_init();
		/* F16C (q8's f16 scales) by CPUID leaf 1, ECX bit 29: clang's
		 * __builtin_cpu_supports does not know the name */
		unsigned a, b, c = 0, d;
		bool f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c)
			l = 1;
		if (l && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vl"))
			l = 2;
#endif
		const char *e = getenv("OCR2_NO_SIMD");
		if (e && *e && strcmp(e, "0"))
			l = 0;
		const char *cap = getenv("OCR2_SIMD");
		if (cap && !strcmp(cap, "avx2") && l > 1)
			l = 1;
		simd_level = l;
	}
	return simd_level;
}

bool ocr2_have_avx512(void)
{
	return level() == 2;
}

bool ocr2_have_avx2(void)
{
	return level() >= 1;
}

/* ---- the CPUs this process may use ------------------------------------------ */

/* CPUs in the affinity mask (taskset, cpusets, container runtimes); the
 * online count when the mask cannot be read. The set grows until it holds
 * the kernel's mask, for machines with more than CPU_SETSIZE CPUs. */
static int affinity_cpus(void)
{
	for (int n = CPU_SETSIZE; n <= 1 << 20; n *= 2) {
		cpu_set_t *set = CPU_ALLOC(n);
		if (!set)
			break;
		size_t sz = CPU_ALLOC_SIZE(n);
		CPU_ZERO_S(sz, set);
		if (sched_getaffinity(0, sz, set) == 0) {
			int c = CPU_COUNT_S(sz, set);
			CPU_FREE(set);
			return c;
		}
		CPU_FREE(set);
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int ocr2_cpu_quota_parse(const char *text, bool v1)
{
	double quota, period;
	if (v1) { /* cpu.cfs_quota_us, then cpu.cfs_period_us on the next line */
		if (sscanf(text, "%lf %lf", &quota, &period) != 2)
			return 0;
	} else { /* cpu.max: "max 100000" or "200000 100000" */
		if (!strncmp(text, "max", 3) || sscanf(text, "%lf %lf", &quota, &period) != 2)
			return 0;
	}
	if (quota <= 0 || period <= 0)
		return 0;
	double c = quota / period;
	int n = (int)c;
	if (n < c) /* a fraction of a CPU more still gets a thread */
		n++;
	return n < 1 ? 1 : n;
}

/* A small /proc or /sys file, malloc'd and NUL-terminated; NULL when it
 * cannot be read or is empty. */
static char *read_small(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *t = NULL;
	size_t n = 0;
	int r = ocr2_read_fd(fd, 1 << 16, &t, &n);
	close(fd);
	if (r != 0 || n == 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* The smallest quota on the way from the process's cgroup up to the root
 * (a limit set on a parent binds its children too); 0 when none. */
static int quota_up(const char *root, const char *cg, bool v1)
{
	char path[4096], dir[2048];
	snprintf(dir, sizeof dir, "%s", cg);
	int best = 0;
	for (;;) {
		int c = 0;
		snprintf(path, sizeof path, "%s%s/%s", root, dir, v1 ? "cpu.cfs_quota_us" : "cpu.max");
		char *text = read_small(path);
		if (text && v1) {
			snprintf(path, sizeof path, "%s%s/cpu.cfs_period_us", root, dir);
			char *per = read_small(path);
			char both[160];
			snprintf(both, sizeof both, "%s %s", text, per ? per : "");
			c = per ? ocr2_cpu_quota_parse(both, true) : 0;
			free(per);
		} else if (text) {
			c = ocr2_cpu_quota_parse(text, false);
		}
		free(text);
		if (c > 0 && (best == 0 || c < best))
			best = c;
		char *s = strrchr(dir, '/');
		if (!s || !dir[0] || !strcmp(dir, "/"))
			break;
		if (s == dir)
			s[1] = 0; /* "/a" -> "/" */
		else
			*s = 0;
	}
	return best;
}

int ocr2_cgroup_cpus(const char *proc_cgroup, const char *root)
{
	char *text = read_small(proc_cgroup);
	if (!text)
		return 0;
	int best = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* "hierarchy-ID:controllers:path": v2 is "0::/path", v1 names cpu */
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = 0;
		*c2 = 0;
		const char *ctrl = c1 + 1, *cg = c2 + 1;
		int c = 0;
		char base[512];
		if (!strcmp(line, "0") && !*ctrl) {
			c = quota_up(root, cg, false);
		} else {
			/* the controllers, comma-separated: "cpu" among them */
			char list[256];
			snprintf(list, sizeof list, ",%s,", ctrl);
			if (!strstr(list, ",cpu,"))
				continue;
			/* mounted as cpu,cpuacct (or cpu alone) under root */
			snprintf(base, sizeof base, "%s/cpu,cpuacct", root);
			if (access(base, F_OK) != 0)
				snprintf(base, sizeof base, "%s/cpu", root);
			c = quota_up(base, cg, true);
		}
		if (c > 0 && (best == 0 || c < best))
			best = c;
	}
	free(text);
	return best;
}

int ocr2_ncpu(void)
{
	static int cached;
	if (cached > 0)
		return cached;
	int n = affinity_cpus();
	int q = ocr2_cgroup_cpus("/proc/self/cgroup", "/sys/fs/cgroup");
	if (q > 0 && q < n)
		n = q;
	cached = n > 0 ? n : 1;
	return cached;
}

/* Bytes a cgroup v2 memory limit still allows the process's cgroup and its
 * parents (memory.max - memory.current, the least on the way up); 0 for no
 * limit or an unreadable one. */
static uint64_t cgroup_mem_room(void)
{
	char *text = read_small("/proc/self/cgroup");
	if (!text)
		return 0;
	char *cg = strstr(text, "0::");
	uint64_t best = 0;
	if (cg && (cg == text || cg[-1] == '\n')) {
		cg += 3;
		cg[strcspn(cg, "\n")] = 0;
		char dir[2048], path[4096];
		snprintf(dir, sizeof dir, "%s", cg);
		for (;;) {
			snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", dir);
			char *mx = read_small(path);
			snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.current", dir);
			char *cur = read_small(path);
			unsigned long long m, c;
			if (mx && cur && sscanf(mx, "%llu", &m) == 1 && sscanf(cur, "%llu", &c) == 1) {
				uint64_t room = m > c ? m - c : 1;
				if (best == 0 || room < best)
					best = room;
			}
			free(mx);
			free(cur);
			char *sl = strrchr(dir, '/');
			if (!sl || sl == dir)
				break;
			*sl = 0;
		}
	}
	free(text);
	return best;
}

uint64_t ocr2_mem_available(void)
{
	char *text = read_small("/proc/meminfo");
	unsigned long long kb = 0;
	const char *at = text ? strstr(text, "MemAvailable:") : NULL;
	if (!at || sscanf(at, "MemAvailable: %llu kB", &kb) != 1)
		kb = 0;
	free(text);
	uint64_t avail = (uint64_t)kb * 1024, room = cgroup_mem_room();
	if (room && (!avail || room < avail))
		avail = room;
	return avail;
}
