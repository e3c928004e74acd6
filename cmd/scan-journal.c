/* scan-journal.c - the page journal of ocr2 scan: its parser, which trusts
 * nothing it reads, the text of its header and records, and the file that
 * records are appended to (format: scan-journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan-journal.h"
#include "base/fs.h"
#include "base/sha.h"

#define MAGIC "ocr2-journal 1 "
#define MAX_FIELD ((size_t)1 << 30) /* no page's text comes near a GiB */

/* ---- parsing ------------------------------------------------------------- */

typedef struct {
	const char *p, *end;
} cursor;

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A decimal number without sign or leading zeros (0 itself allowed), at most
 * max, up to the byte `stop`, which is consumed. */
static bool take_uint(cursor *c, char stop, uint64_t max, uint64_t *out)
{
	const char *p = c->p;
	uint64_t v = 0;
	int digits = 0;
	while (p < c->end && *p >= '0' && *p <= '9') {
		if (digits == 1 && v == 0)
			return false; /* a leading zero */
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return false;
		p++;
		digits++;
	}
	if (!digits || p >= c->end || *p != stop)
		return false;
	c->p = p + 1;
	*out = v;
	return true;
}

/* "NAME " then what follows up to '\n' */
static bool take_name(cursor *c, const char *name)
{
	size_t n = strlen(name);
	if ((size_t)(c->end - c->p) < n + 1 || memcmp(c->p, name, n) || c->p[n] != ' ')
		return false;
	c->p += n + 1;
	return true;
}

static bool take_int_field(cursor *c, const char *name, int *out)
{
	uint64_t v;
	if (!take_name(c, name) || !take_uint(c, '\n', INT32_MAX, &v))
		return false;
	*out = (int)v;
	return true;
}

/* A finite double >= 0 as "%.17g" writes it, up to '\n'. */
static bool take_double_field(cursor *c, const char *name, double *out)
{
	if (!take_name(c, name))
		return false;
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (!nl || nl == c->p || nl - c->p > 40)
		return false;
	char buf[48];
	size_t n = (size_t)(nl - c->p);
	memcpy(buf, c->p, n);
	buf[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789.e+-", buf[i]))
			return false; /* no "inf", "nan", hex floats or spaces */
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (errno || *end || !isfinite(v) || v < 0)
		return false;
	*out = v;
	c->p = nl + 1;
	return true;
}

/* "NAME LEN\n" then LEN bytes and '\n', copied NUL-terminated */
static bool take_bytes_field(cursor *c, const char *name, char **out, size_t *len)
{
	uint64_t n;
	if (!take_name(c, name) || !take_uint(c, '\n', MAX_FIELD, &n) ||
	    (uint64_t)(c->end - c->p) < n + 1 || c->p[n] != '\n')
		return false;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return false;
	memcpy(s, c->p, (size_t)n);
	s[n] = 0;
	*out = s;
	*len = (size_t)n;
	c->p += n + 1;
	return true;
}

static void page_free(journal_page *p)
{
	free(p->raw);
	free(p->markdown);
	memset(p, 0, sizeof *p);
}

static bool parse_payload(const char *buf, size_t n, journal_page *p)
{
	cursor c = {buf, buf + n};
	const char *status_end;
	if (!take_int_field(&c, "width", &p->width) || !take_int_field(&c, "height", &p->height) ||
	    !take_double_field(&c, "dpi", &p->dpi) || !take_name(&c, "status") ||
	    !(status_end = memchr(c.p, '\n', (size_t)(c.end - c.p))))
		return false;
	size_t sl = (size_t)(status_end - c.p);
	if (sl == 2 && !memcmp(c.p, "ok", 2))
		p->truncated = false;
	else if (sl == 9 && !memcmp(c.p, "truncated", 9))
		p->truncated = true;
	else
		return false;
	c.p = status_end + 1;
	if (!take_double_field(&c, "seconds", &p->seconds) ||
	    !take_int_field(&c, "tokens", &p->tokens) ||
	    !take_int_field(&c, "prompt_tokens", &p->prompt_tokens) ||
	    !take_bytes_field(&c, "raw", &p->raw, &p->raw_len) ||
	    !take_bytes_field(&c, "markdown", &p->markdown, &p->md_len))
		return false;
	return c.p == c.end;
}

static void sum_hex(const char *data, size_t n, char out[17])
{
	uint8_t d[32];
	ocr2_sha256_buf(data, n, d);
	ocr2_hex(d, 8, out);
}

static bool push(journal *j, const journal_page *p)
{
	if (j->n == j->cap) {
		int cap = j->cap ? j->cap * 2 : 16;
		journal_page *v = realloc(j->v, sizeof *v * (size_t)cap);
		if (!v)
			return false;
		j->v = v;
		j->cap = cap;
	}
	j->v[j->n++] = *p;
	return true;
}

/* One record at c. 1: taken; 0: torn (the rest of the file is dropped);
 * -1: damaged or out of memory. */
static int parse_record(cursor *c, journal *j)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (!nl)
		return 0; /* the header line itself was cut */
	uint64_t page, len;
	if ((size_t)(c->end - c->p) < 5 || memcmp(c->p, "page ", 5))
		return -1;
	c->p += 5;
	if (!take_uint(c, ' ', INT32_MAX, &page) || page < 1 ||
	    !take_uint(c, ' ', MAX_FIELD, &len) || nl - c->p != 16)
		return -1;
	for (int i = 0; i < 16; i++)
		if (!is_hex(c->p[i]))
			return -1;
	char want[17];
	memcpy(want, c->p, 16);
	want[16] = 0;
	c->p = nl + 1;
	if ((uint64_t)(c->end - c->p) < len + 1)
		return 0; /* cut short */
	char got[17];
	sum_hex(c->p, (size_t)len, got);
	bool last = (uint64_t)(c->end - c->p) == len + 1;
	if (memcmp(got, want, 16) || c->p[len] != '\n')
		return last ? 0 : -1; /* a torn last write, or damage */
	if (j->n && (int)page <= j->v[j->n - 1].page)
		return -1; /* pages are journaled in order, each once */
	journal_page p;
	memset(&p, 0, sizeof p);
	p.page = (int)page;
	if (!parse_payload(c->p, (size_t)len, &p) || !push(j, &p)) {
		page_free(&p);
		return -1;
	}
	c->p += len + 1;
	return 1;
}

int journal_parse(const char *buf, size_t n, journal *j)
{
	memset(j, 0, sizeof *j);
	size_t hl = strlen(MAGIC) + JOURNAL_KEY_LEN + 1;
	if (n < hl || memcmp(buf, MAGIC, strlen(MAGIC)) || buf[hl - 1] != '\n')
		return -1;
	for (size_t i = 0; i < JOURNAL_KEY_LEN; i++)
		if (!is_hex(buf[strlen(MAGIC) + i]))
			return -1;
	memcpy(j->key, buf + strlen(MAGIC), JOURNAL_KEY_LEN);
	j->key[JOURNAL_KEY_LEN] = 0;
	cursor c = {buf + hl, buf + n};
	j->valid = hl;
	while (c.p < c.end) {
		int r = parse_record(&c, j);
		if (r < 0) {
			journal_free(j);
			return -1;
		}
		if (r == 0) {
			j->torn = true;
			break;
		}
		j->valid = (size_t)(c.p - buf);
	}
	return 0;
}

void journal_free(journal *j)
{
	for (int i = 0; i < j->n; i++)
		page_free(&j->v[i]);
	free(j->v);
	memset(j, 0, sizeof *j);
}

const journal_page *journal_find(const journal *j, int page)
{
	int lo = 0, hi = j->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (j->v[mid].page == page)
			return &j->v[mid];
		if (j->v[mid].page < page)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* ---- the text ------------------------------------------------------------ */

char *journal_header_text(const char *key, size_t *len)
{
	size_t n = strlen(MAGIC) + JOURNAL_KEY_LEN + 1;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	snprintf(s, n + 1, "%s%.*s\n", MAGIC, JOURNAL_KEY_LEN, key);
	*len = n;
	return s;
}

char *journal_record_text(const journal_page *p, size_t *len)
{
	char head[512];
	int hn = snprintf(head, sizeof head,
			  "width %d\nheight %d\ndpi %.17g\nstatus %s\nseconds %.17g\ntokens %d\n"
			  "prompt_tokens %d\nraw %zu\n",
			  p->width, p->height, p->dpi, p->truncated ? "truncated" : "ok", p->seconds,
			  p->tokens, p->prompt_tokens, p->raw_len);
	char mid[64];
	int mn = snprintf(mid, sizeof mid, "\nmarkdown %zu\n", p->md_len);
	size_t pl = (size_t)hn + p->raw_len + (size_t)mn + p->md_len + 1;
	char *payload = malloc(pl);
	if (!payload)
		return NULL;
	size_t k = 0;
	memcpy(payload, head, (size_t)hn);
	k += (size_t)hn;
	if (p->raw_len)
		memcpy(payload + k, p->raw, p->raw_len);
	k += p->raw_len;
	memcpy(payload + k, mid, (size_t)mn);
	k += (size_t)mn;
	if (p->md_len)
		memcpy(payload + k, p->markdown, p->md_len);
	k += p->md_len;
	payload[k++] = '\n';
	char sum[17];
	sum_hex(payload, pl, sum);
	char line[96];
	int ln = snprintf(line, sizeof line, "page %d %zu %s\n", p->page, pl, sum);
	char *s = malloc((size_t)ln + pl + 1);
	if (s) {
		memcpy(s, line, (size_t)ln);
		memcpy(s + ln, payload, pl);
		s[(size_t)ln + pl] = '\n';
		*len = (size_t)ln + pl + 1;
	}
	free(payload);
	return s;
}

/* ---- the file ------------------------------------------------------------ */

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int journal_open(journal_file *f, const char *path, const char *key, const journal *j)
{
	f->fd = -1;
	f->size = 0;
	if (j && !strcmp(j->key, key)) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd >= 0 && (!j->torn || (ftruncate(fd, (off_t)j->valid) == 0 && fdatasync(fd) == 0))) {
			f->fd = fd;
			f->size = (off_t)j->valid;
			return 0;
		}
		if (fd >= 0) {
			int e = errno;
			close(fd);
			errno = e;
		}
		return -1;
	}
	/* a new one: the header appears whole or not at all */
	size_t hl;
	char *h = journal_header_text(key, &hl);
	if (!h) {
		errno = ENOMEM;
		return -1;
	}
	ocr2_atomic a;
	int r = ocr2_atomic_open(&a, path, OCR2_ATOMIC_SHARED);
	if (r == 0) {
		fwrite(h, 1, hl, a.f);
		r = ocr2_atomic_commit(&a);
	}
	free(h);
	if (r != 0)
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	f->fd = fd;
	f->size = (off_t)hl;
	return 0;
}

int journal_append(journal_file *f, const journal_page *p)
{
	size_t n;
	char *s = journal_record_text(p, &n);
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	int r = write_all(f->fd, s, n);
	if (r == 0)
		r = fdatasync(f->fd);
	free(s);
	if (r != 0) {
		int e = errno;
		if (ftruncate(f->fd, f->size) != 0) {
			/* then the parser drops the cut record as torn */
		}
		errno = e;
		return -1;
	}
	f->size += (off_t)n;
	return 0;
}

void journal_close(journal_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
