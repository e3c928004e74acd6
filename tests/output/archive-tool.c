/* archive-tool.c - drives the archive writers (searchable PDF, hOCR, layout
 * pictures, PDF text layers) for tests/output/test_archive.py, and unit-tests
 * the text-layer helpers they share.
 *
 *   archive-tool pdf [-r DPI] [-i IMAGE_DPI] SRC OUT.pdf|-|/dev/X [PAGE:RAW | PAGE:-]...
 *   archive-tool hocr [-r DPI] SRC OUT.hocr [PAGE:RAW | PAGE:-]...
 *   archive-tool draw [-r DPI] SRC PAGE RAW OUT.png
 *   archive-tool text SRC PAGE        prints "has_text N" and the page's text
 *   archive-tool unit                 the shared helpers (lines, rectangles, font)
 *
 * PAGE is 1-based; RAW a file of raw model output for that page, "-" a
 * failed page. PDF: pages not named pass through; image pages not named get
 * no text. hOCR: pages not named are empty.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "check.h"
#include "ocr2.h"
#include "output/output.h"

static int die(const char *what)
{
	fprintf(stderr, "archive-tool: %s: %s\n", what, ocr2_errmsg());
	return 1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	ocr2_buf b = {0};
	char tmp[65536];
	size_t r;
	while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
		ocr2_buf_add(&b, tmp, r);
	fclose(f);
	return ocr2_buf_take(&b);
}

/* The raw output named for page1 among specs, "-" for a failed page, or NULL. */
static const char *spec_for(int page1, char **specs, int n)
{
	for (int i = 0; i < n; i++) {
		char *colon = strchr(specs[i], ':');
		if (colon && atoi(specs[i]) == page1)
			return colon + 1;
	}
	return NULL;
}

/* Parses the page's raw output into *b; returns 1 when the page has blocks,
 * 0 for a failed page (or none named), -1 on error. */
static int page_blocks(const char *spec, ocr2_blocks *b)
{
	memset(b, 0, sizeof *b);
	if (!spec || !strcmp(spec, "-"))
		return 0;
	char *raw = slurp(spec);
	if (!raw) {
		fprintf(stderr, "archive-tool: %s: cannot read\n", spec);
		return -1;
	}
	ocr2_status s = ocr2_blocks_parse(raw, b);
	free(raw);
	return s == OCR2_OK ? 1 : -1;
}

static int open_doc(const char *path, double dpi, ocr2_doc **d)
{
	ocr2_doc_params p = ocr2_doc_default_params();
	if (dpi > 0)
		p.dpi = dpi;
	return ocr2_doc_open(path, &p, d) == OCR2_OK;
}

static int cmd_pdf(int argc, char **argv)
{
	double dpi = 0;
	ocr2_pdf_params pp = ocr2_pdf_default_params();
	int i = 0;
	for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1]; i += 2) {
		if (!strcmp(argv[i], "-r"))
			dpi = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "-i"))
			pp.image_dpi = atof(argv[i + 1]);
	}
	if (argc - i < 2)
		return 2;
	const char *src = argv[i], *out = argv[i + 1];
	char **specs = argv + i + 2;
	int ns = argc - i - 2;
	ocr2_doc *d;
	if (!open_doc(src, dpi, &d))
		return die("open");
	ocr2_pdf *w;
	if (ocr2_pdf_new(d, &pp, &w) != OCR2_OK) {
		ocr2_doc_free(d);
		return die("pdf_new");
	}
	int rc = 0;
	bool is_pdf = ocr2_doc_format(d) == OCR2_FMT_PDF;
	for (int p = 0; p < ocr2_doc_page_count(d) && !rc; p++) {
		const char *spec = spec_for(p + 1, specs, ns);
		if (is_pdf && !spec)
			continue; /* passes through */
		ocr2_image img;
		if (ocr2_doc_render(d, p, &img) != OCR2_OK) {
			rc = die("render");
			break;
		}
		ocr2_blocks b;
		int k = page_blocks(spec, &b);
		if (k < 0)
			rc = 1;
		else if (ocr2_pdf_add_page(w, d, p, &img, k ? &b : NULL) != OCR2_OK)
			rc = die("add_page");
		ocr2_blocks_free(&b);
		ocr2_image_free(&img);
	}
	/* "-": standard output; "/dev/...": through the descriptor too */
	if (!rc && (!strcmp(out, "-") || !strncmp(out, "/dev/", 5))) {
		int fd = strcmp(out, "-") ? open(out, O_WRONLY) : 1;
		if (fd < 0 || ocr2_pdf_write_fd(w, fd, out) != OCR2_OK)
			rc = fd < 0 ? 1 : die("write_fd");
		if (fd > 1)
			close(fd);
	} else if (!rc && ocr2_pdf_write(w, out) != OCR2_OK) {
		rc = die("write");
	}
	ocr2_pdf_free(w);
	ocr2_doc_free(d);
	return rc;
}

static int put(FILE *f, const char *s)
{
	return s && fputs(s, f) >= 0;
}

static int cmd_hocr(int argc, char **argv)
{
	double dpi = 0;
	int i = 0;
	if (argc > 2 && !strcmp(argv[0], "-r")) {
		dpi = atof(argv[1]);
		i = 2;
	}
	if (argc - i < 2)
		return 2;
	const char *src = argv[i], *out = argv[i + 1];
	char **specs = argv + i + 2;
	int ns = argc - i - 2;
	ocr2_doc *d;
	if (!open_doc(src, dpi, &d))
		return die("open");
	FILE *f = fopen(out, "wb");
	if (!f) {
		ocr2_doc_free(d);
		perror(out);
		return 1;
	}
	char *s = NULL;
	int rc = 0;
	if (ocr2_hocr_begin(src, &s) != OCR2_OK || !put(f, s))
		rc = die("hocr_begin");
	free(s);
	for (int p = 0; p < ocr2_doc_page_count(d) && !rc; p++) {
		ocr2_image img;
		if (ocr2_doc_render(d, p, &img) != OCR2_OK) {
			rc = die("render");
			break;
		}
		double xd = 0, yd = 0;
		ocr2_doc_page_dpi(d, p, &xd, &yd);
		ocr2_blocks b;
		int k = page_blocks(spec_for(p + 1, specs, ns), &b);
		ocr2_page_ocr pg = {img.width, img.height, xd, k > 0 ? &b : NULL};
		if (k < 0 || ocr2_hocr_page(&pg, p + 1, src, &s) != OCR2_OK || !put(f, s))
			rc = k < 0 ? 1 : die("hocr_page");
		free(s);
		s = NULL;
		ocr2_blocks_free(&b);
		ocr2_image_free(&img);
	}
	if (!rc && !put(f, ocr2_hocr_end()))
		rc = 1;
	if (fclose(f) != 0)
		rc = 1;
	ocr2_doc_free(d);
	return rc;
}

static int cmd_draw(int argc, char **argv)
{
	double dpi = 0;
	int i = 0;
	if (argc > 2 && !strcmp(argv[0], "-r")) {
		dpi = atof(argv[1]);
		i = 2;
	}
	if (argc - i != 4)
		return 2;
	ocr2_doc *d;
	if (!open_doc(argv[i], dpi, &d))
		return die("open");
	ocr2_image img, out;
	ocr2_blocks b;
	int rc = 0;
	if (ocr2_doc_render(d, atoi(argv[i + 1]) - 1, &img) != OCR2_OK) {
		ocr2_doc_free(d);
		return die("render");
	}
	if (page_blocks(argv[i + 2], &b) < 0)
		rc = 1;
	else if (ocr2_draw_blocks(&img, &b, &out) != OCR2_OK)
		rc = die("draw");
	else if (ocr2_image_write_png(&out, argv[i + 3]) != OCR2_OK)
		rc = die("write_png");
	if (!rc) {
		/* the colours the checker looks for, one label a line */
		for (int k = 0; k < b.n_blocks; k++) {
			uint8_t c[3];
			ocr2_label_color(b.blocks[k].label, c);
			printf("%s %d %d %d\n", b.blocks[k].label, c[0], c[1], c[2]);
		}
		ocr2_image_free(&out);
	}
	ocr2_blocks_free(&b);
	ocr2_image_free(&img);
	ocr2_doc_free(d);
	return rc;
}

static int cmd_text(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	ocr2_doc *d;
	if (!open_doc(argv[0], 0, &d))
		return die("open");
	char *t = NULL;
	int has = 0;
	int rc = ocr2_doc_page_text(d, atoi(argv[1]) - 1, &t, &has) == OCR2_OK ? 0 : die("text");
	if (!rc)
		printf("has_text %d\n%s", has, t);
	free(t);
	ocr2_doc_free(d);
	return rc;
}

/* ---- unit tests of the shared helpers ---- */

static void expect_lines(const char *label, const char *text, const char *const *want, int nw)
{
	ocr2_block b = {.label = (char *)label, .text = (char *)text};
	out_lines L;
	CHECK(out_block_lines(&b, &L) == OCR2_OK, "lines of %s", text);
	CHECK(L.n == nw, "%s: %d lines, want %d", text, L.n, nw);
	for (int i = 0; i < L.n && i < nw; i++)
		CHECK(!strcmp(L.lines[i].text, want[i]), "%s: line %d is '%s', want '%s'", text, i,
		      L.lines[i].text, want[i]);
	out_lines_free(&L);
}

static int cmd_unit(void)
{
	{
		const char *w[] = {"Title here"};
		expect_lines("title", "## Title  here\n\n", w, 1);
	}
	{
		const char *w[] = {"a b c", "1 & 2 3<4"};
		expect_lines("table",
		             "<table><tr><td>a</td><td>b</td><td>c</td></tr>"
		             "<tr><td>1 &amp; 2</td><td>3&lt;4</td></tr></table>",
		             w, 2);
	}
	{
		/* special tokens go, the text around them stays; LaTeX is its source */
		const char *w[] = {"x \\frac{a}{b} y", "tail"};
		expect_lines("text",
		             "x <|ref|>\\frac{a}{b} y<\xef\xbd\x9c"
		             "end\xe2\x96\x81of\xe2\x96\x81"
		             "sentence\xef\xbd\x9c>\n<image>tail",
		             w, 2);
	}
	{
		/* invalid UTF-8 -> U+FFFD, controls and U+FFFF out, tabs folded */
		const char *w[] = {"a\xef\xbf\xbd"
		                   "b c"};
		expect_lines("text",
		             "a\xff"
		             "b\x01\t\t\xef\xbf\xbf c",
		             w, 1);
	}
	{
		const char *w[] = {"\xf0\x9f\x98\x80 \xe4\xb8\xad"};
		expect_lines("text", "\xf0\x9f\x98\x80   \xe4\xb8\xad", w, 1);
		ocr2_block b = {.label = "text", .text = "\xf0\x9f\x98\x80   \xe4\xb8\xad"};
		out_lines L;
		out_block_lines(&b, &L);
		CHECK(L.n == 1 && L.lines[0].nchars == 3, "emoji counts as one character");
		out_lines_free(&L);
	}
	expect_lines("text", " \n\t\n", NULL, 0);
	/* rectangles: enclosing, ordered, inside the page, at least a pixel */
	{
		int bx[2][4] = {{500, 100, 100, 200}, {600, 50, 700, 60}};
		ocr2_block b = {.n_boxes = 2, .boxes = bx};
		int r[4];
		out_block_rect(&b, 1000, 2000, r);
		CHECK(r[0] == ocr2_grid_to_pixel(100, 1000) &&
		          r[1] == ocr2_grid_to_pixel(50, 2000) &&
		          r[2] == ocr2_grid_to_pixel(700, 1000) &&
		          r[3] == ocr2_grid_to_pixel(200, 2000),
		      "union rect %d %d %d %d", r[0], r[1], r[2], r[3]);
		int deg[1][4] = {{999, 999, 999, 999}};
		ocr2_block d = {.n_boxes = 1, .boxes = deg};
		out_block_rect(&d, 10, 10, r);
		CHECK(r[0] == 9 && r[2] == 10 && r[1] == 9 && r[3] == 10,
		      "degenerate rect %d %d %d %d", r[0], r[1], r[2], r[3]);
		int neg[1][4] = {{-50, -5, 2000000, 3}};
		ocr2_block n = {.n_boxes = 1, .boxes = neg};
		out_block_rect(&n, 10, 10, r);
		CHECK(r[0] == 0 && r[2] == 10 && r[1] == 0 && r[3] == 1, "clamped rect %d %d %d %d",
		      r[0], r[1], r[2], r[3]);
		ocr2_block none = {0};
		out_block_rect(&none, 30, 40, r);
		CHECK(r[0] == 0 && r[1] == 0 && r[2] == 30 && r[3] == 40, "no box: whole page");
	}
	/* the font program: table directory checksums and the whole-file sum */
	{
		ocr2_buf f = {0};
		out_glyphless_ttf(&f);
		CHECK(!f.oom && f.len > 200 && f.len % 4 == 0, "font size %zu", f.len);
		const uint8_t *p = (const uint8_t *)f.s;
		uint32_t sum = 0;
		for (size_t i = 0; i + 4 <= f.len; i += 4)
			sum += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
			       (uint32_t)p[i + 2] << 8 | p[i + 3];
		CHECK(sum == 0xB1B0AFBAu, "font checksum %08x", sum);
		CHECK(p[4] == 0 && p[5] == 10, "10 tables");
		ocr2_buf_free(&f);
	}
	/* ToUnicode: a surrogate pair beyond the BMP */
	{
		uint32_t cps[] = {'A', 0x4E2D, 0x1F600};
		ocr2_buf b = {0};
		out_tounicode_cmap(cps, 3, &b);
		CHECK(strstr(b.s, "<0001> <0041>") && strstr(b.s, "<0002> <4E2D>") &&
		          strstr(b.s, "<0003> <D83DDE00>") && strstr(b.s, "3 beginbfchar"),
		      "ToUnicode:\n%s", b.s);
		ocr2_buf_free(&b);
	}
	/* numbers never take the locale's comma */
	{
		ocr2_buf b = {0};
		ocr2_buf_num(&b, 1.5);
		ocr2_buf_byte(&b, ' ');
		ocr2_buf_num(&b, -0.0004);
		ocr2_buf_byte(&b, ' ');
		ocr2_buf_num(&b, 612.25);
		ocr2_buf_byte(&b, ' ');
		ocr2_buf_num(&b, -3.1);
		CHECK(!strcmp(b.s, "1.5 0 612.25 -3.1"), "numbers '%s'", b.s);
		ocr2_buf_free(&b);
	}
	/* hOCR with hostile text stays escaped */
	{
		int bx[1][4] = {{0, 0, 999, 999}};
		ocr2_block blk = {.label = "te\"xt<&",
		                  .n_boxes = 1,
		                  .boxes = bx,
		                  .text = "<b>&amp; \"q\" 'a' \x01"};
		ocr2_blocks bs = {.blocks = &blk, .n_blocks = 1};
		ocr2_page_ocr pg = {100, 50, 0, &bs};
		char *s = NULL;
		CHECK(ocr2_hocr_page(&pg, 1, "a\"b&c.png", &s) == OCR2_OK, "hocr page");
		CHECK(s && strstr(s, "&lt;b&gt;&amp;amp;") && strstr(s, "&quot;q&quot;") &&
		          strstr(s, "x_label te_xt__") && strstr(s, "image \\&quot;") == NULL &&
		          strstr(s, "image &quot;a\\&quot;b&amp;c.png&quot;"),
		      "escaping:\n%s", s);
		free(s);
	}
	return check_done();
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *c = argv[1];
	if (!strcmp(c, "pdf"))
		return cmd_pdf(argc - 2, argv + 2);
	if (!strcmp(c, "hocr"))
		return cmd_hocr(argc - 2, argv + 2);
	if (!strcmp(c, "draw"))
		return cmd_draw(argc - 2, argv + 2);
	if (!strcmp(c, "text"))
		return cmd_text(argc - 2, argv + 2);
	if (!strcmp(c, "unit"))
		return cmd_unit();
	return 2;
}
