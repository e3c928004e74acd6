/* test-fs.c - lib/base/fs.c: whole-file reads and their limit, a read that a
 * cancel flag ends, path joins, links followed, mkdir -p (nested, existing, a
 * file in the way) and atomic output (a commit leaves the file and no
 * temporary, an abort leaves nothing; a replaced file keeps its mode; a
 * symbolic link stays and its target is replaced; a FIFO or a device is
 * written into). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "ocr2.h"
#include "check.h"

static char root[256];

static char *at(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, name);
	return buf[k];
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Names in dir other than . and .., joined by spaces in readdir order
 * (tests keep at most one). */
static const char *listing(const char *dir)
{
	static char out[1024];
	out[0] = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s",
			         *out ? " " : "", e->d_name);
	if (d)
		closedir(d);
	return out;
}

static void test_read(void)
{
	char *text;
	size_t n;
	put(at("r.txt"), "hello");
	CHECK(ocr2_read_file(at("r.txt"), 5, OCR2_ERR_IO, &text, &n) == OCR2_OK && n == 5 &&
	          !strcmp(text, "hello"),
	      "ocr2_read_file(at(\"r.txt\"), 5, OCR2_ERR_IO, &text, &n) == OCR2_OK && n == 5 && "
	      "!strcmp(text, \"hello\")");
	free(text);
	CHECK(ocr2_read_file(at("r.txt"), 4, OCR2_ERR_MODEL, &text, &n) == OCR2_ERR_MODEL &&
	          text == NULL && strstr(ocr2_errmsg(), "r.txt: file too large"),
	      "ocr2_read_file(at(\"r.txt\"), 4, OCR2_ERR_MODEL, &text, &n) == OCR2_ERR_MODEL && "
	      "text == NULL && strstr(ocr2_errmsg(), \"r.txt: file too large\")");
	CHECK(ocr2_read_file(at("none"), 4, OCR2_ERR_IO, &text, &n) == OCR2_ERR_IO &&
	          strstr(ocr2_errmsg(), "none: cannot open: No such file"),
	      "ocr2_read_file(at(\"none\"), 4, OCR2_ERR_IO, &text, &n) == OCR2_ERR_IO && "
	      "strstr(ocr2_errmsg(), \"none: cannot open: No such file\")");
	CHECK(ocr2_read_file(root, 4, OCR2_ERR_IO, &text, &n) == OCR2_ERR_IO &&
	          strstr(ocr2_errmsg(), ": read error"),
	      "ocr2_read_file(root, 4, OCR2_ERR_IO, &text, &n) == OCR2_ERR_IO && "
	      "strstr(ocr2_errmsg(), \": read error\")");
	put(at("empty"), "");
	CHECK(ocr2_read_file(at("empty"), 0, OCR2_ERR_IO, &text, &n) == OCR2_OK && n == 0 && text &&
	          !*text,
	      "ocr2_read_file(at(\"empty\"), 0, OCR2_ERR_IO, &text, &n) == OCR2_OK && n == 0 && "
	      "text && !*text");
	free(text);

	/* past the first buffer, through a pipe (no size known beforehand) */
	size_t big = 100000;
	char *want = malloc(big);
	for (size_t i = 0; i < big; i++)
		want[i] = (char)('a' + i % 26);
	int p[2];
	CHECK(pipe(p) == 0, "pipe(p) == 0");
	if (fork() == 0) {
		close(p[0]);
		for (size_t o = 0; o < big;) {
			ssize_t w = write(p[1], want + o, big - o);
			if (w <= 0)
				_exit(1);
			o += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	CHECK(ocr2_read_fd(p[0], (size_t)-1, &text, &n) == 0 && n == big &&
	          !memcmp(text, want, big) && text[big] == 0,
	      "ocr2_read_fd(p[0], (size_t)-1, &text, &n) == 0 && n == big && !memcmp(text, want, "
	      "big) && text[big] == 0");
	free(text);
	close(p[0]);

	FILE *f = fopen(at("big"), "wb");
	fwrite(want, 1, big, f);
	fclose(f);
	int fd = open(at("big"), O_RDONLY);
	CHECK(ocr2_read_fd(fd, big, &text, &n) == 0 && n == big,
	      "ocr2_read_fd(fd, big, &text, &n) == 0 && n == big");
	free(text);
	lseek(fd, 0, SEEK_SET);
	CHECK(ocr2_read_fd(fd, big - 1, &text, &n) == -1 && errno == EFBIG && !text,
	      "ocr2_read_fd(fd, big - 1, &text, &n) == -1 && errno == EFBIG && !text");
	close(fd);
	free(want);
}

static void test_paths(void)
{
	struct {
		const char *dir, *name, *want;
	} joins[] = {
	    {"a", "b", "a/b"}, {"a/", "b", "a/b"},        {"/", "b", "/b"},
	    {"", "b", "/b"},   {"a/b", "c.d", "a/b/c.d"},
	};
	for (size_t i = 0; i < sizeof joins / sizeof *joins; i++) {
		char *s = ocr2_path_join(joins[i].dir, joins[i].name);
		CHECK(s && !strcmp(s, joins[i].want), "s && !strcmp(s, joins[i].want)");
		free(s);
	}
	struct {
		const char *path, *want;
	} dirs[] = {{"a/b", "a"}, {"/b", "/"}, {"b", "."}, {"a/b/c", "a/b"}, {"a/", "a"}};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		char *s = ocr2_path_dir(dirs[i].path);
		CHECK(s && !strcmp(s, dirs[i].want), "s && !strcmp(s, dirs[i].want)");
		free(s);
	}
}

static void test_mkdir(void)
{
	CHECK(ocr2_mkdir_p(at("m/n/o"), 0777) == 0 && is_dir(at("m/n/o")),
	      "ocr2_mkdir_p(at(\"m/n/o\"), 0777) == 0 && is_dir(at(\"m/n/o\"))");
	CHECK(ocr2_mkdir_p(at("m/n/o"), 0777) == 0,
	      "ocr2_mkdir_p(at(\"m/n/o\"), 0777) == 0"); /* existing */
	CHECK(ocr2_mkdir_p(at("m//p/"), 0755) == 0 && is_dir(at("m/p")),
	      "ocr2_mkdir_p(at(\"m//p/\"), 0755) == 0 && is_dir(at(\"m/p\"))");
	struct stat st;
	CHECK(stat(at("m/p"), &st) == 0 && (st.st_mode & 0022) == 0,
	      "stat(at(\"m/p\"), &st) == 0 && (st.st_mode & 0022) == 0");
	put(at("m/file"), "x");
	errno = 0;
	CHECK(ocr2_mkdir_p(at("m/file/q"), 0777) == -1 && errno == ENOTDIR,
	      "ocr2_mkdir_p(at(\"m/file/q\"), 0777) == -1 && errno == ENOTDIR");
	/* the last name taken by a file: the caller's next step reports it */
	CHECK(ocr2_mkdir_p(at("m/file"), 0777) == 0 && !is_dir(at("m/file")),
	      "ocr2_mkdir_p(at(\"m/file\"), 0777) == 0 && !is_dir(at(\"m/file\"))");
	CHECK(ocr2_mkdir_p("", 0777) == -1 && errno == ENOENT,
	      "ocr2_mkdir_p(\"\", 0777) == -1 && errno == ENOENT");
}

static void test_atomic(void)
{
	CHECK(ocr2_mkdir_p(at("a"), 0777) == 0, "ocr2_mkdir_p(at(\"a\"), 0777) == 0");
	char final[512];
	snprintf(final, sizeof final, "%s", at("a/out.md"));
	ocr2_atomic a;
	CHECK(ocr2_atomic_open(&a, final, OCR2_ATOMIC_SHARED) == 0,
	      "ocr2_atomic_open(&a, final, OCR2_ATOMIC_SHARED) == 0");
	CHECK(a.tmp && !strncmp(a.tmp, at("a/.out.md.tmp."), strlen(at("a/.out.md.tmp."))) &&
	          strlen(a.tmp) == strlen(at("a/.out.md.tmp.")) + 6,
	      "a.tmp && !strncmp(a.tmp, at(\"a/.out.md.tmp.\"), strlen(at(\"a/.out.md.tmp.\"))) && "
	      "strlen(a.tmp) == strlen(at(\"a/.out.md.tmp.\")) + 6");
	fputs("new", a.f);
	CHECK(access(final, F_OK) != 0,
	      "access(final, F_OK) != 0"); /* not there before the commit */
	CHECK(ocr2_atomic_commit(&a) == 0 && a.tmp == NULL && a.f == NULL,
	      "ocr2_atomic_commit(&a) == 0 && a.tmp == NULL && a.f == NULL");
	char *text;
	size_t n;
	CHECK(ocr2_read_file(final, 100, OCR2_ERR_IO, &text, &n) == OCR2_OK && !strcmp(text, "new"),
	      "ocr2_read_file(final, 100, OCR2_ERR_IO, &text, &n) == OCR2_OK && !strcmp(text, "
	      "\"new\")");
	free(text);
	CHECK(!strcmp(listing(at("a")), "out.md"), "!strcmp(listing(at(\"a\")), \"out.md\")");
	/* the mode any new file gets */
	struct stat st;
	mode_t um = umask(022);
	umask(um);
	CHECK(stat(final, &st) == 0 && (st.st_mode & 0777) == (0666 & ~um),
	      "stat(final, &st) == 0 && (st.st_mode & 0777) == (0666 & ~um)");

	/* an abort leaves the old file as it was and no temporary */
	CHECK(ocr2_atomic_open(&a, final, OCR2_ATOMIC_SHARED) == 0,
	      "ocr2_atomic_open(&a, final, OCR2_ATOMIC_SHARED) == 0");
	fputs("half", a.f);
	ocr2_atomic_abort(&a);
	ocr2_atomic_abort(&a); /* twice: nothing */
	CHECK(ocr2_read_file(final, 100, OCR2_ERR_IO, &text, &n) == OCR2_OK && !strcmp(text, "new"),
	      "ocr2_read_file(final, 100, OCR2_ERR_IO, &text, &n) == OCR2_OK && !strcmp(text, "
	      "\"new\")");
	free(text);
	CHECK(!strcmp(listing(at("a")), "out.md"), "!strcmp(listing(at(\"a\")), \"out.md\")");

	/* abort of a first write: nothing at all */
	CHECK(ocr2_mkdir_p(at("b"), 0777) == 0, "ocr2_mkdir_p(at(\"b\"), 0777) == 0");
	CHECK(ocr2_atomic_open(&a, at("b/x"), OCR2_ATOMIC_SHARED) == 0,
	      "ocr2_atomic_open(&a, at(\"b/x\"), OCR2_ATOMIC_SHARED) == 0");
	fputs("x", a.f);
	ocr2_atomic_abort(&a);
	CHECK(!strcmp(listing(at("b")), ""), "!strcmp(listing(at(\"b\")), \"\")");

	/* alone: the fixed name; a hidden name keeps its one dot; the temporary
	 * a killed run left is overwritten */
	put(at("b/.rec.json.tmp"), "left by a killed run");
	CHECK(ocr2_atomic_open(&a, at("b/.rec.json"), OCR2_ATOMIC_ALONE) == 0 &&
	          !strcmp(a.tmp, at("b/.rec.json.tmp")),
	      "ocr2_atomic_open(&a, at(\"b/.rec.json\"), OCR2_ATOMIC_ALONE) == 0 && !strcmp(a.tmp, "
	      "at(\"b/.rec.json.tmp\"))");
	fputs("{}", a.f);
	CHECK(ocr2_atomic_sync(&a) == 0 && a.f == NULL && access(a.tmp, F_OK) == 0,
	      "ocr2_atomic_sync(&a) == 0 && a.f == NULL && access(a.tmp, F_OK) == 0");
	CHECK(ocr2_atomic_commit(&a) == 0, "ocr2_atomic_commit(&a) == 0");
	CHECK(ocr2_read_file(at("b/.rec.json"), 100, OCR2_ERR_IO, &text, &n) == OCR2_OK &&
	          !strcmp(text, "{}"),
	      "ocr2_read_file(at(\"b/.rec.json\"), 100, OCR2_ERR_IO, &text, &n) == OCR2_OK && "
	      "!strcmp(text, \"{}\")");
	free(text);
	CHECK(!strcmp(listing(at("b")), ".rec.json"), "!strcmp(listing(at(\"b\")), \".rec.json\")");
	CHECK(ocr2_atomic_open(&a, at("b/m.bin"), OCR2_ATOMIC_ALONE) == 0 &&
	          !strcmp(a.tmp, at("b/.m.bin.tmp")),
	      "ocr2_atomic_open(&a, at(\"b/m.bin\"), OCR2_ATOMIC_ALONE) == 0 && !strcmp(a.tmp, "
	      "at(\"b/.m.bin.tmp\"))");
	ocr2_atomic_abort(&a);

	/* a writer that opens the temporary by name (as the PNG writer does) */
	CHECK(ocr2_atomic_open(&a, at("b/p.png"), OCR2_ATOMIC_SHARED) == 0,
	      "ocr2_atomic_open(&a, at(\"b/p.png\"), OCR2_ATOMIC_SHARED) == 0");
	put(a.tmp, "png");
	CHECK(ocr2_atomic_commit(&a) == 0, "ocr2_atomic_commit(&a) == 0");
	CHECK(ocr2_read_file(at("b/p.png"), 100, OCR2_ERR_IO, &text, &n) == OCR2_OK &&
	          !strcmp(text, "png"),
	      "ocr2_read_file(at(\"b/p.png\"), 100, OCR2_ERR_IO, &text, &n) == OCR2_OK && "
	      "!strcmp(text, \"png\")");
	free(text);

	/* a failed rename (the final name is a directory that is not empty):
	 * -1 with errno, the temporary gone, the directory untouched */
	CHECK(ocr2_mkdir_p(at("c/d/e"), 0777) == 0, "ocr2_mkdir_p(at(\"c/d/e\"), 0777) == 0");
	CHECK(ocr2_atomic_open(&a, at("c/d"), OCR2_ATOMIC_SHARED) == 0,
	      "ocr2_atomic_open(&a, at(\"c/d\"), OCR2_ATOMIC_SHARED) == 0");
	fputs("x", a.f);
	errno = 0;
	CHECK(ocr2_atomic_commit(&a) == -1 && errno != 0 && a.tmp == NULL,
	      "ocr2_atomic_commit(&a) == -1 && errno != 0 && a.tmp == NULL");
	CHECK(!strcmp(listing(at("c")), "d") && is_dir(at("c/d/e")),
	      "!strcmp(listing(at(\"c\")), \"d\") && is_dir(at(\"c/d/e\"))");

	/* no such directory: the open fails with errno, nothing to release */
	errno = 0;
	CHECK(ocr2_atomic_open(&a, at("nodir/x"), OCR2_ATOMIC_SHARED) == -1 && errno == ENOENT &&
	          a.tmp == NULL && a.f == NULL,
	      "ocr2_atomic_open(&a, at(\"nodir/x\"), OCR2_ATOMIC_SHARED) == -1 && errno == ENOENT "
	      "&& a.tmp == NULL && a.f == NULL");

	/* stale temporaries: only those of this name, with six characters */
	CHECK(ocr2_mkdir_p(at("s"), 0777) == 0, "ocr2_mkdir_p(at(\"s\"), 0777) == 0");
	put(at("s/.o.md.tmp.Ab12Cd"), "");
	put(at("s/.o.md.tmp.short"), "");
	ocr2_atomic_remove_stale(at("s/o.md"));
	CHECK(!strcmp(listing(at("s")), ".o.md.tmp.short"),
	      "!strcmp(listing(at(\"s\")), \".o.md.tmp.short\")");
}

static volatile int g_cancel;

static void *raise_later(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 200 * 1000000L};
	nanosleep(&ts, NULL);
	g_cancel = 1;
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A read blocked on a pipe nobody writes ends when the flag is raised. */
static void test_read_cancel(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	char *text = (char *)1;
	size_t n = 7;
	g_cancel = 1;
	errno = 0;
	CHECK(ocr2_read_fd_cancel(p[0], 100, &g_cancel, &text, &n) == -1 && errno == EINTR &&
		      !text && n == 0,
	      "a raised flag: -1, EINTR, nothing read");
	g_cancel = 0;
	pthread_t th;
	pthread_create(&th, NULL, raise_later, NULL);
	double t0 = now();
	int r = ocr2_read_fd_cancel(p[0], 100, &g_cancel, &text, &n);
	double dt = now() - t0;
	pthread_join(th, NULL);
	CHECK(r == -1 && errno == EINTR && dt >= 0.15 && dt < 1.0,
	      "blocked read cancelled after %.3f s (r %d)", dt, r);
	/* bytes then the end: the flag never raised reads them all */
	g_cancel = 0;
	CHECK(write(p[1], "abc", 3) == 3, "write");
	close(p[1]);
	CHECK(ocr2_read_fd_cancel(p[0], 100, &g_cancel, &text, &n) == 0 && n == 3 &&
		      !strcmp(text, "abc"),
	      "read through the flag");
	free(text);
	close(p[0]);
}

static void test_targets(void)
{
	CHECK(ocr2_mkdir_p(at("t/real"), 0777) == 0, "mkdir t/real");
	char *text;
	size_t n;
	ocr2_atomic a;
	struct stat st;

	/* a replaced file keeps its mode */
	put(at("t/private.md"), "old");
	chmod(at("t/private.md"), 0600);
	CHECK(ocr2_atomic_open(&a, at("t/private.md"), OCR2_ATOMIC_SHARED) == 0, "open private");
	fputs("new", a.f);
	CHECK(ocr2_atomic_commit(&a) == 0, "commit private");
	CHECK(stat(at("t/private.md"), &st) == 0 && (st.st_mode & 07777) == 0600,
	      "replaced file's mode: %o", (unsigned)(st.st_mode & 07777));
	chmod(at("t/private.md"), 0640);
	CHECK(ocr2_atomic_open(&a, at("t/private.md"), OCR2_ATOMIC_ALONE) == 0, "open alone");
	CHECK(ocr2_atomic_commit(&a) == 0, "commit alone");
	CHECK(stat(at("t/private.md"), &st) == 0 && (st.st_mode & 07777) == 0640,
	      "replaced file's mode (alone): %o", (unsigned)(st.st_mode & 07777));

	/* a symbolic link (relative, through a second link) stays a link and
	 * its target is replaced, beside the target */
	put(at("t/real/doc.md"), "old");
	CHECK(symlink("real/doc.md", at("t/link1")) == 0 && symlink("link1", at("t/link2")) == 0,
	      "symlinks");
	char *f = ocr2_path_follow(at("t/link2"));
	CHECK(f && !strcmp(f, at("t/real/doc.md")), "ocr2_path_follow: %s", f ? f : "(null)");
	free(f);
	f = ocr2_path_follow(at("t/real/doc.md"));
	CHECK(f && !strcmp(f, at("t/real/doc.md")), "ocr2_path_follow of a file: itself");
	free(f);
	CHECK(ocr2_atomic_open(&a, at("t/link2"), OCR2_ATOMIC_SHARED) == 0 &&
		      !strncmp(a.tmp, at("t/real/.doc.md.tmp."), strlen(at("t/real/.doc.md.tmp."))),
	      "the temporary beside the link's target: %s", a.tmp);
	fputs("new", a.f);
	CHECK(ocr2_atomic_commit(&a) == 0, "commit through a link");
	CHECK(lstat(at("t/link2"), &st) == 0 && S_ISLNK(st.st_mode) && lstat(at("t/link1"), &st) == 0 &&
		      S_ISLNK(st.st_mode),
	      "the links stay links");
	CHECK(ocr2_read_file(at("t/real/doc.md"), 100, OCR2_ERR_IO, &text, &n) == OCR2_OK &&
		      !strcmp(text, "new"),
	      "the target replaced");
	free(text);
	CHECK(!strcmp(listing(at("t/real")), "doc.md"), "no temporary left: %s",
	      listing(at("t/real")));
	/* a dangling link: its target is created */
	CHECK(symlink("real/new.md", at("t/dangling")) == 0, "symlink dangling");
	CHECK(ocr2_atomic_open(&a, at("t/dangling"), OCR2_ATOMIC_SHARED) == 0, "open dangling");
	fputs("made", a.f);
	CHECK(ocr2_atomic_commit(&a) == 0 && lstat(at("t/dangling"), &st) == 0 &&
		      S_ISLNK(st.st_mode) && stat(at("t/real/new.md"), &st) == 0,
	      "a dangling link's target made");

	/* a character device is written into as it is */
	CHECK(ocr2_atomic_open(&a, "/dev/null", OCR2_ATOMIC_SHARED) == 0 && a.direct,
	      "/dev/null opened directly");
	fputs("discarded", a.f);
	CHECK(ocr2_atomic_commit(&a) == 0 && stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode),
	      "/dev/null is still the device");
	/* an abort of a direct output removes nothing */
	CHECK(ocr2_atomic_open(&a, "/dev/null", OCR2_ATOMIC_SHARED) == 0, "open /dev/null");
	ocr2_atomic_abort(&a);
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "abort left /dev/null");
	/* /dev/full: the error comes back from the commit */
	if (stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)) {
		CHECK(ocr2_atomic_open(&a, "/dev/full", OCR2_ATOMIC_SHARED) == 0, "open /dev/full");
		fputs("x", a.f);
		errno = 0;
		CHECK(ocr2_atomic_commit(&a) == -1 && errno == ENOSPC, "/dev/full: ENOSPC (%s)",
		      strerror(errno));
	}

	/* a FIFO: a reader on the other side gets the bytes, the FIFO stays */
	CHECK(mkfifo(at("t/fifo"), 0600) == 0, "mkfifo");
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(at("t/fifo"), O_RDONLY);
		int out = open(at("t/from-fifo"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		char buf[64];
		ssize_t r;
		while ((r = read(fd, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)r) != r)
				_exit(1);
		_exit(0);
	}
	CHECK(ocr2_atomic_open(&a, at("t/fifo"), OCR2_ATOMIC_SHARED) == 0 && a.direct,
	      "FIFO opened directly");
	fputs("through the fifo", a.f);
	CHECK(ocr2_atomic_commit(&a) == 0, "commit into the FIFO");
	int status;
	waitpid(pid, &status, 0);
	CHECK(stat(at("t/fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO stays a FIFO");
	CHECK(ocr2_read_file(at("t/from-fifo"), 100, OCR2_ERR_IO, &text, &n) == OCR2_OK &&
		      !strcmp(text, "through the fifo"),
	      "the reader got the bytes");
	free(text);
}

static int sign(int v)
{
	return v < 0 ? -1 : v > 0;
}

static void test_natural(void)
{
	/* each list in the order ocr2_natural_cmp must give */
	static const char *const order[] = {
		"", "0", "00", "01", "1", "2", "9", "010", "10", "99", "100",
		"a", "f", "f01", "f1", "f1.png", "f1a", "f2", "f2.png", "f10", "f10.png",
		"f18446744073709551616", "f99999999999999999999", "f100000000000000000000",
		"fa", "page-2-of-10", "page-10-of-10", "x1y2", "x1y10", "x2y1",
	};
	int n = (int)(sizeof order / sizeof *order);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j;
			int got = sign(ocr2_natural_cmp(order[i], order[j]));
			CHECK(got == want, "natural_cmp(\"%s\", \"%s\") = %d, want %d", order[i],
			      order[j], got, want);
		}
}

int main(void)
{
	const char *tmpdir = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/ocr2-test-fs-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_read();
	test_paths();
	test_mkdir();
	test_atomic();
	test_read_cancel();
	test_targets();
	test_natural();
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("note: %s not removed\n", root);
	return check_done();
}
