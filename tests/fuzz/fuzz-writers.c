/* fuzz-writers.c - libFuzzer target: arbitrary model output through the block
 * parser into the archive writers: hOCR (checked well-formed), the searchable
 * PDF over an image page and over a PDF page, and the layout picture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/unicode.h"
#include "fuzz.h"
#include "ocr2.h"

static char pdf_path[64];     /* where every PDF is written, then removed */
static char src_path[72];     /* a one-page PDF made by the image writer */
static ocr2_doc *source;      /* ... opened */
static ocr2_image page_image; /* white, 64 x 48 */

static void cleanup(void)
{
	unlink(pdf_path);
	unlink(src_path);
	ocr2_doc_free(source);
	ocr2_image_free(&page_image);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(pdf_path, sizeof pdf_path, "%s/fuzz-writers-XXXXXX",
	         tmp && strlen(tmp) < 30 ? tmp : "/tmp");
	int fd = mkstemp(pdf_path);
	if (fd < 0)
		abort();
	close(fd);
	snprintf(src_path, sizeof src_path, "%s.src", pdf_path);
	atexit(cleanup);
	page_image.width = 64;
	page_image.height = 48;
	page_image.rgb = malloc(64 * 48 * 3);
	if (!page_image.rgb)
		abort();
	memset(page_image.rgb, 255, 64 * 48 * 3);
	ocr2_pdf *w = NULL;
	ocr2_pdf_image im = {.image = &page_image, .xdpi = 72, .ydpi = 72};
	if (ocr2_pdf_new(NULL, NULL, &w) != OCR2_OK ||
	    ocr2_pdf_add_image(w, &im, NULL) != OCR2_OK || ocr2_pdf_write(w, src_path) != OCR2_OK)
		abort();
	ocr2_pdf_free(w);
	if (ocr2_doc_open(src_path, NULL, &source) != OCR2_OK)
		abort();
	return 0;
}

/* Well-formed enough: valid UTF-8 without characters XML forbids, only the
 * writer's own tags, properly nested, '&' only in the five entities. */
static void check_xml(const char *s)
{
	size_t n = strlen(s);
	if (ocr2_utf8_check(s, n) != n)
		abort();
	char stack[64][8];
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 && c != '\n' && c != '\t')
			abort();
		if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
		    (unsigned char)s[i + 2] >= 0xBE)
			abort(); /* U+FFFE, U+FFFF */
		if (c == '>')
			abort(); /* escaped in text; tags are consumed whole below */
		if (c == '&') {
			static const char *ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
			int ok = 0;
			for (int k = 0; k < 5; k++)
				ok |= !strncmp(s + i, ent[k], strlen(ent[k]));
			if (!ok)
				abort();
		}
		if (c != '<')
			continue;
		const char *e = strchr(s + i, '>');
		if (!e || memchr(s + i + 1, '<', (size_t)(e - s - i - 1)))
			abort();
		const char *t = s + i + 1;
		size_t len = (size_t)(e - t);
		i = (size_t)(e - s);
		if (*t == '?' || *t == '!')
			continue;
		for (const char *q = t; q < e; q++)
			if (*q == '&' && strncmp(q, "&amp;", 5) && strncmp(q, "&lt;", 4) &&
			    strncmp(q, "&gt;", 4) && strncmp(q, "&quot;", 6) &&
			    strncmp(q, "&#39;", 5))
				abort();
		int closing = *t == '/';
		if (closing)
			t++, len--;
		size_t nl = 0;
		while (nl < len && t[nl] != ' ' && t[nl] != '/')
			nl++;
		static const char *names[] = {"html", "head", "title", "meta",
		                              "body", "div",  "p",     "span"};
		int known = 0;
		for (int k = 0; k < 8; k++)
			known |= strlen(names[k]) == nl && !strncmp(t, names[k], nl);
		if (!known || nl >= 8)
			abort();
		if (len && t[len - 1] == '/')
			continue; /* <meta .../> */
		if (closing) {
			if (depth == 0 || strncmp(stack[depth - 1], t, nl) || stack[depth - 1][nl])
				abort();
			depth--;
		} else {
			if (depth == 64)
				abort();
			memcpy(stack[depth], t, nl);
			stack[depth++][nl] = 0;
		}
	}
	if (depth != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	if (!s)
		return 0;
	ocr2_blocks b;
	if (ocr2_blocks_parse(s, &b) != OCR2_OK) {
		free(s);
		return 0;
	}
	/* hOCR: the input is also the document's title and the page's image name */
	ocr2_page_ocr pg = {640, 480, 144, &b};
	char *head = NULL, *page = NULL;
	if (ocr2_hocr_begin(s, &head) == OCR2_OK && ocr2_hocr_page(&pg, 1, s, &page) == OCR2_OK) {
		const char *end = ocr2_hocr_end();
		char *doc = malloc(strlen(head) + strlen(page) + strlen(end) + 1);
		if (doc) {
			strcpy(doc, head);
			strcat(doc, page);
			strcat(doc, end);
			check_xml(doc);
			free(doc);
		}
	}
	free(head);
	free(page);

	ocr2_image drawn;
	if (ocr2_draw_blocks(&page_image, &b, &drawn) == OCR2_OK)
		ocr2_image_free(&drawn);

	/* the searchable PDF: text over an image page, and over a PDF's page */
	ocr2_pdf *w = NULL;
	ocr2_pdf_image im = {.image = &page_image, .xdpi = 96, .ydpi = 96};
	ocr2_status st = ocr2_pdf_new(NULL, NULL, &w);
	if (st == OCR2_OK)
		st = ocr2_pdf_add_image(w, &im, &b);
	if (st == OCR2_OK)
		st = ocr2_pdf_write(w, pdf_path);
	ocr2_pdf_free(w);
	if (st != OCR2_OK && st != OCR2_ERR_NOMEM)
		abort();
	w = NULL;
	ocr2_page_ocr text = {64, 48, 72, &b};
	st = ocr2_pdf_new(source, NULL, &w);
	if (st == OCR2_OK)
		st = ocr2_pdf_add_text(w, 0, &text);
	if (st == OCR2_OK)
		st = ocr2_pdf_write(w, pdf_path);
	ocr2_pdf_free(w);
	if (st != OCR2_OK && st != OCR2_ERR_NOMEM)
		abort();

	ocr2_blocks_free(&b);
	free(s);
	return 0;
}
