/* scan.c - ocr2 scan: inputs (files, stdin, directories) through the model to
 * Markdown, text, raw, JSON or JSONL, with the batch rules of product.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "base/fs.h"
#include "base/json.h"
#include "compute/kernels.h"

enum { FMT_MARKDOWN, FMT_JSON, FMT_JSONL, FMT_TEXT, FMT_RAW };
static const char *const fmt_names[] = {"markdown", "json", "jsonl", "text", "raw"};
static const char *const fmt_ext[] = {".md", ".json", ".jsonl", ".txt", ".raw.txt"};

typedef struct {
	const char *model, *prompt, *pages, *output, *dump, *images;
	int fmt;
	bool free_mode;
	double dpi;
	int threads, max_tokens, ngram, ngram_window;
	bool no_crop, recursive, force, quiet, verbose;
	int shard_k, shard_n;
} options;

typedef struct {
	char *path; /* as opened ("-" for stdin) */
	char *rel;  /* the name mirrored under -o DIR, and hashed by --shard */
	char *out;  /* output file, NULL for stdout */
} input;

typedef struct {
	input *v;
	int n, cap;
} input_list;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- signals: a flag the model polls between tokens ------------------------ */

static volatile int g_cancel;

static void on_signal(int sig)
{
	g_cancel = 1;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* a second signal takes the default action: a stuck step can still be killed */
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The outputs being written (0: the document's, 1: a figure's): committed
 * when done, aborted on failure, and aborted by cmd_scan after an interrupt
 * (the signal handler only sets g_cancel; nothing is removed from inside it). */
static ocr2_atomic g_tmp[2];

/* ---- progress and messages ------------------------------------------------- */

typedef struct {
	bool on;            /* stderr is a TTY and not -q */
	bool shown;         /* a line is on screen */
	int file_i, n_files;
	const char *name;
	int page, doc_pages;
	int pages_done, pages_known, files_opened;
	long tokens;        /* generated, all pages */
	int page_tokens;
	double t_start, t_pages, t_last;
} progress;

static progress g_prog;

static void progress_clear(void)
{
	if (g_prog.shown) {
		fputs("\r\033[K", stderr);
		g_prog.shown = false;
	}
}

static void progress_draw(bool force)
{
	if (!g_prog.on)
		return;
	double now = now_s();
	if (!force && now - g_prog.t_last < 0.2)
		return;
	g_prog.t_last = now;
	double el = now - g_prog.t_start;
	long tok = g_prog.tokens + g_prog.page_tokens;
	/* pages still to do: the known pages of opened documents, plus the
	 * unopened files at the average page count so far */
	double per_file = g_prog.files_opened ? (double)g_prog.pages_known / g_prog.files_opened : 1;
	double total = g_prog.pages_known + per_file * (g_prog.n_files - g_prog.files_opened);
	char eta[32] = "?";
	if (g_prog.pages_done > 0) {
		double left = (total - g_prog.pages_done) * (g_prog.t_pages / g_prog.pages_done);
		long s = left > 0 ? (long)(left + 0.5) : 0;
		if (s >= 3600)
			snprintf(eta, sizeof eta, "%ldh%02ldm", s / 3600, s / 60 % 60);
		else
			snprintf(eta, sizeof eta, "%ldm%02lds", s / 60, s % 60);
	}
	fprintf(stderr, "\r\033[K[%d/%d] %.40s page %d/%d | pages %d/%d | %.1f tok/s | ETA %s",
		g_prog.file_i, g_prog.n_files, g_prog.name ? g_prog.name : "", g_prog.page,
		g_prog.doc_pages, g_prog.pages_done, (int)(total + 0.5), el > 0 ? tok / el : 0.0,
		eta);
	fflush(stderr);
	g_prog.shown = true;
}

static void on_token(void *user, int n)
{
	g_prog.page_tokens = n;
	progress_draw(false);
}

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	progress_clear();
	va_list ap;
	fputs("ocr2 scan: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The library's message, without a leading "NAME: " when NAME is the file
 * the caller names anyway. */
static const char *errmsg_for(const char *name)
{
	const char *m = ocr2_errmsg();
	size_t n = strlen(name);
	if (!strncmp(m, name, n) && m[n] == ':' && m[n + 1] == ' ')
		return m + n + 2;
	return *m ? m : "failed";
}

/* ---- small file-system helpers --------------------------------------------- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		fputs("ocr2 scan: out of memory\n", stderr);
		exit(EXIT_PARTIAL);
	}
	return d;
}

static char *oom_check(char *s)
{
	if (!s) {
		fputs("ocr2 scan: out of memory\n", stderr);
		exit(EXIT_PARTIAL);
	}
	return s;
}

/* a/b; an empty a (-o '', --images '') is the current directory here */
static char *join(const char *a, const char *b)
{
	return oom_check(*a ? ocr2_path_join(a, b) : strdup(b));
}

static char *dir_of(const char *path)
{
	return oom_check(ocr2_path_dir(path));
}

/* mkdir -p of the directory part of path (or of path itself when whole). */
static int mkdirs(const char *path, bool whole)
{
	char *d = whole ? xstrdup(path) : dir_of(path);
	int r = ocr2_mkdir_p(d, 0777);
	int e = errno;
	free(d);
	errno = e;
	return r;
}

/* The path of file `target` relative to directory `from`, both existing. */
static char *relative_to(const char *target, const char *from)
{
	char *td = dir_of(target);
	char rt[PATH_MAX], rf[PATH_MAX];
	if (!realpath(td, rt) || !realpath(from, rf)) {
		free(td);
		return xstrdup(target);
	}
	free(td);
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	/* common prefix on whole components */
	size_t i = 0, common = 0;
	while (rt[i] && rt[i] == rf[i]) {
		if (rt[i] == '/')
			common = i;
		i++;
	}
	if ((rt[i] == 0 || rt[i] == '/') && (rf[i] == 0 || rf[i] == '/'))
		common = i;
	char out[PATH_MAX * 2];
	size_t n = 0;
	out[0] = 0;
	for (const char *p = rf + common; *p; p++)
		if (*p == '/')
			n += (size_t)snprintf(out + n, sizeof out - n, "../");
	const char *rest = rt + common;
	if (*rest == '/')
		rest++;
	if (*rest)
		n += (size_t)snprintf(out + n, sizeof out - n, "%s/", rest);
	snprintf(out + n, sizeof out - n, "%s", base);
	return xstrdup(out);
}

/* ---- inputs ------------------------------------------------------------------ */

static void add_input(input_list *l, const char *path, const char *rel)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		input *v = realloc(l->v, sizeof *v * (size_t)l->cap);
		if (!v) {
			fputs("ocr2 scan: out of memory\n", stderr);
			exit(EXIT_PARTIAL);
		}
		l->v = v;
	}
	input *in = &l->v[l->n++];
	in->path = xstrdup(path);
	in->rel = xstrdup(rel);
	in->out = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool supported_file(const char *path)
{
	unsigned char head[16];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof head);
	close(fd);
	return n > 0 && ocr2_format_sniff(head, (size_t)n) != OCR2_FMT_UNKNOWN;
}

/* A name that says "document": such a file in a directory is taken even when
 * its bytes are not a supported format, so that a corrupt, empty or dangling
 * document is reported instead of silently passed over. */
static bool document_name(const char *name)
{
	static const char *const ext[] = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"};
	const char *dot = strrchr(name, '.');
	if (!dot)
		return false;
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
		if (!strcasecmp(dot, ext[i]))
			return true;
	return false;
}

/* Adds the files under dir (sorted; recursing when asked; dot files and
 * symbolic links to directories skipped) whose first bytes are a supported
 * format, or whose name says they should be. rel is the prefix of the
 * mirrored names. Returns false when dir cannot be read. */
static bool walk(input_list *l, const char *dir, const char *rel, bool recursive)
{
	DIR *d = opendir(dir);
	if (!d) {
		msg("%s: %s", dir, strerror(errno));
		return false;
	}
	char **names = NULL;
	int n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, sizeof *nn * (size_t)cap);
			if (!nn) {
				fputs("ocr2 scan: out of memory\n", stderr);
				exit(EXIT_PARTIAL);
			}
			names = nn;
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, cmp_str);
	bool ok = true;
	for (int i = 0; i < n; i++) {
		char *p = join(dir, names[i]);
		char *r = *rel ? join(rel, names[i]) : xstrdup(names[i]);
		struct stat st, lst;
		if (stat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				if (recursive && lstat(p, &lst) == 0 && !S_ISLNK(lst.st_mode))
					ok = walk(l, p, r, true) && ok;
			} else if (S_ISREG(st.st_mode) &&
				   (supported_file(p) || document_name(names[i]))) {
				add_input(l, p, r);
			}
		} else if (document_name(names[i])) {
			add_input(l, p, r); /* dangling or unreadable: reported when opened */
		}
		free(p);
		free(r);
		free(names[i]);
	}
	free(names);
	return ok;
}

/* "dir/name.pdf" -> "dir/name" + ext */
static char *with_ext(const char *rel, const char *ext)
{
	const char *slash = strrchr(rel, '/');
	const char *dot = strrchr(rel, '.');
	size_t n = (dot && (!slash || dot > slash + 1) && dot != rel) ? (size_t)(dot - rel)
								       : strlen(rel);
	char *s = malloc(n + strlen(ext) + 1);
	if (!s) {
		fputs("ocr2 scan: out of memory\n", stderr);
		exit(EXIT_PARTIAL);
	}
	memcpy(s, rel, n);
	strcpy(s + n, ext);
	return s;
}

/* ---- one page's result, and the five output formats ----------------------------- */

typedef struct {
	int page;                /* 1-based */
	int width, height;       /* 0 when the page could not be rendered */
	double dpi;              /* <= 0 for raster inputs */
	const char *status;      /* "ok", "truncated", "error" */
	const char *message;     /* error only */
	double seconds;
	int tokens, prompt_tokens;
	const char *raw;         /* model output (NULL on error) */
	char *markdown;          /* official conversion with this run's image links */
	ocr2_blocks blocks;
} page_rec;

typedef struct {
	FILE *f;
	int fmt;
	const char *source;
	const char *format_name; /* the document's: pdf, tiff, png, jpeg */
	int n_pages;            /* written so far */
	int n_good;             /* of which ok or truncated */
	bool stream;            /* flush after every page (stdout, jsonl) */
} writer;

static void comment_safe(FILE *f, const char *s)
{
	/* "--" ends nothing in HTML comments if never written */
	for (char prev = 0; s && *s; s++) {
		if (*s == '\n' || (*s == '-' && prev == '-') || *s == '>')
			fputc(' ', f);
		else
			fputc(*s, f);
		prev = *s;
	}
}

static void page_header(writer *w, const page_rec *p)
{
	if (w->n_pages)
		fputs("\n\n", w->f);
	fprintf(w->f, "<!-- page %d", p->page);
	if (!strcmp(p->status, "truncated")) {
		fputs(": truncated", w->f);
	} else if (!strcmp(p->status, "error")) {
		fputs(": error: ", w->f);
		comment_safe(w->f, p->message);
	}
	fputs(" -->\n\n", w->f);
}

static void json_page_fields(FILE *f, const page_rec *p)
{
	fprintf(f, "\"page\":%d,", p->page);
	if (p->width > 0)
		fprintf(f, "\"width\":%d,\"height\":%d,", p->width, p->height);
	else
		fputs("\"width\":null,\"height\":null,", f);
	if (p->dpi > 0)
		fprintf(f, "\"dpi\":%g,", p->dpi);
	else
		fputs("\"dpi\":null,", f);
	fprintf(f, "\"status\":\"%s\",", p->status);
	if (p->message) {
		fputs("\"message\":", f);
		ocr2_json_write_string(f, p->message);
		fputc(',', f);
	}
	fprintf(f, "\"seconds\":%.3f,\"tokens\":%d,\"prompt_tokens\":%d,\"malformed\":%d,",
		p->seconds, p->tokens, p->prompt_tokens, p->blocks.malformed);
	fputs("\"blocks\":[", f);
	for (int i = 0; i < p->blocks.n_blocks; i++) {
		const ocr2_block *b = &p->blocks.blocks[i];
		fputs(i ? ",{\"label\":" : "{\"label\":", f);
		ocr2_json_write_string(f, b->label);
		fputs(",\"bbox\":", f);
		for (int j = 0; j < (b->n_boxes ? b->n_boxes : 1); j++) {
			if (!b->n_boxes) {
				fputs("null,\"boxes\":[]", f);
				break;
			}
			int x1 = ocr2_grid_to_pixel(b->boxes[j][0], p->width);
			int y1 = ocr2_grid_to_pixel(b->boxes[j][1], p->height);
			int x2 = ocr2_grid_to_pixel(b->boxes[j][2], p->width);
			int y2 = ocr2_grid_to_pixel(b->boxes[j][3], p->height);
			if (j == 0)
				fprintf(f, "[%d,%d,%d,%d],\"boxes\":[", x1, y1, x2, y2);
			fprintf(f, "%s[%d,%d,%d,%d]", j ? "," : "", x1, y1, x2, y2);
			if (j == b->n_boxes - 1)
				fputc(']', f);
		}
		fputs(",\"text\":", f);
		ocr2_json_write_string(f, b->text);
		fputc('}', f);
	}
	fputs("],\"markdown\":", f);
	if (p->markdown)
		ocr2_json_write_string(f, p->markdown);
	else
		fputs("null", f);
}

static void writer_begin(writer *w)
{
	if (w->fmt == FMT_JSON) {
		fputs("{\"source\":", w->f);
		ocr2_json_write_string(w->f, w->source);
		fprintf(w->f, ",\"format\":\"%s\",\"pages\":[", w->format_name);
	}
}

static void writer_page(writer *w, const page_rec *p)
{
	FILE *f = w->f;
	switch (w->fmt) {
	case FMT_MARKDOWN:
		page_header(w, p);
		if (p->markdown)
			fputs(p->markdown, f);
		break;
	case FMT_RAW:
		page_header(w, p);
		if (p->raw)
			fputs(p->raw, f);
		break;
	case FMT_TEXT:
		if (w->n_pages)
			fputs("\f\n", f);
		if (p->markdown && *p->markdown) {
			fputs(p->markdown, f);
			fputc('\n', f);
		}
		break;
	case FMT_JSON:
		fputs(w->n_pages ? ",{" : "{", f);
		json_page_fields(f, p);
		fputc('}', f);
		break;
	case FMT_JSONL:
		fputs("{\"source\":", f);
		ocr2_json_write_string(f, w->source);
		fprintf(f, ",\"format\":\"%s\",", w->format_name);
		json_page_fields(f, p);
		fputs("}\n", f);
		break;
	}
	w->n_pages++;
	if (w->stream || w->fmt == FMT_JSONL)
		fflush(f);
}

static void writer_end(writer *w)
{
	switch (w->fmt) {
	case FMT_MARKDOWN:
	case FMT_RAW:
		if (w->n_pages)
			fputc('\n', w->f);
		break;
	case FMT_JSON:
		fputs("]}\n", w->f);
		break;
	default:
		break;
	}
	if (w->stream)
		fflush(w->f);
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct {
	options o;
	ocr2_model *model;
	bool model_tried;
	char prompt_buf[4096];
	const char *prompt;
	ocr2_pagesel *sel;
	int status;           /* the worst exit code so far */
} run;

static void worse(run *r, int code)
{
	/* 130 > 3 > 1 > 0 */
	static const int rank[] = {[EXIT_OK] = 0, [EXIT_PARTIAL] = 1, [EXIT_MODEL] = 2};
	if (code == EXIT_INTERRUPTED || r->status == EXIT_INTERRUPTED) {
		r->status = EXIT_INTERRUPTED;
		return;
	}
	if (rank[code] > rank[r->status])
		r->status = code;
}

static bool load_model(run *r)
{
	if (r->model)
		return true;
	if (r->model_tried)
		return false;
	r->model_tried = true;
	char *dir = cli_model_dir(r->o.model);
	ocr2_model_params mp = ocr2_model_default_params();
	mp.n_threads = r->o.threads;
	double t0 = now_s();
	ocr2_status s = ocr2_model_load(dir, &mp, &r->model);
	if (s != OCR2_OK) {
		msg("%s", ocr2_errmsg());
		free(dir);
		return false;
	}
	if (r->o.verbose)
		msg("model %s loaded in %.2fs", dir, now_s() - t0);
	/* OCR2_MATMUL (man ocr2): say when it is not honoured, and with -v what runs */
	const char *mm = getenv("OCR2_MATMUL");
	bool bf16 = ocr2_gemm_bf16_enabled();
	if (mm && *mm && strcmp(mm, "f32") && !bf16 && !r->o.quiet)
		msg("notice: OCR2_MATMUL=%s ignored: %s", mm,
		    strcmp(mm, "bf16") ? "the values are f32 and bf16"
				       : "this CPU has no avx512_bf16; the encoder runs in f32");
	else if (r->o.verbose)
		msg("encoder matrix products in %s", ocr2_matmul_name());
	free(dir);
	return true;
}

/* "%" doubled, for a literal path inside an image-link template */
static void template_escape(char *dst, size_t n, const char *s)
{
	size_t k = 0;
	for (; *s && k + 3 < n; s++) {
		if (*s == '%')
			dst[k++] = '%';
		dst[k++] = *s;
	}
	dst[k] = 0;
}

/* Crops the figure blocks of a page into PNGs under --images and returns the
 * link template for the Markdown; false (with a message) when one failed. */
static bool save_figures(run *r, const input *in, const ocr2_image *img, page_rec *p,
			 char *tmpl, size_t tn)
{
	char *stem = with_ext(in->rel, "");
	char name[PATH_MAX];
	snprintf(name, sizeof name, "%s-%d-0.png", stem, p->page);
	char *first = join(r->o.images, name);
	bool ok = true;
	if (mkdirs(first, false) != 0) {
		msg("%s: %s", first, strerror(errno));
		ok = false;
	}
	/* the link is relative to where the Markdown lands */
	char *from = in->out ? dir_of(in->out) : xstrdup(".");
	char *rel = ok ? relative_to(first, from) : xstrdup(first);
	free(from);
	/* rel ends in "-PAGE-0.png": make it "-%p-%n.png" */
	char *dash = rel + strlen(rel) - strlen("-0.png");
	*dash = 0;
	char *pd = strrchr(rel, '-');
	if (pd)
		*pd = 0;
	char esc[PATH_MAX];
	template_escape(esc, sizeof esc, rel);
	snprintf(tmpl, tn, "%s-%%p-%%n.png", esc);
	free(rel);
	free(first);

	int idx = 0;
	for (int i = 0; ok && i < p->blocks.n_blocks; i++) {
		const ocr2_block *b = &p->blocks.blocks[i];
		if (strcmp(b->label, "image") || !b->n_boxes)
			continue;
		int x1 = INT_MAX, y1 = INT_MAX, x2 = 0, y2 = 0;
		for (int j = 0; j < b->n_boxes; j++) {
			int a = ocr2_grid_to_pixel(b->boxes[j][0], img->width);
			int c = ocr2_grid_to_pixel(b->boxes[j][1], img->height);
			int e = ocr2_grid_to_pixel(b->boxes[j][2], img->width);
			int g = ocr2_grid_to_pixel(b->boxes[j][3], img->height);
			x1 = a < x1 ? a : x1;
			y1 = c < y1 ? c : y1;
			x2 = e > x2 ? e : x2;
			y2 = g > y2 ? g : y2;
		}
		int n = idx++;
		if (x2 <= x1 || y2 <= y1)
			continue; /* an empty region: nothing to crop (as PIL would fail) */
		ocr2_image crop = {x2 - x1, y2 - y1, NULL};
		crop.rgb = malloc((size_t)crop.width * (size_t)crop.height * 3);
		if (!crop.rgb) {
			msg("%s: page %d: out of memory", in->path, p->page);
			ok = false;
			break;
		}
		for (int y = 0; y < crop.height; y++)
			memcpy(crop.rgb + (size_t)y * crop.width * 3,
			       img->rgb + ((size_t)(y1 + y) * img->width + x1) * 3,
			       (size_t)crop.width * 3);
		snprintf(name, sizeof name, "%s-%d-%d.png", stem, p->page, n);
		char *path = join(r->o.images, name);
		if (ocr2_atomic_open(&g_tmp[1], path, OCR2_ATOMIC_SHARED) != 0) {
			msg("%s: cannot create: %s", path, strerror(errno));
			ok = false;
		} else if (ocr2_image_write_png(&crop, g_tmp[1].tmp) != OCR2_OK) {
			msg("%s", ocr2_errmsg());
			ocr2_atomic_abort(&g_tmp[1]);
			ok = false;
		} else if (ocr2_atomic_commit(&g_tmp[1]) != 0) {
			msg("%s: %s", path, strerror(errno));
			ok = false;
		}
		free(path);
		ocr2_image_free(&crop);
	}
	free(stem);
	return ok;
}

/* Returns false when interrupted. */
static bool do_page(run *r, const input *in, ocr2_doc *doc, int index, writer *w, bool pdf_style)
{
	page_rec p;
	memset(&p, 0, sizeof p);
	p.page = index + 1;
	p.dpi = ocr2_doc_format(doc) == OCR2_FMT_PDF ? r->o.dpi : 0;
	p.status = "ok";
	double t0 = now_s();
	ocr2_image img = {0};
	ocr2_result res;
	memset(&res, 0, sizeof res);
	bool interrupted = false, failed = false;
	char dump[PATH_MAX];
	char errbuf[PATH_MAX + 1024];

	g_prog.page = p.page;
	g_prog.page_tokens = 0;
	progress_draw(true);

	ocr2_status s = ocr2_doc_render(doc, index, &img);
	double t_render = now_s() - t0;
	if (s != OCR2_OK) {
		snprintf(errbuf, sizeof errbuf, "%s", errmsg_for(in->path));
		failed = true;
		goto done;
	}
	p.width = img.width;
	p.height = img.height;
	if (g_cancel) {
		interrupted = true;
		goto done;
	}

	ocr2_recognize_params rp = ocr2_recognize_default_params();
	rp.prompt = r->prompt;
	rp.max_tokens = r->o.max_tokens;
	rp.ngram = r->o.ngram;
	rp.ngram_window = r->o.ngram_window;
	rp.no_crop = r->o.no_crop;
	rp.cancel = &g_cancel;
	rp.on_token = on_token;
	if (r->o.dump) {
		char *stem = with_ext(in->rel, "");
		char page[32];
		snprintf(page, sizeof page, "page-%d", p.page);
		char *doc_dir = oom_check(ocr2_path_join(r->o.dump, stem));
		char *page_dir = join(doc_dir, page);
		snprintf(dump, sizeof dump, "%s", page_dir);
		free(page_dir);
		free(doc_dir);
		free(stem);
		if (mkdirs(dump, true) != 0) {
			snprintf(errbuf, sizeof errbuf, "--dump %s: %s", dump, strerror(errno));
			failed = true;
			goto done;
		}
		rp.dump_dir = dump;
	}
	s = ocr2_recognize(r->model, &img, &rp, &res);
	if (s == OCR2_ERR_INTERRUPTED || g_cancel) {
		interrupted = true;
		goto done;
	}
	if (s != OCR2_OK) {
		snprintf(errbuf, sizeof errbuf, "%s", errmsg_for(in->path));
		failed = true;
		goto done;
	}
	p.raw = res.text;
	p.tokens = res.n_tokens;
	p.prompt_tokens = res.n_prompt;
	if (res.status == OCR2_PAGE_TRUNCATED)
		p.status = "truncated";
	if (ocr2_blocks_parse(res.text, &p.blocks) != OCR2_OK) {
		snprintf(errbuf, sizeof errbuf, "%s", ocr2_errmsg());
		failed = true;
		goto done;
	}
	char tmpl[PATH_MAX + 32];
	const char *links = pdf_style ? "images/%p_%n.jpg" : NULL;
	int link_page = pdf_style ? index : p.page;
	if (r->o.fmt == FMT_TEXT) {
		links = "";
	} else if (r->o.images) {
		if (!save_figures(r, in, &img, &p, tmpl, sizeof tmpl))
			worse(r, EXIT_PARTIAL);
		links = tmpl;
		link_page = p.page;
	}
	if (ocr2_markdown_from_raw(res.text, link_page, links, &p.markdown) != OCR2_OK) {
		snprintf(errbuf, sizeof errbuf, "%s", ocr2_errmsg());
		failed = true;
		goto done;
	}
done:
	if (interrupted) {
		ocr2_image_free(&img);
		ocr2_result_free(&res);
		ocr2_blocks_free(&p.blocks);
		free(p.markdown);
		return false;
	}
	p.seconds = now_s() - t0;
	if (failed) {
		ocr2_blocks_free(&p.blocks);
		free(p.markdown);
		p.markdown = NULL;
		p.raw = NULL;
		p.status = "error";
		p.message = errbuf;
		msg("%s: page %d: %s", in->path, p.page, errbuf);
		worse(r, EXIT_PARTIAL);
	} else if (!strcmp(p.status, "truncated")) {
		msg("%s: page %d: truncated after %d tokens (--max-tokens %d)", in->path, p.page,
		    p.tokens, r->o.max_tokens);
		worse(r, EXIT_PARTIAL);
	}
	if (!failed)
		w->n_good++;
	writer_page(w, &p);
	if (r->o.verbose && !failed) {
		/* a rate only over enough time to mean something (one token takes
		 * no decode step: it comes from the prefill's logits) */
		char rate[32] = "";
		if (res.t_decode >= 0.05)
			snprintf(rate, sizeof rate, ", %.1f tok/s", res.n_tokens / res.t_decode);
		msg("%s: page %d: render %.2fs, preprocess %.2fs, encode %.2fs, prefill %.2fs, "
		    "decode %.2fs (%d tokens%s), total %.2fs",
		    in->path, p.page, t_render, res.t_preprocess, res.t_encode, res.t_prefill,
		    res.t_decode, res.n_tokens, rate, p.seconds);
	}
	g_prog.pages_done++;
	g_prog.tokens += p.tokens;
	g_prog.page_tokens = 0;
	g_prog.t_pages += p.seconds;
	progress_draw(true);
	ocr2_image_free(&img);
	ocr2_result_free(&res);
	ocr2_blocks_free(&p.blocks);
	free(p.markdown);
	return true;
}

/* Returns false when interrupted. */
static bool do_input(run *r, const input *in, FILE *out_stdout)
{
	FILE *f = out_stdout;
	if (in->out) {
		ocr2_atomic_remove_stale(in->out);
		if (mkdirs(in->out, false) != 0 ||
		    ocr2_atomic_open(&g_tmp[0], in->out, OCR2_ATOMIC_SHARED) != 0) {
			msg("%s: cannot create: %s", in->out, strerror(errno));
			worse(r, EXIT_PARTIAL);
			return true;
		}
		f = g_tmp[0].f;
	}
	ocr2_doc_params dp = ocr2_doc_default_params();
	dp.dpi = r->o.dpi;
	ocr2_doc *doc = NULL;
	g_prog.name = in->rel;
	g_prog.page = 0;
	g_prog.doc_pages = 0;
	if (ocr2_doc_open(in->path, &dp, &doc) != OCR2_OK) {
		const char *m = ocr2_errmsg();
		if (!strncmp(m, in->path, strlen(in->path)))
			msg("%s", m);
		else
			msg("%s: %s", in->path, m);
		g_prog.files_opened++;
		goto fail;
	}
	int n = ocr2_doc_page_count(doc), sel = 0;
	for (int i = 0; i < n; i++)
		sel += ocr2_pagesel_has(r->sel, i + 1) ? 1 : 0;
	g_prog.files_opened++;
	g_prog.pages_known += sel;
	g_prog.doc_pages = n;
	if (sel == 0) {
		msg("%s: no page selected by -p %s (the document has %d)", in->path, r->o.pages, n);
		goto fail;
	}
	ocr2_format ff = ocr2_doc_format(doc);
	char fname[16];
	snprintf(fname, sizeof fname, "%s", ocr2_format_name(ff));
	for (char *c = fname; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	writer w = {f, r->o.fmt, in->path, fname, 0, 0, !in->out};
	bool pdf_style = ff == OCR2_FMT_PDF || ff == OCR2_FMT_TIFF;
	writer_begin(&w);
	for (int i = 0; i < n; i++) {
		if (!ocr2_pagesel_has(r->sel, i + 1))
			continue;
		if (g_cancel || !do_page(r, in, doc, i, &w, pdf_style)) {
			ocr2_doc_free(doc);
			ocr2_atomic_abort(&g_tmp[0]);
			return false;
		}
	}
	writer_end(&w);
	ocr2_doc_free(doc);
	if (in->out && w.n_good == 0) {
		/* nothing but failed pages: no output, so a re-run tries again */
		ocr2_atomic_abort(&g_tmp[0]);
		return true;
	}
	if (in->out && ocr2_atomic_commit(&g_tmp[0]) != 0) {
		msg("%s: %s", in->out, strerror(errno));
		worse(r, EXIT_PARTIAL);
	}
	return true;
fail:
	ocr2_doc_free(doc);
	ocr2_atomic_abort(&g_tmp[0]);
	worse(r, EXIT_PARTIAL);
	return true;
}

/* ---- options ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fputs("usage: ocr2 scan [options] INPUT...\n"
	      "\n"
	      "INPUT is a PDF, TIFF, PNG or JPEG file, '-' for standard input, or a directory\n"
	      "(its supported files; -R recurses).\n"
	      "\n"
	      "  -m, --model DIR        model directory (default $OCR2_MODEL, then\n"
	      "                         $XDG_DATA_HOME/ocr2/models/deepseek-ocr-2)\n"
	      "  -f, --format FMT       markdown (default), json, jsonl, text or raw\n"
	      "      --mode MODE        document (layout + Markdown, default) or free (plain text)\n"
	      "      --prompt TEXT      any other prompt (\"<image>\\n\" is prepended when absent)\n"
	      "  -p, --pages LIST       pages to read, e.g. 1,3-5,9- (default all)\n"
	      "  -r, --dpi N            raster resolution for PDF pages (default 144)\n"
	      "  -o, --output PATH      a file for one input, a directory for several\n"
	      "  -R, --recursive        read directories recursively\n"
	      "      --force            redo outputs that already exist\n"
	      "      --shard K/N        process only the K-th of N deterministic slices\n"
	      "  -t, --threads N        threads (default: all cores)\n"
	      "      --max-tokens N     stop a page after N tokens (default 8192)\n"
	      "      --ngram N          repetition guard n-gram size, 0 = off (default 20)\n"
	      "      --ngram-window W   repetition guard window in tokens (default 50)\n"
	      "      --no-crop          global 1024x1024 view only, no tiles\n"
	      "      --dump DIR         write features, logits and tokens per page to DIR\n"
	      "      --images DIR       save figure regions as PNG in DIR and link them\n"
	      "  -q, --quiet            no progress line and no notices\n"
	      "  -v, --verbose          timings per stage for every page\n"
	      "  -h, --help             this help\n"
	      "\n"
	      "Exit status: 0 all pages ok, 1 some input or page failed or was truncated,\n"
	      "2 usage error, 3 model missing or invalid, 130 interrupted. See ocr2-scan(1).\n",
	      f);
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

enum {
	OPT_MODE = 256, OPT_PROMPT, OPT_FORCE, OPT_SHARD, OPT_MAX_TOKENS, OPT_NGRAM,
	OPT_NGRAM_WINDOW, OPT_NO_CROP, OPT_DUMP, OPT_IMAGES,
};

static const struct option long_opts[] = {
	{"model", required_argument, NULL, 'm'},
	{"format", required_argument, NULL, 'f'},
	{"mode", required_argument, NULL, OPT_MODE},
	{"prompt", required_argument, NULL, OPT_PROMPT},
	{"pages", required_argument, NULL, 'p'},
	{"dpi", required_argument, NULL, 'r'},
	{"output", required_argument, NULL, 'o'},
	{"recursive", no_argument, NULL, 'R'},
	{"force", no_argument, NULL, OPT_FORCE},
	{"shard", required_argument, NULL, OPT_SHARD},
	{"threads", required_argument, NULL, 't'},
	{"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
	{"ngram", required_argument, NULL, OPT_NGRAM},
	{"ngram-window", required_argument, NULL, OPT_NGRAM_WINDOW},
	{"no-crop", no_argument, NULL, OPT_NO_CROP},
	{"dump", required_argument, NULL, OPT_DUMP},
	{"images", required_argument, NULL, OPT_IMAGES},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

#define BAD(...)                                                                                    \
	do {                                                                                       \
		cli_error("scan", __VA_ARGS__);                                                    \
		return EXIT_USAGE;                                                                 \
	} while (0)

static int parse_options(int argc, char **argv, options *o)
{
	memset(o, 0, sizeof *o);
	o->fmt = FMT_MARKDOWN;
	o->dpi = 144;
	o->max_tokens = 8192;
	o->ngram = 20;
	o->ngram_window = 50;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":m:f:p:r:o:Rt:qvh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'f': {
			int k = -1;
			for (int i = 0; i < 5; i++)
				if (!strcmp(optarg, fmt_names[i]))
					k = i;
			if (!strcmp(optarg, "md"))
				k = FMT_MARKDOWN;
			if (k < 0)
				BAD("-f %s: not one of markdown, json, jsonl, text, raw", optarg);
			o->fmt = k;
			break;
		}
		case OPT_MODE:
			if (!strcmp(optarg, "free"))
				o->free_mode = true;
			else if (strcmp(optarg, "document"))
				BAD("--mode %s: not document or free", optarg);
			break;
		case OPT_PROMPT: o->prompt = optarg; break;
		case 'p': o->pages = optarg; break;
		case 'r': {
			char *end;
			errno = 0;
			o->dpi = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->dpi >= 1 && o->dpi <= 2400))
				BAD("-r %s: not a resolution between 1 and 2400 dpi", optarg);
			break;
		}
		case 'o': o->output = optarg; break;
		case 'R': o->recursive = true; break;
		case OPT_FORCE: o->force = true; break;
		case OPT_SHARD: {
			int k, n;
			if (ocr2_shard_parse(optarg, &k, &n) != OCR2_OK)
				BAD("--shard %s: not K/N with 1 <= K <= N", optarg);
			o->shard_k = k;
			o->shard_n = n;
			break;
		}
		case 't':
			if (!parse_int(optarg, 0, 4096, &o->threads))
				BAD("-t %s: not a thread count", optarg);
			break;
		case OPT_MAX_TOKENS:
			if (!parse_int(optarg, 1, 1 << 20, &o->max_tokens))
				BAD("--max-tokens %s: not a positive number", optarg);
			break;
		case OPT_NGRAM:
			if (!parse_int(optarg, 0, 1 << 20, &o->ngram))
				BAD("--ngram %s: not a number >= 0", optarg);
			break;
		case OPT_NGRAM_WINDOW:
			if (!parse_int(optarg, 0, 1 << 20, &o->ngram_window))
				BAD("--ngram-window %s: not a number >= 0", optarg);
			break;
		case OPT_NO_CROP: o->no_crop = true; break;
		case OPT_DUMP: o->dump = optarg; break;
		case OPT_IMAGES: o->images = optarg; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); return -1;
		case ':': BAD("%s needs a value; see 'ocr2 scan --help'", argv[optind - 1]);
		default:
			if (optopt)
				BAD("-%c: unknown option; see 'ocr2 scan --help'", optopt);
			BAD("%s: unknown option; see 'ocr2 scan --help'", argv[optind - 1]);
		}
	}
	return 0;
}

int cmd_scan(int argc, char **argv)
{
	run r;
	memset(&r, 0, sizeof r);
	int rc = parse_options(argc, argv, &r.o);
	if (rc < 0)
		return EXIT_OK;
	if (rc)
		return rc;
	options *o = &r.o;
	input_list l = {0};
	bool *run_it = NULL;
	if (optind >= argc)
		BAD("no input; see 'ocr2 scan --help'");
	if (o->pages && ocr2_pagesel_parse(o->pages, &r.sel) != OCR2_OK)
		BAD("-p %s", ocr2_errmsg());
	if (o->prompt) {
		if (strstr(o->prompt, "<image>"))
			snprintf(r.prompt_buf, sizeof r.prompt_buf, "%s", o->prompt);
		else
			snprintf(r.prompt_buf, sizeof r.prompt_buf, "<image>\n%s", o->prompt);
		r.prompt = r.prompt_buf;
	} else {
		r.prompt = o->free_mode ? OCR2_PROMPT_FREE : OCR2_PROMPT_DOCUMENT;
	}

	/* expand the inputs */
	bool any_dir = false;
	int n_stdin = 0;
	for (int i = optind; i < argc; i++) {
		const char *a = argv[i];
		struct stat st;
		if (!strcmp(a, "-")) {
			add_input(&l, "-", "stdin");
			n_stdin++;
		} else if (stat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
			any_dir = true;
			if (!walk(&l, a, "", o->recursive))
				worse(&r, EXIT_PARTIAL);
		} else {
			const char *base = strrchr(a, '/');
			add_input(&l, a, base && base[1] ? base + 1 : a);
		}
	}
	if (n_stdin > 1) {
		cli_error("scan", "'-' (standard input) given more than once");
		r.status = EXIT_USAGE;
		goto out;
	}

	/* where the outputs go */
	bool out_dir = false;
	if (o->output) {
		struct stat st;
		size_t ol = strlen(o->output);
		out_dir = any_dir || l.n > 1 || (ol && o->output[ol - 1] == '/') ||
			  (stat(o->output, &st) == 0 && S_ISDIR(st.st_mode));
	} else if ((l.n > 1 || any_dir) && o->fmt != FMT_JSON && o->fmt != FMT_JSONL) {
		cli_error("scan", "several inputs need -o DIR (or -f json/jsonl to write them all "
				  "to stdout)");
		r.status = EXIT_USAGE;
		goto out;
	}
	for (int i = 0; i < l.n; i++) {
		if (!o->output)
			continue;
		if (out_dir) {
			char *rel = with_ext(l.v[i].rel, fmt_ext[o->fmt]);
			l.v[i].out = join(o->output, rel);
			free(rel);
		} else {
			l.v[i].out = xstrdup(o->output);
		}
	}

	/* the shard, then what is already done */
	int todo = 0, skipped = 0, collide = 0;
	run_it = calloc((size_t)l.n + 1, sizeof *run_it);
	if (!run_it) {
		cli_error("scan", "out of memory");
		r.status = EXIT_PARTIAL;
		goto out;
	}
	for (int i = 0; i < l.n; i++) {
		if (o->shard_n && !ocr2_shard_has(l.v[i].rel, o->shard_k, o->shard_n))
			continue;
		bool dup = false;
		for (int j = 0; l.v[i].out && j < i && !dup; j++)
			dup = run_it[j] && l.v[j].out && !strcmp(l.v[i].out, l.v[j].out);
		if (dup) {
			msg("%s: output %s is already written for another input; skipped",
			    l.v[i].path, l.v[i].out);
			collide++;
			continue;
		}
		struct stat st;
		if (l.v[i].out && !o->force && stat(l.v[i].out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (o->verbose)
				msg("%s: %s exists, skipped", l.v[i].path, l.v[i].out);
			skipped++;
			continue;
		}
		run_it[i] = true;
		todo++;
	}
	if (collide)
		worse(&r, EXIT_PARTIAL);
	if (l.n == 0 && r.status == EXIT_OK) {
		msg("no PDF, TIFF, PNG or JPEG file in the inputs");
		worse(&r, EXIT_PARTIAL);
	}

	install_signals();
	g_prog.on = !o->quiet && isatty(STDERR_FILENO);
	g_prog.n_files = todo;
	g_prog.t_start = now_s();
	if (todo > 0 && !load_model(&r)) {
		worse(&r, EXIT_MODEL);
		todo = 0;
	}
	int k = 0;
	for (int i = 0; i < l.n && todo > 0; i++) {
		if (!run_it[i])
			continue;
		g_prog.file_i = ++k;
		if (g_cancel || !do_input(&r, &l.v[i], stdout)) {
			worse(&r, EXIT_INTERRUPTED);
			break;
		}
	}
	if (g_cancel)
		worse(&r, EXIT_INTERRUPTED);
	progress_clear();
	fflush(stdout);
	if (r.status == EXIT_INTERRUPTED) {
		ocr2_atomic_abort(&g_tmp[0]);
		ocr2_atomic_abort(&g_tmp[1]);
		msg("interrupted; finished outputs are kept");
	}
	if (skipped && !o->quiet)
		msg("%d output%s already present, skipped (--force redoes them)", skipped,
		    skipped == 1 ? "" : "s");

out:
	ocr2_model_free(r.model);
	ocr2_pagesel_free(r.sel);
	for (int i = 0; i < l.n; i++) {
		free(l.v[i].path);
		free(l.v[i].rel);
		free(l.v[i].out);
	}
	free(l.v);
	free(run_it);
	return r.status;
}
