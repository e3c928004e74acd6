/* test-readers.c - the document readers against independent references:
 * Pillow's pixels for the raster fixtures (testdata/docs/expected.txt, made by
 * make-fixtures.py), pdftocairo for PDFs, and page-selection parsing.
 *
 *   test-readers fixtures DIR          every fixture in DIR/expected.txt
 *   test-readers pagesel               page-selection syntax
 *   test-readers pdftocairo PDF DPI PAGE...   mean |ours - pdftocairo| < 1
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "check.h"
#include "ocr2.h"

static const char *status_name(ocr2_status s)
{
	switch (s) {
	case OCR2_OK: return "OK";
	case OCR2_ERR_IO: return "IO";
	case OCR2_ERR_FORMAT: return "FORMAT";
	case OCR2_ERR_ENCRYPTED: return "ENCRYPTED";
	case OCR2_ERR_TOO_LARGE: return "TOO_LARGE";
	case OCR2_ERR_EMPTY: return "EMPTY";
	case OCR2_ERR_NOMEM: return "NOMEM";
	case OCR2_ERR_INVALID: return "INVALID";
	default: return "OTHER";
	}
}

static uint8_t *read_file(const char *path, size_t *n)
{
	char *b;
	return ocr2_read_file(path, SIZE_MAX, OCR2_ERR_IO, &b, n) == OCR2_OK ? (uint8_t *)b : NULL;
}

/* Binary PPM (P6, maxval 255) as written by make-fixtures.py. */
static int read_ppm(const char *path, ocr2_image *img)
{
	size_t n;
	uint8_t *b = read_file(path, &n);
	if (!b)
		return 0;
	int w, h, mx, off = 0;
	if (sscanf((char *)b, "P6 %d %d %d%n", &w, &h, &mx, &off) != 3 || mx != 255 ||
	    (size_t)off + 1 + (size_t)w * h * 3 > n) {
		free(b);
		return 0;
	}
	img->width = w;
	img->height = h;
	img->rgb = malloc((size_t)w * h * 3);
	memcpy(img->rgb, b + off + 1, (size_t)w * h * 3);
	free(b);
	return 1;
}

/* max and mean absolute difference per channel; -1 when sizes differ */
static int compare(const ocr2_image *a, const ocr2_image *b, double *mean)
{
	if (a->width != b->width || a->height != b->height)
		return -1;
	size_t n = (size_t)a->width * a->height * 3;
	int mx = 0;
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs((int)a->rgb[i] - (int)b->rgb[i]);
		mx = d > mx ? d : mx;
		sum += d;
	}
	*mean = n ? sum / n : 0;
	return mx;
}

/* Renders a PDF page with pdftocairo and reads the PNG back. */
static int pdftocairo_page(const char *pdf, int page, double dpi, int cropbox, ocr2_image *out)
{
	const char *tmpdir = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/ocr2-test-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(tmpl))
		return 0;
	char cmd[4096], png[sizeof tmpl + 8];
	snprintf(cmd, sizeof cmd, "pdftocairo -png%s -r %g -f %d -l %d -singlefile '%s' '%s/p'",
		 cropbox ? " -cropbox" : "", dpi, page, page, pdf, tmpl);
	int ok = system(cmd) == 0;
	snprintf(png, sizeof png, "%s/p.png", tmpl);
	ocr2_doc *d = NULL;
	if (ok && ocr2_doc_open(png, NULL, &d) == OCR2_OK)
		ok = ocr2_doc_render(d, 0, out) == OCR2_OK;
	else
		ok = 0;
	ocr2_doc_free(d);
	unlink(png);
	rmdir(tmpl);
	return ok;
}

static void check_pdftocairo(const char *pdf, double dpi, int page, int cropbox, double max_mean)
{
	ocr2_doc_params p = ocr2_doc_default_params();
	p.dpi = dpi;
	ocr2_doc *d = NULL;
	ocr2_image ours = {0}, ref = {0};
	ocr2_status s = ocr2_doc_open(pdf, &p, &d);
	CHECK(s == OCR2_OK, "%s: open: %s", pdf, ocr2_errmsg());
	if (s != OCR2_OK)
		return;
	s = ocr2_doc_render(d, page - 1, &ours);
	CHECK(s == OCR2_OK, "%s: page %d: %s", pdf, page, ocr2_errmsg());
	int got = pdftocairo_page(pdf, page, dpi, cropbox, &ref);
	CHECK(got, "%s: page %d: pdftocairo failed", pdf, page);
	if (s == OCR2_OK && got) {
		double mean;
		int mx = compare(&ours, &ref, &mean);
		CHECK(mx >= 0, "%s: page %d at %g dpi: %dx%d, pdftocairo %dx%d", pdf, page, dpi,
		      ours.width, ours.height, ref.width, ref.height);
		if (mx >= 0) {
			CHECK(mean < max_mean, "%s: page %d at %g dpi: mean diff %.4f (max %d)",
			      pdf, page, dpi, mean, mx);
			printf("ok %s page %d at %g dpi: %dx%d, mean diff %.4f, max %d\n", pdf,
			       page, dpi, ours.width, ours.height, mean, mx);
		}
	}
	ocr2_image_free(&ours);
	ocr2_image_free(&ref);
	ocr2_doc_free(d);
}

/* One line of expected.txt. */
static void check_fixture(const char *dir, char *line)
{
	char *hash = strstr(line, "  #");
	if (hash)
		*hash = 0;
	char *tok[16];
	int nt = 0;
	for (char *t = strtok(line, " \t\n"); t && nt < 16; t = strtok(NULL, " \t\n"))
		tok[nt++] = t;
	if (nt < 2)
		return;
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, tok[0]);
	ocr2_doc *d = NULL;
	ocr2_status s;

	if (!strncmp(tok[1], "status=", 7)) {
		const char *want = tok[1] + 7;
		int at_open = nt > 2 && !strcmp(tok[2], "at=open");
		s = ocr2_doc_open(path, NULL, &d);
		if (s == OCR2_OK) {
			CHECK(!at_open, "%s: opened, expected %s at open", tok[0], want);
			for (int i = 0; i < ocr2_doc_page_count(d) && s == OCR2_OK; i++) {
				ocr2_image img = {0};
				s = ocr2_doc_render(d, i, &img);
				CHECK(s != OCR2_OK || !img.rgb || img.width > 0, "%s: bad image",
				      tok[0]);
				ocr2_image_free(&img);
			}
		}
		CHECK(!strcmp(status_name(s), want), "%s: got %s (%s), expected %s", tok[0],
		      status_name(s), ocr2_errmsg(), want);
		const char *m = ocr2_errmsg();
		CHECK(strstr(m, path) != NULL, "%s: message does not name the file: %s", tok[0], m);
		CHECK(!strchr(m, '\n'), "%s: message is not one line", tok[0]);
		printf("ok %s -> %s: %s\n", tok[0], status_name(s), m);
		ocr2_doc_free(d);
		return;
	}

	if (!strncmp(tok[1], "fit=", 4) && nt >= 4) {
		/* a PDF page over max_pixels at the default dpi: drawn at the
		 * largest whole dpi that fits, and ocr2_doc_render_dpi says which */
		ocr2_doc_params p = ocr2_doc_default_params();
		double want_dpi = 0;
		int w = 0, h = 0;
		p.max_pixels = atoll(tok[1] + 4);
		sscanf(tok[2], "dpi=%lf", &want_dpi);
		sscanf(tok[3], "size=%dx%d", &w, &h);
		ocr2_image img = {0};
		s = ocr2_doc_open(path, &p, &d);
		if (s == OCR2_OK)
			s = ocr2_doc_render(d, 0, &img);
		CHECK(s == OCR2_OK, "%s: %s", tok[0], ocr2_errmsg());
		CHECK(img.width == w && img.height == h, "%s: %dx%d, expected %dx%d", tok[0],
		      img.width, img.height, w, h);
		CHECK(ocr2_doc_render_dpi(d) == want_dpi, "%s: drawn at %g dpi, expected %g", tok[0],
		      ocr2_doc_render_dpi(d), want_dpi);
		CHECK((int64_t)img.width * img.height <= p.max_pixels, "%s: over the limit", tok[0]);
		printf("ok %s: %dx%d at %g dpi under %lld pixels\n", tok[0], img.width, img.height,
		       ocr2_doc_render_dpi(d), (long long)p.max_pixels);
		ocr2_image_free(&img);
		ocr2_doc_free(d);
		return;
	}

	int pages = -1;
	sscanf(tok[1], "pages=%d", &pages);
	if (tok[0][0] == '@') { /* a real document in TESTCACHE: size and mean per page */
		const char *cache = getenv("TESTCACHE");
		snprintf(path, sizeof path, "%s/%s", cache ? cache : "testdata/cache", tok[0] + 1);
		double tol = 0;
		sscanf(tok[2], "meantol=%lf", &tol);
		s = ocr2_doc_open(path, NULL, &d);
		CHECK(s == OCR2_OK, "%s: %s (run bash testdata/fetch.sh)", path, ocr2_errmsg());
		if (s != OCR2_OK)
			return;
		CHECK(ocr2_doc_page_count(d) == pages, "%s: %d pages, expected %d", path,
		      ocr2_doc_page_count(d), pages);
		for (int i = 0; i < pages && i < nt - 3; i++) {
			int w = 0, h = 0;
			double mean = -1;
			sscanf(tok[3 + i], "%dx%d:%lf", &w, &h, &mean);
			ocr2_image img = {0};
			s = ocr2_doc_render(d, i, &img);
			CHECK(s == OCR2_OK, "%s: page %d: %s", path, i + 1, ocr2_errmsg());
			if (s != OCR2_OK)
				continue;
			double sum = 0;
			size_t np = (size_t)img.width * img.height * 3;
			for (size_t k = 0; k < np; k++)
				sum += img.rgb[k];
			double m = sum / np;
			CHECK(img.width == w && img.height == h && fabs(m - mean) <= tol + 1e-4,
			      "%s: page %d: %dx%d mean %.4f, Pillow %dx%d mean %.4f", path, i + 1,
			      img.width, img.height, m, w, h, mean);
			printf("ok %s page %d: %dx%d, mean %.4f (Pillow %.4f)\n", tok[0] + 1, i + 1,
			       img.width, img.height, m, mean);
			ocr2_image_free(&img);
		}
		ocr2_doc_free(d);
		return;
	}
	if (nt > 2 && !strncmp(tok[2], "pdftocairo", 10)) {
		int cropbox = !strcmp(tok[2], "pdftocairo-cropbox");
		s = ocr2_doc_open(path, NULL, &d);
		CHECK(s == OCR2_OK && ocr2_doc_format(d) == OCR2_FMT_PDF, "%s: %s", tok[0],
		      ocr2_errmsg());
		CHECK(ocr2_doc_page_count(d) == pages, "%s: %d pages, expected %d", tok[0],
		      ocr2_doc_page_count(d), pages);
		ocr2_doc_free(d);
		/* tiny vector pages: the same poppler+cairo path, so exact up to
		 * nothing but the page size rounding this checks */
		check_pdftocairo(path, 144, 1, cropbox, 0.001);
		check_pdftocairo(path, 100, 1, cropbox, 0.001);
		return;
	}

	int max_err = 0;
	double mean_err = 0;
	sscanf(tok[2], "max=%d", &max_err);
	sscanf(tok[3], "mean=%lf", &mean_err);
	s = ocr2_doc_open(path, NULL, &d);
	CHECK(s == OCR2_OK, "%s: open: %s", tok[0], ocr2_errmsg());
	if (s != OCR2_OK)
		return;
	CHECK(ocr2_doc_page_count(d) == pages, "%s: %d pages, expected %d", tok[0],
	      ocr2_doc_page_count(d), pages);
	/* the same bytes from memory must give the same pixels */
	size_t n = 0;
	uint8_t *bytes = read_file(path, &n);
	ocr2_doc *dm = NULL;
	s = ocr2_doc_open_memory(bytes, n, tok[0], NULL, &dm);
	CHECK(s == OCR2_OK && ocr2_doc_page_count(dm) == pages, "%s: from memory: %s", tok[0],
	      ocr2_errmsg());
	free(bytes);
	for (int i = 0; i < pages && i < nt - 4; i++) {
		ocr2_image img = {0}, exp = {0}, mem = {0};
		char epath[1024];
		snprintf(epath, sizeof epath, "%s/expected/%s", dir, tok[4 + i]);
		CHECK(read_ppm(epath, &exp), "%s: cannot read", epath);
		s = ocr2_doc_render(d, i, &img);
		CHECK(s == OCR2_OK, "%s: page %d: %s", tok[0], i + 1, ocr2_errmsg());
		if (s == OCR2_OK && exp.rgb) {
			double mean;
			int mx = compare(&img, &exp, &mean);
			CHECK(mx >= 0, "%s: page %d: %dx%d, Pillow %dx%d", tok[0], i + 1, img.width,
			      img.height, exp.width, exp.height);
			if (mx >= 0) {
				CHECK(mx <= max_err && mean <= mean_err,
				      "%s: page %d: max diff %d (allowed %d), mean %.4f (allowed "
				      "%g)",
				      tok[0], i + 1, mx, max_err, mean, mean_err);
				printf("ok %s page %d: %dx%d, max diff %d, mean %.4f\n", tok[0],
				       i + 1, img.width, img.height, mx, mean);
			}
		}
		if (dm && ocr2_doc_render(dm, i, &mem) == OCR2_OK && img.rgb) {
			double mean;
			CHECK(compare(&img, &mem, &mean) == 0, "%s: page %d differs from memory",
			      tok[0], i + 1);
		}
		ocr2_image_free(&img);
		ocr2_image_free(&exp);
		ocr2_image_free(&mem);
	}
	ocr2_doc_free(dm);
	ocr2_doc_free(d);
}

static int run_fixtures(const char *dir)
{
	/* the readers must never print: everything on fd 2 is a failure */
	fflush(stderr);
	FILE *cap = tmpfile();
	int saved = dup(2);
	dup2(fileno(cap), 2);

	char path[1024], line[4096];
	snprintf(path, sizeof path, "%s/expected.txt", dir);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "%s: %s", path, strerror(errno));
	int count = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		check_fixture(dir, line);
		count++;
	}
	if (f)
		fclose(f);
	CHECK(count > 50, "only %d fixtures", count);

	/* a missing file and a directory */
	ocr2_doc *d = NULL;
	snprintf(path, sizeof path, "%s/no-such-file.png", dir);
	CHECK(ocr2_doc_open(path, NULL, &d) == OCR2_ERR_IO && !d, "missing file: %s",
	      ocr2_errmsg());
	CHECK(ocr2_doc_open(dir, NULL, &d) == OCR2_ERR_IO && !d, "directory: %s", ocr2_errmsg());
	/* max_pixels applies before decoding */
	ocr2_doc_params p = ocr2_doc_default_params();
	p.max_pixels = 1500;
	snprintf(path, sizeof path, "%s/png-rgb.png", dir);
	CHECK(ocr2_doc_open(path, &p, &d) == OCR2_ERR_TOO_LARGE, "max_pixels: %s",
	      ocr2_errmsg());
	snprintf(path, sizeof path, "%s/tiff-multi.tif", dir);
	CHECK(ocr2_doc_open(path, &p, &d) == OCR2_OK, "tiff open: %s", ocr2_errmsg());
	ocr2_image img = {0};
	CHECK(ocr2_doc_render(d, 0, &img) == OCR2_ERR_TOO_LARGE, "tiff max_pixels");
	CHECK(ocr2_doc_render(d, 2, &img) == OCR2_OK, "tiff page 3 (40x30) under the limit: %s",
	      ocr2_errmsg());
	ocr2_image_free(&img);
	CHECK(ocr2_doc_render(d, 3, &img) == OCR2_ERR_INVALID, "page out of range");
	ocr2_doc_free(d);
	ocr2_doc_free(NULL);
	ocr2_image_free(NULL);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fseek(cap, 0, SEEK_END);
	long size = ftell(cap);
	if (size != 0) {
		char buf[512] = "";
		rewind(cap);
		size_t r = fread(buf, 1, sizeof buf - 1, cap);
		buf[r] = 0;
		FAIL("the readers wrote %ld bytes to stderr: %s", size, buf);
	}
	fclose(cap);
	return count;
}

static void test_sniff(void)
{
	CHECK(ocr2_format_sniff("%PDF-1.7\n", 9) == OCR2_FMT_PDF, "pdf");
	CHECK(ocr2_format_sniff("II*\0", 4) == OCR2_FMT_TIFF, "tiff le");
	CHECK(ocr2_format_sniff("MM\0*", 4) == OCR2_FMT_TIFF, "tiff be");
	CHECK(ocr2_format_sniff("II+\0", 4) == OCR2_FMT_TIFF, "bigtiff le");
	CHECK(ocr2_format_sniff("MM\0+", 4) == OCR2_FMT_TIFF, "bigtiff be");
	CHECK(ocr2_format_sniff("\x89PNG\r\n\x1a\n", 8) == OCR2_FMT_PNG, "png");
	CHECK(ocr2_format_sniff("\x89PNG\r\n", 6) == OCR2_FMT_UNKNOWN, "short png");
	CHECK(ocr2_format_sniff("\xff\xd8\xff\xe0", 4) == OCR2_FMT_JPEG, "jpeg");
	CHECK(ocr2_format_sniff("GIF89a", 6) == OCR2_FMT_UNKNOWN, "gif");
	CHECK(ocr2_format_sniff("", 0) == OCR2_FMT_UNKNOWN, "empty");
	CHECK(ocr2_format_sniff(NULL, 5) == OCR2_FMT_UNKNOWN, "null");
	char junk[2048];
	memset(junk, 'x', sizeof junk);
	memcpy(junk + 1019, "%PDF-", 5);
	CHECK(ocr2_format_sniff(junk, sizeof junk) == OCR2_FMT_PDF, "pdf at 1019");
	memset(junk, 'x', sizeof junk);
	memcpy(junk + 1020, "%PDF-", 5);
	CHECK(ocr2_format_sniff(junk, sizeof junk) == OCR2_FMT_UNKNOWN, "pdf past 1024");
	CHECK(!strcmp(ocr2_format_name(OCR2_FMT_TIFF), "TIFF"), "name");
	CHECK(!strcmp(ocr2_format_name(OCR2_FMT_UNKNOWN), "unknown"), "name unknown");
	ocr2_doc_params p = ocr2_doc_default_params();
	CHECK(p.dpi == 144 && p.max_pixels == (int64_t)1 << 28, "defaults");
}

static void test_pagesel(void)
{
	static const struct {
		const char *spec;
		const char *in; /* pages 1..12: '1' selected */
	} good[] = {
		{"1", "100000000000"},       {"1,3-5,9-", "101110001111"},
		{"12", "000000000001"},      {"2-2", "010000000000"},
		{"5-,1", "100011111111"},    {"3,3,1-2", "111000000000"},
		{"0012", "000000000001"},    {"2147483646", "000000000000"},
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		ocr2_pagesel *s = NULL;
		ocr2_status st = ocr2_pagesel_parse(good[i].spec, &s);
		CHECK(st == OCR2_OK, "pagesel \"%s\": %s", good[i].spec, ocr2_errmsg());
		for (int pg = 1; pg <= 12 && s; pg++)
			CHECK(!!ocr2_pagesel_has(s, pg) == (good[i].in[pg - 1] == '1'),
			      "pagesel \"%s\" page %d", good[i].spec, pg);
		CHECK(!ocr2_pagesel_has(s, 0), "page 0 selected by \"%s\"", good[i].spec);
		ocr2_pagesel_free(s);
	}
	CHECK(ocr2_pagesel_has(NULL, 1) && ocr2_pagesel_has(NULL, 100000), "NULL selects all");
	static const char *bad[] = {
		"", "0", "0-3", "5-3", "1,", ",1", "1,,2", "a", "1-a", "-5", "1-2-3", "1 ,2",
		" 1", "3-0", "2147483647", "99999999999999999999", "1;2", "+1", "1.5", "1-",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ocr2_pagesel *s = (ocr2_pagesel *)1;
		ocr2_status st = ocr2_pagesel_parse(bad[i], &s);
		if (!strcmp(bad[i], "1-")) { /* open range: valid */
			CHECK(st == OCR2_OK, "\"1-\" is valid");
			ocr2_pagesel_free(s);
			continue;
		}
		CHECK(st == OCR2_ERR_INVALID && s == NULL, "pagesel \"%s\" accepted", bad[i]);
		CHECK(strstr(ocr2_errmsg(), "invalid page selection") != NULL,
		      "pagesel \"%s\": message \"%s\"", bad[i], ocr2_errmsg());
	}
	ocr2_pagesel_free(NULL);
}

int main(int argc, char **argv)
{
	check_out = stdout; /* run_fixtures watches stderr */
	if (argc >= 3 && !strcmp(argv[1], "fixtures")) {
		test_sniff();
		int n = run_fixtures(argv[2]);
		printf("%d fixtures\n", n);
	} else if (argc >= 2 && !strcmp(argv[1], "pagesel")) {
		test_pagesel();
	} else if (argc >= 5 && !strcmp(argv[1], "pdftocairo")) {
		if (access(argv[2], R_OK) != 0) {
			printf("%s missing: run bash testdata/fetch.sh\n", argv[2]);
			return 1;
		}
		for (int i = 4; i < argc; i++)
			check_pdftocairo(argv[2], atof(argv[3]), atoi(argv[i]), 0, 1.0);
	} else {
		fprintf(stderr, "usage: test-readers fixtures DIR | pagesel | pdftocairo PDF DPI PAGE...\n");
		return 2;
	}
	return check_done();
}
