/* fs.c - the file-system utilities of every room: whole-file reads, path
 * joins, mkdir -p and atomic output. Each exists once; callers never
 * open-code them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"

/* ---- whole files ------------------------------------------------------------ */

/* Waits until fd has bytes (or its end) to read, in steps of 100 ms that
 * look at *cancel; false when it was raised. */
static bool wait_readable(int fd, volatile int *cancel)
{
	struct pollfd p = {fd, POLLIN, 0};
	while (!*cancel) {
		int r = poll(&p, 1, 100);
		if (r > 0 || (r < 0 && errno != EINTR))
			return !*cancel; /* the read itself reports an error */
	}
	return false;
}

int ocr2_read_fd(int fd, size_t max, char **out, size_t *len)
{
	return ocr2_read_fd_cancel(fd, max, NULL, out, len);
}

int ocr2_read_fd_cancel(int fd, size_t max, volatile int *cancel, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	size_t cap = 8192, n = 0;
	struct stat st;
	off_t at = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (at = lseek(fd, 0, SEEK_CUR)) >= 0 &&
	    st.st_size > at) {
		uint64_t left = (uint64_t)(st.st_size - at);
		if (left > max) { /* known before reading a byte */
			errno = EFBIG;
			return -1;
		}
		cap = (size_t)left + 1; /* a byte more: the end is seen without growing */
	}
	if (max < SIZE_MAX && cap > max + 1)
		cap = max + 1; /* enough to tell "more than max" */
	char *buf = malloc(cap + 1); /* + the terminating NUL */
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if (n == cap) {
			if (n > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			size_t nc = cap < SIZE_MAX / 4 ? cap * 2 : SIZE_MAX / 2;
			if (max < SIZE_MAX && nc > max + 1)
				nc = max + 1;
			char *nb = nc > cap ? realloc(buf, nc + 1) : NULL;
			if (!nb) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
			cap = nc;
		}
		ssize_t r = cancel && !wait_readable(fd, cancel) ? (errno = EINTR, -1)
								 : read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR && !(cancel && *cancel))
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

ocr2_status ocr2_read_file(const char *path, size_t max, ocr2_status err, char **out,
			   size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ocr2_fail(err, "%s: cannot open: %s", path, strerror(errno));
	int r = ocr2_read_fd(fd, max, out, len);
	int e = errno;
	close(fd);
	if (r == 0)
		return OCR2_OK;
	if (e == ENOMEM)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	if (e == EFBIG)
		return ocr2_fail(err, "%s: file too large", path);
	return ocr2_fail(err, "%s: read error", path);
}

/* ---- paths and directories ---------------------------------------------------- */

char *ocr2_path_join(const char *dir, const char *name)
{
	size_t nd = strlen(dir), nn = strlen(name);
	char *s = malloc(nd + nn + 2);
	if (!s)
		return NULL;
	memcpy(s, dir, nd);
	size_t k = nd;
	if (!nd || dir[nd - 1] != '/')
		s[k++] = '/';
	memcpy(s + k, name, nn + 1);
	return s;
}

char *ocr2_path_dir(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		return strdup(".");
	return strndup(path, s == path ? 1 : (size_t)(s - path));
}

char *ocr2_path_follow(const char *path)
{
	char *cur = strdup(path);
	for (int hop = 0; cur && hop < 40; hop++) {
		struct stat st;
		char to[PATH_MAX];
		ssize_t n;
		if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode) ||
		    (n = readlink(cur, to, sizeof to - 1)) < 0)
			break;
		to[n] = 0;
		char *d = to[0] == '/' ? NULL : ocr2_path_dir(cur);
		char *next = to[0] == '/' || (d && !strcmp(d, ".")) ? strdup(to)
				: d ? ocr2_path_join(d, to) : NULL;
		free(d);
		free(cur);
		cur = next;
	}
	return cur;
}

int ocr2_mkdir_p(const char *path, mode_t mode)
{
	if (!*path) {
		errno = ENOENT; /* as mkdir("") */
		return -1;
	}
	char *p = strdup(path);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	/* each prefix that ends before a slash, then the whole ("a/" of "a//b"
	 * exists by then) */
	for (char *s = p + 1;; s++) {
		bool end = *s == 0;
		if (end || *s == '/') {
			*s = 0;
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				int e = errno;
				free(p);
				errno = e;
				return -1;
			}
			if (end)
				break;
			*s = '/';
		}
	}
	free(p);
	return 0;
}

int ocr2_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	fsync(fd); /* some file systems refuse; the rename is what matters */
	close(fd);
	return 0;
}

/* ---- atomic output ------------------------------------------------------------ */

/* ".NAME.tmp" (NAME keeps its own leading dot) beside final, with room for
 * ".XXXXXX" after it; *n is its length. */
static char *tmp_name(const char *final, size_t *n)
{
	const char *base = strrchr(final, '/');
	size_t nd = base ? (size_t)(base - final) + 1 : 0;
	base = base ? base + 1 : final;
	size_t cap = strlen(final) + 16;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	*n = (size_t)snprintf(t, cap, "%.*s%s%s.tmp", (int)nd, final, *base == '.' ? "" : ".",
			      base);
	return t;
}

char *ocr2_atomic_tmp_path(const char *final)
{
	size_t n;
	return tmp_name(final, &n);
}

/* Six characters that make the name unique, tried until one is free: the
 * kernel then applies the umask to 0666 itself (mkstemp makes 0600 and the
 * umask can only be read by changing it, which races with other threads). */
static int open_unique(char *t, size_t n)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		     ((uint64_t)getpid() << 20);
	for (int attempt = 0; attempt < 1000; attempt++) {
		v += (uint64_t)__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) *
		     0x9E3779B97F4A7C15ull;
		uint64_t x = v ^ (v >> 29);
		t[n] = '.';
		for (int i = 0; i < 6; i++, x /= 62)
			t[n + 1 + i] = chars[x % 62];
		t[n + 7] = 0;
		int fd = open(t, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* A FIFO, a terminal or another device named as the output is written into
 * as it is: nothing can be renamed over it, and the reader is on the other side. */
static int open_direct(ocr2_atomic *a, char *fin)
{
	int fd = open(fin, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		free(fin);
		errno = e;
		return -1;
	}
	a->f = f;
	a->tmp = fin; /* writers that open by name write into it too */
	a->final = strdup(fin);
	a->direct = 1;
	if (!a->final) {
		fclose(f);
		free(fin);
		memset(a, 0, sizeof *a);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int ocr2_atomic_open(ocr2_atomic *a, const char *final, ocr2_atomic_kind kind)
{
	memset(a, 0, sizeof *a);
	size_t n = 0;
	struct stat old;
	bool replaces = stat(final, &old) == 0;
	if (replaces && !S_ISREG(old.st_mode) && !S_ISDIR(old.st_mode)) {
		/* opened by the name given: /dev/stdout's links lead to names
		 * such as "pipe:[1234]" that only open() itself follows */
		char *fin = strdup(final);
		if (!fin) {
			errno = ENOMEM;
			return -1;
		}
		return open_direct(a, fin);
	}
	char *fin = ocr2_path_follow(final);
	char *t = fin ? tmp_name(fin, &n) : NULL;
	if (!t || !fin) {
		free(t);
		free(fin);
		errno = ENOMEM;
		return -1;
	}
	int fd = kind == OCR2_ATOMIC_ALONE ? open(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)
					   : open_unique(t, n);
	if (fd >= 0 && replaces && S_ISREG(old.st_mode)) {
		/* the file it replaces keeps its owner (where allowed) and mode;
		 * chown first: it clears the set-id bits */
		if (fchown(fd, old.st_uid, old.st_gid) != 0 && fchown(fd, (uid_t)-1, old.st_gid) != 0) {
			/* not ours to give away: the new file is the caller's */
		}
		fchmod(fd, old.st_mode & 07777);
	}
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(t);
		}
		free(t);
		free(fin);
		errno = e;
		return -1;
	}
	a->f = f;
	a->tmp = t;
	a->final = fin;
	return 0;
}

int ocr2_atomic_sync(ocr2_atomic *a)
{
	if (!a->f)
		return 0;
	int e = 0;
	errno = 0;
	if (fflush(a->f) != 0 || ferror(a->f) || (!a->direct && fsync(fileno(a->f)) != 0))
		e = errno ? errno : EIO;
	if (fclose(a->f) != 0 && !e)
		e = errno ? errno : EIO;
	a->f = NULL;
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

static void release(ocr2_atomic *a)
{
	free(a->tmp);
	free(a->final);
	memset(a, 0, sizeof *a);
}

int ocr2_atomic_commit(ocr2_atomic *a)
{
	if (!a->tmp) {
		errno = EINVAL;
		return -1;
	}
	if (a->direct) {
		int r = ocr2_atomic_sync(a);
		int e = errno;
		release(a);
		errno = e;
		return r;
	}
	if (ocr2_atomic_sync(a) != 0 || rename(a->tmp, a->final) != 0) {
		ocr2_atomic_abort(a);
		return -1;
	}
	char *d = ocr2_path_dir(a->final);
	if (d)
		ocr2_fsync_dir(d);
	free(d);
	release(a);
	return 0;
}

void ocr2_atomic_abort(ocr2_atomic *a)
{
	int e = errno;
	if (a->f)
		fclose(a->f);
	if (a->tmp && !a->direct)
		unlink(a->tmp);
	release(a);
	errno = e;
}

void ocr2_atomic_remove_stale(const char *final)
{
	size_t n = 0;
	char *fin = ocr2_path_follow(final);
	char *t = fin ? tmp_name(fin, &n) : NULL;
	char *d = fin ? ocr2_path_dir(fin) : NULL;
	free(fin);
	DIR *dir = t && d ? opendir(d) : NULL;
	if (dir) {
		const char *base = strrchr(t, '/');
		base = base ? base + 1 : t;
		size_t bl = strlen(base);
		struct dirent *e;
		while ((e = readdir(dir))) {
			const char *name = e->d_name;
			if (!strncmp(name, base, bl) && name[bl] == '.' &&
			    strlen(name + bl + 1) == 6) {
				char *p = ocr2_path_join(d, name);
				if (p)
					unlink(p);
				free(p);
			}
		}
		closedir(dir);
	}
	free(d);
	free(t);
}

/* ---- natural order ------------------------------------------------------------ */

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

int ocr2_natural_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
	while (*p && *q) {
		if (is_digit(*p) && is_digit(*q)) {
			/* numeric value: skip leading zeros, then the longer run is
			 * larger, and equal lengths compare digit by digit */
			while (*p == '0')
				p++;
			while (*q == '0')
				q++;
			size_t n = 0, m = 0;
			while (is_digit(p[n]))
				n++;
			while (is_digit(q[m]))
				m++;
			if (n != m)
				return n < m ? -1 : 1;
			int c = memcmp(p, q, n);
			if (c)
				return c < 0 ? -1 : 1;
			p += n;
			q += m;
			continue;
		}
		if (*p != *q)
			return *p < *q ? -1 : 1;
		p++;
		q++;
	}
	if (*p || *q)
		return *p ? 1 : -1;
	/* equal but for leading zeros: byte order decides */
	int c = strcmp(a, b);
	return c < 0 ? -1 : c > 0;
}
