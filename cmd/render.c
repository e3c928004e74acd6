/* render.c - ocr2 render: writes the pages of documents as PNG files exactly
 * as scan sees them, DIR/<name>-<page>.png, each written atomically. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "base/fs.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static const cli_opt render_opts[] = {
	{"output", 'o', "DIR|FILE.png", ARG_FILE,
	 .help = "output directory (created if missing), or the PNG file\n"
		 "to write when exactly one page is selected"},
	{"pages", 'p', "LIST", ARG_TEXT, .help = "pages to write, e.g. 1,3-5,9- (default: all)"},
	{"dpi", 'r', "N", ARG_NUM, .range = &RANGE_DPI,
	 .help = "PDF resolution in dots per inch, 1-2400 (default 144)"},
	CLI_OPT_HELP,
	CLI_OPT_END,
};

const cli_cmd cli_render = {
	.name = "render",
	.synopsis = "[-p PAGES] [-r DPI] -o DIR|FILE.png INPUT...",
	.about = "Writes every selected page of each INPUT (PDF, TIFF, PNG or JPEG; '-' reads\n"
		 "standard input) as DIR/NAME-PAGE.png: NAME is the input's file name without\n"
		 "its extension ('stdin' for '-'), PAGE is 1-based and zero-padded to the width\n"
		 "of the document's page count, as pdftoppm does (report-07.png of 12 pages).\n"
		 "-o FILE.png (a name ending in .png that is not a directory) writes the one\n"
		 "selected page there. Pixels are exactly what 'ocr2 scan' reads: PDF pages\n"
		 "drawn by poppler+cairo like 'pdftocairo -png -r DPI' (at the largest DPI\n"
		 "that fits the pixel limit, with a notice, when -r is too high for the page),\n"
		 "EXIF orientation applied, TIFF pages resampled to square pixels,\n"
		 "transparency on white.\n",
	.opts = render_opts,
	.after = "A bad input gets one line 'ocr2 render: FILE: problem' and the next input is\n"
		 "taken. Exit status: 0 all written, 1 some input or page failed, 2 usage error,\n"
		 "130 interrupted (no partial files are left).\n",
	.operands = ARG_FILE,
	.help = "write pages as PNG exactly as scan sees them",
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ocr2 render: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; see 'ocr2 render --help'\n");
	return EXIT_USAGE;
}

/* "dir/report.v2.pdf" -> "report.v2"; "-" -> "stdin"; ".hidden" stays. */
static char *stem_of(const char *path)
{
	if (!strcmp(path, "-"))
		return strdup("stdin");
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && path[b - 1] != '/')
		b--;
	char *s = strndup(path + b, n - b);
	if (!s)
		return NULL;
	char *dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = 0;
	return s;
}

static int digits(int n)
{
	int d = 1;
	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* Writes one page atomically: a hidden temporary in DIR, then rename. */
static int write_page(const ocr2_image *img, const char *dir, const char *name, const char *in)
{
	char *path = ocr2_path_join(dir, name);
	ocr2_atomic a;
	int ok = 0;
	if (!path) {
		cli_error("render", "%s: out of memory", in);
		return 0;
	}
	if (ocr2_atomic_open(&a, path, OCR2_ATOMIC_SHARED) != 0) {
		if (errno == ENOMEM)
			cli_error("render", "%s: out of memory", in);
		else
			cli_error("render", "%s: cannot write %s: %s", in, path, strerror(errno));
	} else if (ocr2_image_write_png(img, a.tmp) != OCR2_OK) {
		/* the message names the temporary; name the real output instead */
		const char *why = strstr(ocr2_errmsg(), ": cannot write: ");
		cli_error("render", "%s: cannot write %s: %s", in, path,
			  why ? why + strlen(": cannot write: ") : ocr2_errmsg());
		ocr2_atomic_abort(&a);
	} else if (ocr2_atomic_commit(&a) != 0) {
		cli_error("render", "%s: cannot write %s: %s", in, path, strerror(errno));
	} else {
		ok = 1;
	}
	free(path);
	return ok;
}

/* Says when a PDF page was drawn below -r to fit the pixel limit. */
static void dpi_notice(const ocr2_doc *d, const char *in, int page, const ocr2_doc_params *dp)
{
	double got = ocr2_doc_render_dpi(d);
	if (got > 0 && got < dp->dpi)
		cli_error("render", "notice: %s: page %d: drawn at %g dpi, the most that fits the "
			  "limit of %lld pixels (-r %g)", in, page, got, (long long)dp->max_pixels,
			  dp->dpi);
}

/* Renders one input into dir, or into file when it names the one PNG to
 * write; returns 0 when every selected page was written, 1 when one failed,
 * 2 when file was given and the selection is not one page. */
static int render_one(const char *in, const char *dir, const char *file, const ocr2_pagesel *sel,
		      const ocr2_doc_params *dp)
{
	ocr2_doc *d = NULL;
	if (ocr2_doc_open(in, dp, &d) != OCR2_OK) {
		cli_error("render", "%s", ocr2_errmsg());
		return 1;
	}
	int n = ocr2_doc_page_count(d), nsel = 0, failed = 0;
	for (int i = 1; i <= n; i++)
		nsel += ocr2_pagesel_has(sel, i) != 0;
	if (nsel == 0) {
		cli_error("render", "%s: no page selected (the document has %d page%s)", in, n,
			  n == 1 ? "" : "s");
		ocr2_doc_free(d);
		return 1;
	}
	if (file && nsel != 1) {
		cli_error("render", "%s: %d pages selected, but -o %s names one file; choose one "
			  "with -p, or give a directory", in, nsel, file);
		ocr2_doc_free(d);
		return 2;
	}
	char *stem = stem_of(in);
	if (!stem) {
		cli_error("render", "%s: out of memory", in);
		ocr2_doc_free(d);
		return 1;
	}
	size_t nlen = strlen(stem) + 32; /* "-" + up to 10 digits + ".png" */
	char *name = malloc(nlen);
	for (int i = 1; i <= n && name && !interrupted; i++) {
		if (!ocr2_pagesel_has(sel, i))
			continue;
		ocr2_image img = {0};
		if (ocr2_doc_render(d, i - 1, &img) != OCR2_OK) {
			cli_error("render", "%s", ocr2_errmsg());
			failed = 1;
			continue;
		}
		dpi_notice(d, in, i, dp);
		if (file) {
			char *fdir = ocr2_path_dir(file);
			const char *base = strrchr(file, '/');
			if (!fdir || !write_page(&img, fdir, base ? base + 1 : file, in))
				failed = 1;
			free(fdir);
		} else if (snprintf(name, nlen, "%s-%0*d.png", stem, digits(n), i) >= (int)nlen ||
			   !write_page(&img, dir, name, in)) {
			failed = 1;
		}
		ocr2_image_free(&img);
	}
	if (!name) {
		cli_error("render", "%s: out of memory", in);
		failed = 1;
	}
	free(name);
	free(stem);
	ocr2_doc_free(d);
	return failed;
}

/* -o FILE.png: a name ending in .png that is not a directory already */
static bool names_png_file(const char *o)
{
	size_t n = strlen(o);
	struct stat st;
	return n > 4 && !strcasecmp(o + n - 4, ".png") && !(stat(o, &st) == 0 && S_ISDIR(st.st_mode));
}

int cmd_render(int argc, char **argv)
{
	const char *dir = NULL, *pages = NULL;
	ocr2_doc_params dp = ocr2_doc_default_params();
	cli_parser p;
	cli_begin(&p, &cli_render, argc, argv);
	int c;
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'o': dir = p.arg; break;
		case 'p': pages = p.arg; break;
		case 'r': dp.dpi = p.x; break;
		}
	}
	if (c < 0)
		return cli_stop(c);
	optind = p.optind;
	if (!dir)
		return usage_error("%s", "an output directory is needed (-o DIR, or -o FILE.png)");
	if (optind >= argc)
		return usage_error("%s", "no input given");
	ocr2_pagesel *sel = NULL;
	if (pages && ocr2_pagesel_parse(pages, &sel) != OCR2_OK)
		return usage_error("%s", ocr2_errmsg());
	int nstdin = 0;
	for (int i = optind; i < argc; i++)
		nstdin += !strcmp(argv[i], "-");
	if (nstdin > 1) {
		ocr2_pagesel_free(sel);
		return usage_error("%s", "standard input ('-') can be read only once");
	}

	const char *file = NULL;
	if (names_png_file(dir)) {
		if (argc - optind > 1) {
			ocr2_pagesel_free(sel);
			return usage_error("-o %s names one PNG file; several inputs need a directory",
					   dir);
		}
		file = dir;
		char *fdir = ocr2_path_dir(file);
		int r = fdir ? ocr2_mkdir_p(fdir, 0777) : -1;
		if (r != 0)
			cli_error("render", "%s: cannot create directory: %s", fdir ? fdir : file,
				  strerror(errno));
		free(fdir);
		if (r != 0) {
			ocr2_pagesel_free(sel);
			return EXIT_PARTIAL;
		}
	} else {
		struct stat st;
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			cli_error("render", "%s: cannot create directory: %s", dir, strerror(errno));
			ocr2_pagesel_free(sel);
			return EXIT_PARTIAL;
		}
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			cli_error("render", "%s: not a directory", dir);
			ocr2_pagesel_free(sel);
			return EXIT_PARTIAL;
		}
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int failed = 0;
	for (int i = optind; i < argc && !interrupted; i++)
		failed |= render_one(argv[i], dir, file, sel, &dp);
	ocr2_pagesel_free(sel);
	if (interrupted)
		return EXIT_INTERRUPTED;
	return failed & 2 ? EXIT_USAGE : failed ? EXIT_PARTIAL : EXIT_OK;
}
