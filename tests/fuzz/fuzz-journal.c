/* fuzz-journal.c - libFuzzer target: ocr2 scan's page journal parser
 * (cmd/scan-journal.c) on arbitrary bytes. What parses must write back to the
 * same records: each record's text, parsed again, gives the same page. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan-journal.h"

static void same(const journal_page *a, const journal_page *b)
{
	if (a->page != b->page || a->width != b->width || a->height != b->height ||
	    a->dpi != b->dpi || a->truncated != b->truncated || a->seconds != b->seconds ||
	    a->tokens != b->tokens || a->prompt_tokens != b->prompt_tokens ||
	    a->raw_len != b->raw_len || memcmp(a->raw, b->raw, a->raw_len) ||
	    a->md_len != b->md_len || memcmp(a->markdown, b->markdown, a->md_len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	journal j;
	if (journal_parse((const char *)data, size, &j) != 0)
		return 0;
	if (j.valid > size)
		abort();
	for (int i = 0; i < j.n; i++)
		if (journal_find(&j, j.v[i].page) != &j.v[i])
			abort();
	/* the header and the records written again parse to the same journal */
	size_t hl;
	char *h = journal_header_text(j.key, &hl);
	size_t n = hl, cap = hl + 1;
	char *buf = malloc(cap);
	memcpy(buf, h, hl);
	free(h);
	for (int i = 0; i < j.n; i++) {
		size_t rl;
		char *r = journal_record_text(&j.v[i], &rl);
		if (n + rl + 1 > cap) {
			cap = (n + rl + 1) * 2;
			buf = realloc(buf, cap);
		}
		memcpy(buf + n, r, rl);
		n += rl;
		free(r);
	}
	journal k;
	if (journal_parse(buf, n, &k) != 0 || k.n != j.n || k.torn || k.valid != n ||
	    strcmp(k.key, j.key))
		abort();
	for (int i = 0; i < j.n; i++)
		same(&j.v[i], &k.v[i]);
	journal_free(&k);
	journal_free(&j);
	free(buf);
	return 0;
}
