/* scan-journal.h - the page journal of ocr2 scan (cmd/scan-journal.c): the
 * finished pages of a document whose output is not written yet, kept beside
 * that output so that a re-run computes only the pages still missing.
 *
 * The file, ".NAME.ocr2-journal" beside the output NAME, is a header line
 *
 *     ocr2-journal 1 KEY\n                  KEY: 64 hex digits (see scan.c)
 *
 * then one record per finished page, appended and fsync'd when the page is
 * done, in increasing page order:
 *
 *     page N LEN SUM\n PAYLOAD \n           SUM: the first 16 hex digits of
 *                                           the SHA-256 of the LEN bytes of
 *                                           PAYLOAD
 *
 * PAYLOAD holds, in this order, what the writers print for the page:
 *
 *     width W\n height H\n dpi D\n status ok|truncated\n seconds S\n
 *     tokens T\n prompt_tokens P\n raw LEN\n BYTES\n markdown LEN\n BYTES\n
 *
 * (D and S as "%.17g", so that they read back as the same doubles; the
 * strings as their bytes, whatever they hold). A crash can only cut the last
 * record: a record cut short, or whose sum is wrong, at the end of the file is
 * dropped (torn); anything else that does not parse makes the whole journal
 * untrusted. This parser takes arbitrary bytes (tests/fuzz/fuzz-journal.c). */
#ifndef OCR2_CMD_SCAN_JOURNAL_H
#define OCR2_CMD_SCAN_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JOURNAL_KEY_LEN 64

typedef struct {
	int page;               /* 1-based */
	int width, height;
	double dpi;             /* 0 for raster inputs */
	bool truncated;         /* else ok: failed pages are not journaled */
	double seconds;
	int tokens, prompt_tokens;
	char *raw;              /* NUL-terminated; raw_len bytes (may hold NULs) */
	size_t raw_len;
	char *markdown;
	size_t md_len;
} journal_page;

typedef struct {
	char key[JOURNAL_KEY_LEN + 1];
	journal_page *v;        /* increasing page numbers */
	int n, cap;
	size_t valid;           /* bytes of the header and the whole records */
	bool torn;              /* a cut or damaged last record was dropped */
} journal;

/* Parses a journal's bytes into j (zeroed first). Returns 0, or -1 when the
 * bytes are not a journal or are damaged before their last record (j is then
 * empty); out of memory is -1 too. */
int journal_parse(const char *buf, size_t n, journal *j);
void journal_free(journal *j);
/* The record of page, or NULL. */
const journal_page *journal_find(const journal *j, int page);

/* The header line and a page's record, malloc'd (NULL when out of memory). */
char *journal_header_text(const char *key, size_t *len);
char *journal_record_text(const journal_page *p, size_t *len);

/* An open journal file, appended to. */
typedef struct {
	int fd;
	off_t size;
} journal_file;

/* Starts the journal at path: a new one holding only the header (written
 * whole: temporary, fsync, rename), or, when j is a parsed journal of the
 * same key, that file with a torn tail cut off. Returns 0, or -1 with errno. */
int journal_open(journal_file *f, const char *path, const char *key, const journal *j);
/* Appends a page's record and fsyncs it. Returns 0, or -1 with errno and
 * the file as it was (a partly written record cut off). */
int journal_append(journal_file *f, const journal_page *p);
void journal_close(journal_file *f);

#endif
