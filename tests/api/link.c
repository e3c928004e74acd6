/* link.c - a program that uses libocr2 as an installed library is used: only
 * ocr2.h, linked against the installable libocr2.a (tests/api/meson.build).
 * It also defines names the library uses internally; with them hidden in the
 * archive they cannot clash (with the internal archive this link fails with
 * "multiple definition of `json_parse'"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocr2.h"

/* the application's own json_parse and dec_load, nothing to do with ocr2's */
int json_parse(const char *s);
int dec_load(void);

int json_parse(const char *s)
{
	return s ? (int)strlen(s) : -1;
}

int dec_load(void)
{
	return 7;
}

int main(void)
{
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	const char *v = ocr2_version();
	ocr2_format f = ocr2_format_sniff(png, sizeof png);
	char *md = NULL;
	ocr2_status st = ocr2_markdown_from_raw("<|ref|>title<|/ref|><|det|>[[1,2,3,4]]<|/det|>\nHello",
						0, NULL, &md);
	if (!v || !*v || f != OCR2_FMT_PNG || st != OCR2_OK || !md || !strstr(md, "Hello") ||
	    json_parse("abc") != 3 || dec_load() != 7) {
		fprintf(stderr, "link: version '%s', format %s, markdown %d '%s'\n", v ? v : "(null)",
			ocr2_format_name(f), (int)st, md ? md : "(null)");
		free(md);
		return 1;
	}
	printf("ocr2 %s: %s sniffed, markdown %zu bytes\n", v, ocr2_format_name(f), strlen(md));
	free(md);
	ocr2_tokenizer *t = NULL; /* a failing call and its per-thread message */
	if (ocr2_tokenizer_load("/nonexistent/tokenizer.json", &t) == OCR2_OK || !*ocr2_errmsg()) {
		fprintf(stderr, "link: loading a missing tokenizer did not fail\n");
		return 1;
	}
	printf("errmsg: %s\n", ocr2_errmsg());
	return 0;
}
