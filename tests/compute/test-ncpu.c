/* test-ncpu.c - the CPUs a process may use: cgroup quota texts (v1 and v2),
 * the smallest quota on the way to the root, and ocr2_ncpu against the
 * affinity mask this test runs under. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "compute/pool.h"

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512], cmd[600];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
	CHECK(system(cmd) == 0, "mkdir for %s", rel);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL, "cannot write %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int cg(const char *proc, const char *mount)
{
	char p[512], m[512];
	snprintf(p, sizeof p, "%s/%s", root, proc);
	snprintf(m, sizeof m, "%s/%s", root, mount);
	return ocr2_cgroup_cpus(p, m);
}

int main(void)
{
	/* quota texts */
	CHECK(ocr2_cpu_quota_parse("max 100000\n", false) == 0, "v2 max is no limit");
	CHECK(ocr2_cpu_quota_parse("200000 100000\n", false) == 2, "v2 2 CPUs");
	CHECK(ocr2_cpu_quota_parse("150000 100000\n", false) == 2, "v2 1.5 CPUs round up");
	CHECK(ocr2_cpu_quota_parse("50000 100000\n", false) == 1, "v2 half a CPU is 1");
	CHECK(ocr2_cpu_quota_parse("-1\n100000\n", true) == 0, "v1 -1 is no limit");
	CHECK(ocr2_cpu_quota_parse("400000\n100000\n", true) == 4, "v1 4 CPUs");
	CHECK(ocr2_cpu_quota_parse("", false) == 0, "empty text");
	CHECK(ocr2_cpu_quota_parse("garbage", false) == 0, "garbage");
	CHECK(ocr2_cpu_quota_parse("0 100000", false) == 0, "zero quota");

	snprintf(root, sizeof root, "%s/ocr2-ncpu-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(root) != NULL, "mkdtemp");

	/* v2: the limit sits on the parent; the process's own cgroup has none */
	put("v2/proc", "0::/kubepods/pod1/ctr\n");
	put("v2/sys/kubepods/pod1/cpu.max", "200000 100000\n");
	put("v2/sys/kubepods/pod1/ctr/cpu.max", "max 100000\n");
	put("v2/sys/kubepods/cpu.max", "800000 100000\n");
	CHECK(cg("v2/proc", "v2/sys") == 2, "v2 parent limit: %d", cg("v2/proc", "v2/sys"));
	/* v2 without any limit */
	put("v2b/proc", "0::/user.slice\n");
	put("v2b/sys/user.slice/cpu.max", "max 100000\n");
	CHECK(cg("v2b/proc", "v2b/sys") == 0, "v2 unlimited");
	/* v1 with cpu,cpuacct */
	put("v1/proc", "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n");
	put("v1/sys/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000\n");
	put("v1/sys/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
	CHECK(cg("v1/proc", "v1/sys") == 3, "v1 limit: %d", cg("v1/proc", "v1/sys"));
	/* no /proc file at all */
	CHECK(cg("none", "v1/sys") == 0, "missing /proc/self/cgroup");

	/* the real process: never more than the affinity mask allows */
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		int aff = CPU_COUNT(&set);
		int n = ocr2_ncpu();
		CHECK(n >= 1 && n <= aff, "ocr2_ncpu %d with %d CPUs in the mask", n, aff);
	}

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("note: %s not removed\n", root);
	return check_done();
}
