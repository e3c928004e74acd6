/* render.c - ocr2 render: writes the pages of documents as PNG files exactly
 * as scan sees them, DIR/<name>-<page>.png, each written atomically. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "base/fs.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ocr2 render [-p PAGES] [-r DPI] -o DIR INPUT...\n"
		"\n"
		"Writes every selected page of each INPUT (PDF, TIFF, PNG or JPEG; '-' reads\n"
		"standard input) as DIR/NAME-PAGE.png: NAME is the input's file name without\n"
		"its extension ('stdin' for '-'), PAGE is 1-based and zero-padded to the width\n"
		"of the document's page count, as pdftoppm does (report-07.png of 12 pages).\n"
		"Pixels are exactly what 'ocr2 scan' reads: PDF pages drawn by poppler+cairo\n"
		"like 'pdftocairo -png -r DPI', EXIF orientation applied, transparency on white.\n"
		"\n"
		"  -o, --output DIR   output directory (created if missing)\n"
		"  -p, --pages LIST   pages to write, e.g. 1,3-5,9- (default: all)\n"
		"  -r, --dpi N        PDF resolution in dots per inch (default 144)\n"
		"  -h, --help         this text\n"
		"\n"
		"A bad input gets one line 'ocr2 render: FILE: problem' and the next input is\n"
		"taken. Exit status: 0 all written, 1 some input or page failed, 2 usage error,\n"
		"130 interrupted (no partial files are left).\n");
}

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

/* Renders one input; returns 0 when every selected page was written. */
static int render_one(const char *in, const char *dir, const ocr2_pagesel *sel,
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
		if (snprintf(name, nlen, "%s-%0*d.png", stem, digits(n), i) >= (int)nlen ||
		    !write_page(&img, dir, name, in))
			failed = 1;
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

int cmd_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"pages", required_argument, NULL, 'p'},
		{"dpi", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *pages = NULL;
	ocr2_doc_params dp = ocr2_doc_default_params();
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:p:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'p':
			pages = optarg;
			break;
		case 'r': {
			char *end;
			errno = 0;
			double v = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(v) || v < 1 || v > 10000)
				return usage_error("invalid DPI \"%s\" (expected 1 to 10000)",
						   optarg);
			dp.dpi = v;
			break;
		}
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			return usage_error("option %s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (!dir)
		return usage_error("%s", "an output directory is needed (-o DIR)");
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

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int failed = 0;
	for (int i = optind; i < argc && !interrupted; i++)
		failed |= render_one(argv[i], dir, sel, &dp);
	ocr2_pagesel_free(sel);
	if (interrupted)
		return EXIT_INTERRUPTED;
	return failed ? EXIT_PARTIAL : EXIT_OK;
}
