/* test-journal.c - the page journal of ocr2 scan (cmd/scan-journal.c): what
 * its writer makes parses back to the same pages; a record cut or damaged at
 * the end is dropped as torn; damage anywhere before it, a page out of order,
 * a bad header or a bad number makes the whole journal untrusted; the file
 * is appended to, and a failed append leaves it as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan-journal.h"
#include "base/fs.h"
#include "base/sha.h"
#include "check.h"

static const char *KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static journal_page page(int n, const char *raw, const char *md)
{
	journal_page p = {.page = n, .width = 576, .height = 432, .dpi = 144, .seconds = 41.2345678901234,
			  .tokens = 12, .prompt_tokens = 267, .raw = (char *)raw, .raw_len = strlen(raw),
			  .markdown = (char *)md, .md_len = strlen(md)};
	return p;
}

/* header + p's record with the payload line "name ..." made "name value",
 * its length and sum made right again */
static char *with_field(const journal_page *p, const char *name, const char *value, size_t *len)
{
	size_t rl, hl;
	char *r = journal_record_text(p, &rl);
	char *payload = memchr(r, '\n', rl) + 1;
	size_t pl = rl - (size_t)(payload - r) - 1;
	char *out = malloc(pl + 256), *o = out;
	size_t nl = strlen(name);
	for (char *q = payload; q < payload + pl;) {
		char *e = memchr(q, '\n', (size_t)(payload + pl - q));
		size_t ll = (size_t)(e - q) + 1;
		if (ll > nl && !memcmp(q, name, nl) && q[nl] == ' ') {
			o += sprintf(o, "%s %s\n", name, value);
		} else {
			memcpy(o, q, ll);
			o += ll;
		}
		q += ll;
		if (!strncmp(q - ll, "raw ", 4) || !strncmp(q - ll, "markdown ", 9)) {
			/* the bytes of a text field and their newline: as they are */
			size_t bl = (size_t)strtoul(q - ll + (q[-ll] == 'r' ? 4 : 9), NULL, 10) + 1;
			memcpy(o, q, bl);
			o += bl;
			q += bl;
		}
	}
	size_t npl = (size_t)(o - out);
	uint8_t d[32];
	char hex[65];
	ocr2_sha256_buf(out, npl, d);
	ocr2_hex(d, 8, hex);
	char *head = journal_header_text(KEY, &hl);
	char *s = malloc(hl + npl + 128);
	memcpy(s, head, hl);
	int k = sprintf(s + hl, "page %d %zu %s\n", p->page, npl, hex);
	memcpy(s + hl + k, out, npl);
	s[hl + k + npl] = '\n';
	*len = hl + (size_t)k + npl + 1;
	free(head);
	free(out);
	free(r);
	return s;
}

/* header + the records of pages[0..n) */
static char *text(const journal_page *pages, int n, size_t *len)
{
	size_t hl;
	char *s = journal_header_text(KEY, &hl);
	*len = hl;
	for (int i = 0; i < n; i++) {
		size_t rl;
		char *r = journal_record_text(&pages[i], &rl);
		s = realloc(s, *len + rl);
		memcpy(s + *len, r, rl);
		*len += rl;
		free(r);
	}
	return s;
}

int main(void)
{
	journal_page pages[3] = {page(1, "<|ref|>title<|/ref|>\n# One", "\n# One"),
				 page(2, "two\nlines", "two\nlines"), page(5, "", "")};
	pages[1].truncated = true;
	pages[1].dpi = 0;
	pages[1].seconds = 0.1 + 0.2; /* not exact in decimal: must read back the same */
	pages[2].width = pages[2].height = 0;
	size_t n;
	char *s = text(pages, 3, &n);
	journal j;
	CHECK(journal_parse(s, n, &j) == 0 && j.n == 3 && !j.torn && j.valid == n &&
		      !strcmp(j.key, KEY),
	      "a whole journal parses");
	for (int i = 0; i < j.n && i < 3; i++) {
		const journal_page *a = &j.v[i], *b = &pages[i];
		CHECK(a->page == b->page && a->width == b->width && a->height == b->height &&
			      a->dpi == b->dpi && a->truncated == b->truncated &&
			      a->seconds == b->seconds && a->tokens == b->tokens &&
			      a->prompt_tokens == b->prompt_tokens && a->raw_len == b->raw_len &&
			      !memcmp(a->raw, b->raw, b->raw_len) && a->md_len == b->md_len &&
			      !memcmp(a->markdown, b->markdown, b->md_len),
		      "page %d reads back as written", b->page);
	}
	CHECK(journal_find(&j, 2) == &j.v[1] && journal_find(&j, 3) == NULL &&
		      journal_find(&j, 5) == &j.v[2],
	      "journal_find");
	journal_free(&j);

	/* every cut inside the last record: torn, the first two kept */
	size_t two;
	free(text(pages, 2, &two));
	for (size_t cut = two + 1; cut < n; cut++) {
		int r = journal_parse(s, cut, &j);
		CHECK(r == 0 && j.n == 2 && j.torn && j.valid == two, "cut at %zu: %d pages, torn %d", cut,
		      j.n, j.torn);
		journal_free(&j);
	}
	/* a cut header: not a journal */
	CHECK(journal_parse(s, 40, &j) == -1 && j.n == 0, "a cut header");
	/* a damaged byte in the last record: torn; in an earlier one: untrusted */
	char *d = malloc(n);
	memcpy(d, s, n);
	d[n - 3] ^= 1;
	CHECK(journal_parse(d, n, &j) == 0 && j.n == 2 && j.torn, "damage in the last record: torn");
	journal_free(&j);
	memcpy(d, s, n);
	d[two - 5] ^= 1; /* inside page 2's markdown */
	CHECK(journal_parse(d, n, &j) == -1 && j.n == 0, "damage before the last record: untrusted");
	memcpy(d, s, n);
	d[20] = 'X'; /* the key */
	CHECK(journal_parse(d, n, &j) == -1, "a bad key");
	memcpy(d, s, n);
	memcpy(d, "ocr2-journal 2", 14);
	CHECK(journal_parse(d, n, &j) == -1, "another version");
	free(d);
	/* pages out of order, or twice: untrusted */
	journal_page dup[3] = {pages[0], pages[1], pages[1]};
	char *t = text(dup, 3, &n);
	CHECK(journal_parse(t, n, &j) == -1, "a page twice");
	free(t);
	journal_page back[2] = {pages[1], pages[0]};
	t = text(back, 2, &n);
	CHECK(journal_parse(t, n, &j) == -1, "pages out of order");
	free(t);
	/* numbers and words only as the writer writes them: a record with a
	 * right sum and a bad field is damage, not a torn write */
	static const char *bad[][2] = {
		{"width", "-1"}, {"width", "01"}, {"width", "99999999999"}, {"height", ""},
		{"dpi", "nan"}, {"dpi", "inf"}, {"dpi", "-1"}, {"dpi", "0x10"}, {"dpi", "1 "},
		{"status", "done"}, {"seconds", "1e999"}, {"tokens", "+3"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *t2 = with_field(&pages[0], bad[i][0], bad[i][1], &n);
		CHECK(journal_parse(t2, n, &j) == -1, "%s '%s': untrusted", bad[i][0], bad[i][1]);
		free(t2);
	}
	/* the same helper with a good value: parses (the helper is right) */
	char *t3 = with_field(&pages[0], "width", "577", &n);
	CHECK(journal_parse(t3, n, &j) == 0 && j.n == 1 && j.v[0].width == 577, "width 577");
	journal_free(&j);
	free(t3);
	free(s);

	/* the file: a new journal, appends, a reopen that cuts a torn tail */
	const char *tmp = getenv("TMPDIR");
	char dir[200];
	snprintf(dir, sizeof dir, "%s/ocr2-test-journal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		FAIL("mkdtemp");
		return check_done();
	}
	char path[256];
	snprintf(path, sizeof path, "%s/.doc.md.ocr2-journal", dir);
	journal_file f;
	CHECK(journal_open(&f, path, KEY, NULL) == 0, "journal_open new: %s", strerror(errno));
	CHECK(journal_append(&f, &pages[0]) == 0 && journal_append(&f, &pages[1]) == 0, "append");
	journal_close(&f);
	char *buf;
	size_t len;
	CHECK(ocr2_read_file(path, 1 << 20, OCR2_ERR_IO, &buf, &len) == OCR2_OK, "read back");
	CHECK(journal_parse(buf, len, &j) == 0 && j.n == 2 && !j.torn, "the file parses");
	journal_free(&j);
	/* a torn tail, reopened: cut off, then appended after the good records */
	if (truncate(path, (off_t)len - 4) != 0)
		FAIL("truncate");
	free(buf);
	CHECK(ocr2_read_file(path, 1 << 20, OCR2_ERR_IO, &buf, &len) == OCR2_OK, "read torn");
	CHECK(journal_parse(buf, len, &j) == 0 && j.n == 1 && j.torn, "torn file");
	free(buf);
	CHECK(journal_open(&f, path, KEY, &j) == 0, "reopen");
	CHECK(journal_append(&f, &pages[2]) == 0, "append after a torn tail");
	journal_close(&f);
	journal_free(&j);
	CHECK(ocr2_read_file(path, 1 << 20, OCR2_ERR_IO, &buf, &len) == OCR2_OK, "read again");
	CHECK(journal_parse(buf, len, &j) == 0 && j.n == 2 && !j.torn && j.v[0].page == 1 &&
		      j.v[1].page == 5,
	      "pages 1 and 5 after the repair");
	journal_free(&j);
	free(buf);
	/* another key: a new journal replaces the file */
	const char *other = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
	CHECK(journal_parse("", 0, &j) == -1, "empty bytes");
	CHECK(journal_open(&f, path, other, NULL) == 0, "journal_open over an old one");
	journal_close(&f);
	CHECK(ocr2_read_file(path, 1 << 20, OCR2_ERR_IO, &buf, &len) == OCR2_OK &&
		      journal_parse(buf, len, &j) == 0 && j.n == 0 && !strcmp(j.key, other),
	      "a fresh journal with the other key");
	journal_free(&j);
	free(buf);
	/* a failed append (a file opened read-only stands for a full disk)
	 * leaves the file as it was */
	journal_file ro = {open(path, O_RDONLY), 0};
	struct stat st0, st1;
	stat(path, &st0);
	ro.size = st0.st_size;
	errno = 0;
	CHECK(journal_append(&ro, &pages[0]) == -1 && errno == EBADF, "append to a read-only fd fails");
	stat(path, &st1);
	CHECK(st1.st_size == st0.st_size, "the file as it was");
	journal_close(&ro);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		FAIL("rm");
	return check_done();
}
