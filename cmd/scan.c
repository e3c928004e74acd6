/* scan.c - ocr2 scan: the options, and the run that takes each input's pages
 * through the model into its output, with the batch rules of man ocr2-scan (FILES AND BATCHES). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"
#include "opts.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/sha.h"
#include "compute/kernels.h"

static const char *const fmt_names[] = {"markdown", "json", "jsonl", "text", "raw",
					"pdf", "hocr"};
static const char *const fmt_ext[] = {".md", ".json", ".jsonl", ".txt", ".raw.txt",
				      ".pdf", ".hocr"};

/* ---- signals: a flag every long phase polls ------------------------------ */

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
	/* a second signal takes the default action: a stuck step can still be
	 * killed; no SA_RESTART: a blocked read or open returns EINTR */
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a closed pipe is seen as EPIPE, so that the run can end cleanly (and
	 * then as a closed pipe ends other tools: see end_by_sigpipe) */
	signal(SIGPIPE, SIG_IGN);
}

/* The outputs being written (0: the document's, 1: a figure's): committed
 * when done, aborted on failure, and aborted by cmd_scan after an interrupt
 * (the signal handler only sets g_cancel; nothing is removed from inside it). */
static ocr2_atomic g_tmp[2];

/* Standard input, output and error opened when they were closed (">&-"): on
 * /dev/null in the wrong direction, so that a write to a closed stdout fails
 * with EBADF as it would have, and no file the run opens can take their
 * number (an output would otherwise receive the messages meant for fd 2). */
static void hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int got = open("/dev/null", (fd == 0 ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
			if (got >= 0 && got != fd)
				close(got);
		}
}

/* ---- the run ------------------------------------------------------------- */

typedef struct {
	options o;
	ocr2_model *model;
	bool model_tried;
	char prompt_buf[4096];
	const char *prompt;
	ocr2_pagesel *sel;
	int status;           /* the worst exit code so far */
	/* scan-archive.c: the current input's archive outputs; why the model is missing */
	archive *ar;
	char model_err[1024];
	bool stop;            /* end the batch now: full disk, stdout gone, no model */
	bool broken_pipe;     /* stdout's reader went away: end as SIGPIPE would */
	/* the summary line */
	int n_inputs, n_done_before, n_unreadable;
	int n_ok, n_truncated, n_failed, n_kept;
	int lost_to_stdout;   /* finished pages of interrupted stream outputs */
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

static bool disk_full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* A write to name (an output, a journal, a figure; NULL: standard output)
 * failed with errno e. A full disk stops the batch at once; so does any
 * failure of standard output, quietly when its reader went away (EPIPE);
 * another file's failure fails that input only. */
static void write_failed(run *r, const char *name, int e, bool pipe)
{
	if (r->stop)
		return; /* said already */
	if (e == EPIPE && pipe) {
		r->broken_pipe = true;
		r->stop = true;
		return;
	}
	if (g_cancel && e == EINTR)
		return; /* the interrupt is the story */
	worse(r, EXIT_PARTIAL);
	if (!name) {
		msg("standard output: write error: %s", strerror(e));
		r->stop = true;
	} else if (disk_full(e)) {
		msg("%s: %s; stopping: finished outputs and journaled pages are kept, a re-run "
		    "resumes",
		    name, strerror(e));
		r->stop = true;
	} else {
		msg("%s: write error: %s", name, strerror(e));
	}
}

/* fflush and the stream's error flag: what reached f so far was written.
 * Returns the errno of a failure, else 0. */
static int flush_error(FILE *f)
{
	errno = 0;
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	return errno ? errno : EIO;
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
	mp.cancel = &g_cancel;
	double t0 = now_s();
	ocr2_status s = ocr2_model_load(dir, &mp, &r->model);
	if (s != OCR2_OK) {
		if (s != OCR2_ERR_INTERRUPTED)
			msg("%s", ocr2_errmsg());
		snprintf(r->model_err, sizeof r->model_err, "%s", ocr2_errmsg());
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
			if (disk_full(errno))
				write_failed(r, path, errno, false);
			else
				msg("%s: cannot create: %s", path, strerror(errno));
			ok = false;
		} else if (ocr2_image_write_png(&crop, g_tmp[1].tmp) != OCR2_OK) {
			msg("%s", ocr2_errmsg());
			ocr2_atomic_abort(&g_tmp[1]);
			ok = false;
		} else if (ocr2_atomic_commit(&g_tmp[1]) != 0) {
			write_failed(r, path, errno, false);
			ok = false;
		}
		free(path);
		ocr2_image_free(&crop);
	}
	free(stem);
	return ok;
}

/* One document being written: where its pages go, and what is kept. */
typedef struct {
	const input *in;
	writer w;
	const char *name;       /* the output named in messages (NULL: stdout) */
	bool pipe;              /* stdout or a FIFO/device: EPIPE is its reader leaving */
	char *journal_path;     /* NULL: no journal (stdout, a FIFO or a device) */
	journal jr;             /* what an earlier run finished */
	journal_file jf;        /* appended to, opened at the first computed page */
	const char *page_key;
	int n_written;          /* pages in the output */
} doc_out;

/* Puts a page into the output: journaled first when it was computed now
 * (so that a crash from here on loses nothing), then written. False when the
 * run must stop (the journal or the output failed). */
static bool put_page(run *r, doc_out *d, const page_rec *p, bool computed)
{
	if (computed && d->journal_path && strcmp(p->status, "error") &&
	    strcmp(p->status, "text-layer")) {
		journal_page jp = {
			.page = p->page, .width = p->width, .height = p->height,
			.dpi = p->dpi > 0 ? p->dpi : 0, .truncated = !strcmp(p->status, "truncated"),
			.seconds = p->seconds, .tokens = p->tokens, .prompt_tokens = p->prompt_tokens,
			.raw = (char *)(p->raw ? p->raw : ""), .raw_len = p->raw ? strlen(p->raw) : 0,
			.markdown = p->markdown ? p->markdown : "",
			.md_len = p->markdown ? strlen(p->markdown) : 0,
		};
		if ((d->jf.fd < 0 && journal_open(&d->jf, d->journal_path, d->page_key, &d->jr) != 0) ||
		    journal_append(&d->jf, &jp) != 0) {
			write_failed(r, d->journal_path, errno, false);
			return false;
		}
	}
	progress_clear(); /* never mixed into results on the same terminal */
	writer_page(&d->w, p);
	d->n_written++;
	int e = flush_error(d->w.f);
	if (e) {
		write_failed(r, d->name, e, d->pipe);
		return false;
	}
	return true;
}

/* A page finished by an earlier run, from its journal record. The archive
 * outputs (-f pdf, -f hocr, --draw) draw on the page's picture: it is
 * rendered again (no model work). */
static bool replay_page(run *r, doc_out *d, ocr2_doc *doc, int index, const journal_page *jp)
{
	page_rec p;
	memset(&p, 0, sizeof p);
	p.page = jp->page;
	p.width = jp->width;
	p.height = jp->height;
	p.dpi = jp->dpi;
	p.status = jp->truncated ? "truncated" : "ok";
	p.seconds = jp->seconds;
	p.tokens = jp->tokens;
	p.prompt_tokens = jp->prompt_tokens;
	p.raw = jp->raw;
	p.markdown = jp->markdown;
	if (ocr2_blocks_parse(jp->raw, &p.blocks) != OCR2_OK) {
		msg("%s", ocr2_errmsg());
		r->stop = true; /* out of memory */
		return false;
	}
	d->w.n_good++;
	r->n_kept++;
	ocr2_image img = {0};
	if (r->o.fmt == FMT_PDF || r->o.fmt == FMT_HOCR || r->o.draw) {
		if (ocr2_doc_render(doc, index, &img) != OCR2_OK) {
			msg("%s", errmsg_for_page(d->in->path, p.page));
			worse(r, EXIT_PARTIAL);
		}
	}
	if (!archive_page(r->ar, index, img.rgb ? &img : NULL, &p))
		worse(r, EXIT_PARTIAL);
	ocr2_image_free(&img);
	bool ok = put_page(r, d, &p, false);
	ocr2_blocks_free(&p.blocks);
	return ok;
}

/* Returns false when the run must stop (interrupted, or see put_page). */
static bool do_page(run *r, doc_out *d, ocr2_doc *doc, int index, bool pdf_style)
{
	const input *in = d->in;
	page_rec p;
	memset(&p, 0, sizeof p);
	p.page = index + 1;
	p.dpi = ocr2_doc_format(doc) == OCR2_FMT_PDF ? r->o.dpi : 0;
	p.status = "ok";
	double t0 = now_s();
	ocr2_image img = {0};
	ocr2_result res;
	memset(&res, 0, sizeof res);
	bool interrupted = false, failed = false, no_model = false;
	char dump[PATH_MAX];
	char errbuf[PATH_MAX + 1024];

	g_prog.page = p.page;
	g_prog.page_tokens = 0;
	progress_draw(true);

	ocr2_status s = ocr2_doc_render(doc, index, &img);
	double t_render = now_s() - t0;
	if (s != OCR2_OK) {
		snprintf(errbuf, sizeof errbuf, "%s", errmsg_for_page(in->path, p.page));
		failed = true;
		goto done;
	}
	p.width = img.width;
	p.height = img.height;
	if (ocr2_doc_render_dpi(doc) > 0 && ocr2_doc_render_dpi(doc) < p.dpi) {
		/* over the pixel limit at -r: drawn at the largest dpi that fits */
		if (!r->o.quiet)
			msg("notice: %s: page %d: drawn at %g dpi, the most that fits the limit of "
			    "%lld pixels (-r %g)", in->path, p.page, ocr2_doc_render_dpi(doc),
			    (long long)ocr2_doc_default_params().max_pixels, r->o.dpi);
		p.dpi = ocr2_doc_render_dpi(doc);
	}
	if (g_cancel) {
		interrupted = true;
		goto done;
	}
	/* --skip-text (scan-archive.c): a page with its own text skips the model,
	 * which is loaded by the first page that needs it */
	int text_layer = archive_text_layer(r->ar, index, &p, errbuf, sizeof errbuf);
	if (text_layer) {
		failed = text_layer < 0;
		goto done;
	}
	if (!load_model(r)) {
		snprintf(errbuf, sizeof errbuf, "no model: %s", r->model_err);
		failed = no_model = true;
		r->ar->need_model++;
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
		snprintf(errbuf, sizeof errbuf, "%s", errmsg_for_page(in->path, p.page));
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
	if (r->o.fmt == FMT_TEXT || (!r->o.images && !r->o.official_links)) {
		links = ""; /* no link to a file nobody writes (--image-links) */
	} else if (r->o.images) {
		if (!save_figures(r, in, &img, &p, tmpl, sizeof tmpl))
			worse(r, EXIT_PARTIAL);
		links = tmpl;
		link_page = p.page;
		if (r->stop) {
			interrupted = true; /* a full disk: the page is not kept */
			goto done;
		}
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
		if (!no_model) /* said once, when the model was loaded */
			msg("%s: page %d: %s", in->path, p.page, errbuf);
		worse(r, no_model ? EXIT_MODEL : EXIT_PARTIAL);
		r->n_failed++;
	} else if (!strcmp(p.status, "truncated")) {
		msg("%s: page %d: truncated after %d tokens (--max-tokens %d)", in->path, p.page,
		    p.tokens, r->o.max_tokens);
		worse(r, EXIT_PARTIAL);
		r->n_truncated++;
	} else {
		r->n_ok++;
	}
	if (!failed)
		d->w.n_good++;
	/* -f pdf, -f hocr, --draw (scan-archive.c) */
	if (!archive_page(r->ar, index, p.width > 0 ? &img : NULL, &p))
		worse(r, EXIT_PARTIAL);
	bool ok = put_page(r, d, &p, true);
	if (ok && r->o.verbose && !failed && strcmp(p.status, "text-layer")) {
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
	if (ok)
		progress_draw(true);
	ocr2_image_free(&img);
	ocr2_result_free(&res);
	ocr2_blocks_free(&p.blocks);
	free(p.markdown);
	return ok;
}

/* Opens the document; standard input is read here, through the cancel
 * flag, and its bytes' SHA-256 (its identity) goes to stdin_sum. */
static ocr2_status open_doc(const input *in, const ocr2_doc_params *dp, ocr2_doc **doc,
			    char stdin_sum[65])
{
	if (strcmp(in->path, "-"))
		return ocr2_doc_open(in->path, dp, doc);
	char *buf;
	size_t n;
	if (ocr2_read_fd_cancel(STDIN_FILENO, SIZE_MAX, &g_cancel, &buf, &n) != 0) {
		if (g_cancel)
			return OCR2_ERR_INTERRUPTED;
		return ocr2_fail(errno == ENOMEM ? OCR2_ERR_NOMEM : OCR2_ERR_IO,
				 "stdin: cannot read: %s", strerror(errno));
	}
	uint8_t d[32];
	ocr2_sha256_buf(buf, n, d);
	ocr2_hex(d, 32, stdin_sum);
	ocr2_status s = ocr2_doc_open_memory(buf, n, "-", dp, doc);
	free(buf);
	return s;
}

/* An input that could not be read (or had no page selected): reported, and
 * on a JSON stream given its record. */
static void input_failed(run *r, const input *in, const char *message)
{
	msg("%s: %s", in->path, message);
	worse(r, EXIT_PARTIAL);
	r->n_unreadable++;
	if (!in->out && (r->o.fmt == FMT_JSON || r->o.fmt == FMT_JSONL)) {
		writer w = {stdout, r->o.fmt, in->path, "", 0, 0, true};
		progress_clear();
		writer_error(&w, message);
		int e = flush_error(stdout);
		if (e)
			write_failed(r, NULL, e, true);
	}
}

/* Returns false when the run must stop (interrupted, full disk, standard
 * output gone, model missing). */
static bool do_input(run *r, const input *in)
{
	ocr2_doc_params dp = ocr2_doc_default_params();
	dp.dpi = r->o.dpi;
	ocr2_doc *doc = NULL;
	char stdin_sum[65] = "";
	g_prog.name = in->rel;
	g_prog.page = 0;
	g_prog.doc_pages = 0;
	r->n_inputs++;
	ocr2_status os = open_doc(in, &dp, &doc, stdin_sum);
	g_prog.files_opened++;
	if (os == OCR2_ERR_INTERRUPTED && g_cancel)
		return false;
	if (os != OCR2_OK) {
		input_failed(r, in, errmsg_for(in->path));
		return !r->stop;
	}
	int n = ocr2_doc_page_count(doc), sel = 0;
	for (int i = 0; i < n; i++)
		sel += ocr2_pagesel_has(r->sel, i + 1) ? 1 : 0;
	g_prog.doc_pages = n;
	if (sel == 0) {
		char m[128];
		snprintf(m, sizeof m, "no page selected by -p %s (the document has %d)", r->o.pages,
			 n);
		input_failed(r, in, m);
		ocr2_doc_free(doc);
		return !r->stop;
	}

	doc_out d;
	memset(&d, 0, sizeof d);
	d.in = in;
	d.jf.fd = -1;
	d.pipe = !in->out;
	out_keys keys;
	bool keyed = in->out && output_keys(&r->o, in, *stdin_sum ? stdin_sum : NULL, &keys);
	char *out = in->out ? oom_check(ocr2_path_follow(in->out)) : NULL;
	bool ok = true, stop = false;
	if (in->out && *stdin_sum && !r->o.force && keyed && output_done_key(out, keys.whole)) {
		/* standard input's identity is known only now */
		if (r->o.verbose)
			msg("%s: %s is done, skipped", in->path, in->out);
		r->n_done_before++;
		r->n_inputs--;
		goto end;
	}
	if (in->out) {
		ocr2_atomic_remove_stale(in->out);
		if (mkdirs(out, false) != 0 || ocr2_atomic_open(&g_tmp[0], in->out, OCR2_ATOMIC_SHARED) != 0) {
			int e = errno;
			if (disk_full(e))
				write_failed(r, in->out, e, false);
			else
				msg("%s: cannot create: %s", in->out, strerror(e));
			worse(r, EXIT_PARTIAL);
			stop = r->stop;
			goto end;
		}
		d.w.f = g_tmp[0].f;
		d.name = in->out;
		d.pipe = g_tmp[0].direct;
		if (!g_tmp[0].direct && keyed) {
			/* a regular file: its finished pages are journaled beside it */
			d.journal_path = side_path(out, JOURNAL_SUFFIX);
			d.page_key = keys.pages;
			/* what a run killed while starting a journal or marking an
			 * output done left behind */
			ocr2_atomic_remove_stale(d.journal_path);
			char *mark = side_path(out, DONE_SUFFIX);
			ocr2_atomic_remove_stale(mark);
			free(mark);
			int jl = r->o.force ? 1 : journal_load(d.journal_path, &d.jr);
			if (jl < 0 && !r->o.quiet)
				msg("notice: %s: not a journal ocr2 can trust; ignored, its pages are "
				    "computed again",
				    d.journal_path);
			if (jl == 0 && strcmp(d.jr.key, keys.pages)) {
				/* abandoned: made for another input or other options */
				if (r->o.verbose)
					msg("%s: journal made with other options or input; started "
					    "again",
					    d.journal_path);
				journal_free(&d.jr);
			}
		}
	} else {
		d.w.f = stdout;
	}

	/* the model only when a page needs computing */
	int kept = 0;
	for (int i = 0; i < n; i++)
		if (ocr2_pagesel_has(r->sel, i + 1) && journal_find(&d.jr, i + 1))
			kept++;
	g_prog.pages_known += sel - kept;
	if (kept < sel && !r->o.skip_text && !load_model(r)) {
		if (!g_cancel)
			worse(r, EXIT_MODEL);
		ocr2_atomic_abort(&g_tmp[0]);
		stop = true;
		goto end;
	}

	ocr2_format ff = ocr2_doc_format(doc);
	char fname[16];
	snprintf(fname, sizeof fname, "%s", ocr2_format_name(ff));
	for (char *c = fname; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	d.w = (writer){d.w.f, r->o.fmt, in->path, fname, 0, 0, !in->out || d.pipe};
	bool pdf_style = ff == OCR2_FMT_PDF || ff == OCR2_FMT_TIFF;
	/* -f pdf, -f hocr, --draw, --skip-text (scan-archive.c) */
	archive ar;
	if (!archive_begin(&ar, &r->o, in, doc, d.w.f, d.w.stream)) {
		archive_free(&ar);
		worse(r, EXIT_PARTIAL);
		ocr2_atomic_abort(&g_tmp[0]);
		goto end;
	}
	r->ar = &ar;
	progress_clear();
	writer_begin(&d.w);
	for (int i = 0; i < n && ok; i++) {
		if (!ocr2_pagesel_has(r->sel, i + 1)) {
			if (!archive_unselected(&ar, i))
				worse(r, EXIT_PARTIAL);
			continue;
		}
		const journal_page *jp = journal_find(&d.jr, i + 1);
		if (g_cancel)
			ok = false;
		else if (jp)
			ok = replay_page(r, &d, doc, i, jp);
		else
			ok = do_page(r, &d, doc, i, pdf_style);
	}
	if (!ok) {
		archive_free(&ar);
		r->ar = NULL;
		/* interrupted, or the output, the journal or the disk failed: what
		 * is journaled stays for the next run; a stream is closed so that it
		 * stays valid */
		if (!in->out || d.pipe) {
			if (g_cancel && !r->broken_pipe) {
				writer_end(&d.w, true);
				flush_error(d.w.f);
			}
			if (!d.journal_path)
				r->lost_to_stdout += d.n_written;
		}
		if (in->out && d.pipe && !r->broken_pipe)
			ocr2_atomic_commit(&g_tmp[0]);
		ocr2_atomic_abort(&g_tmp[0]);
		stop = true;
		if (!g_cancel && !r->stop)
			stop = false; /* this output failed; the batch goes on */
		goto end;
	}
	writer_end(&d.w, false);
	int archived = archive_end(&ar, in->out && !d.pipe ? g_tmp[0].tmp : NULL, d.w.n_good);
	archive_free(&ar);
	r->ar = NULL;
	if (archived) {
		ocr2_atomic_abort(&g_tmp[0]);
		worse(r, archived);
		goto end;
	}
	int e = flush_error(d.w.f);
	if (e) {
		write_failed(r, d.name, e, d.pipe);
		ocr2_atomic_abort(&g_tmp[0]);
		stop = r->stop;
		goto end;
	}
	if (!in->out)
		goto end;
	if (d.w.n_good == 0 && !d.pipe) {
		/* nothing but failed pages: no output, so a re-run tries again */
		ocr2_atomic_abort(&g_tmp[0]);
		if (d.journal_path && d.jr.n == 0 && d.jf.fd < 0)
			journal_remove(d.journal_path);
		goto end;
	}
	/* the old mark goes before the output it describes; the new one comes
	 * after it, and the journal goes last: a crash in between leaves an
	 * output that is not marked done, and a journal that rebuilds it */
	bool complete = d.w.n_good == d.w.n_pages;
	if (!d.pipe && keyed)
		done_unmark(out);
	if (ocr2_atomic_commit(&g_tmp[0]) != 0) {
		write_failed(r, in->out, errno, d.pipe);
		stop = r->stop;
		goto end;
	}
	if (d.pipe || !keyed)
		goto end;
	if (complete && done_mark(out, keys.whole) != 0) {
		int e = errno;
		char *mark = side_path(out, DONE_SUFFIX);
		write_failed(r, mark, e, false);
		free(mark);
		stop = r->stop;
		goto end;
	}
	if (complete) {
		journal_close(&d.jf);
		journal_remove(d.journal_path);
	}
	/* else the journal keeps the good pages: a re-run computes the failed ones */
end:
	journal_close(&d.jf);
	journal_free(&d.jr);
	free(d.journal_path);
	free(out);
	ocr2_doc_free(doc);
	return !stop && !g_cancel;
}

/* The reader of standard output went away: end as SIGPIPE ends the tools
 * around us (the shell sees 128 + 13), with everything kept as on SIGINT. */
static void end_by_sigpipe(void)
{
	ocr2_atomic_abort(&g_tmp[0]);
	ocr2_atomic_abort(&g_tmp[1]);
	signal(SIGPIPE, SIG_DFL);
	raise(SIGPIPE);
}

/* "12.3s", "4m05s", "2h03m" */
static void elapsed(double s, char *buf, size_t n)
{
	long t = (long)(s + 0.5);
	if (s < 60)
		snprintf(buf, n, "%.1fs", s);
	else if (t < 3600)
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
}

/* The last line on stderr (man ocr2-scan, SUMMARY). */
static void summary(const run *r, int collide)
{
	char why[160] = "", t[32];
	int k = 0;
	if (r->n_done_before)
		k += snprintf(why + k, sizeof why - (size_t)k, "%d done before, skipped: --force redoes them",
			      r->n_done_before);
	if (r->n_unreadable)
		k += snprintf(why + k, sizeof why - (size_t)k, "%s%d unreadable", k ? ", " : "",
			      r->n_unreadable);
	if (collide)
		k += snprintf(why + k, sizeof why - (size_t)k, "%s%d with a colliding output",
			      k ? ", " : "", collide);
	int inputs = r->n_inputs + r->n_done_before + collide;
	elapsed(now_s() - g_prog.t_start, t, sizeof t);
	msg("%d input%s%s%s%s; pages: %d ok, %d truncated, %d failed, %d skipped (done before); %s",
	    inputs, inputs == 1 ? "" : "s", k ? " (" : "", why, k ? ")" : "", r->n_ok,
	    r->n_truncated, r->n_failed, r->n_kept, t);
}

/* ---- options ------------------------------------------------------------- */

enum {
	OPT_MODE = 256, OPT_PROMPT, OPT_FORCE, OPT_SHARD, OPT_MAX_TOKENS, OPT_NGRAM,
	OPT_NGRAM_WINDOW, OPT_NO_CROP, OPT_DUMP, OPT_IMAGES, OPT_IMAGE_LINKS,
	OPT_DRAW, OPT_SKIP_TEXT, /* scan-archive.c */
};

/* One row per option (cmd/opts.h says how to add one): --help, the
 * completions and the parser below all read this table. */
static const cli_opt scan_opts[] = {
	{"model", 'm', "DIR|NAME", ARG_MODEL, .help = CLI_MODEL_HELP},
	{"format", 'f', "FMT", ARG_CHOICE, .choices = "markdown|json|jsonl|text|raw|pdf|hocr|md",
	 .help = "markdown (default; md), json, jsonl, text, raw,\n"
		 "pdf (searchable PDF) or hocr"},
	{"mode", OPT_MODE, "MODE", ARG_CHOICE, .choices = "document|free",
	 .help = "document (layout + Markdown, default) or free (plain text)"},
	{"prompt", OPT_PROMPT, "TEXT", ARG_TEXT,
	 .help = "any other prompt; \\n is a newline, \\\\ a backslash\n"
		 "(\"<image>\\n\" is prepended when absent)"},
	{"pages", 'p', "LIST", ARG_TEXT, .help = "pages to read, e.g. 1,3-5,9- (default all)"},
	{"dpi", 'r', "N", ARG_NUM, .range = &RANGE_DPI,
	 .help = "raster resolution for PDF pages, 1-2400 (default 144)"},
	{"output", 'o', "PATH", ARG_FILE, .help = "a file for one input, a directory for several"},
	{"recursive", 'R', NULL, ARG_NONE, .help = "read directories recursively"},
	{"force", OPT_FORCE, NULL, ARG_NONE, .help = "redo outputs that already exist"},
	{"shard", OPT_SHARD, "K/N", ARG_TEXT,
	 .help = "process only the K-th of N deterministic slices"},
	{"threads", 't', "N", ARG_INT, .range = &RANGE_THREADS,
	 .help = "threads (default 0: the CPUs this process may use)"},
	{"max-tokens", OPT_MAX_TOKENS, "N", ARG_INT, .range = &RANGE_TOKENS,
	 .help = "stop a page after N tokens (default 8192)"},
	{"ngram", OPT_NGRAM, "N", ARG_INT, .range = &RANGE_NGRAM,
	 .help = "repetition guard n-gram size, 0 = off (default 20)"},
	{"ngram-window", OPT_NGRAM_WINDOW, "W", ARG_INT, .range = &RANGE_NGRAM,
	 .help = "repetition guard window in tokens (default 50)"},
	{"no-crop", OPT_NO_CROP, NULL, ARG_NONE, .help = "global 1024x1024 view only, no tiles"},
	{"dump", OPT_DUMP, "DIR", ARG_DIR,
	 .help = "write features, logits and tokens per page to DIR"},
	{"images", OPT_IMAGES, "DIR", ARG_DIR,
	 .help = "save figure regions as PNG in DIR and link them\n"
		 "(markdown, json, jsonl; text and raw cannot link)"},
	{"image-links", OPT_IMAGE_LINKS, "KIND", ARG_CHOICE, .choices = "none|official",
	 .help = "figure links without --images: none (default) or the\n"
		 "official script's images/N.jpg, a file ocr2 never writes"},
	{"draw", OPT_DRAW, "DIR", ARG_DIR,
	 .help = "save each page with its layout boxes as PNG in DIR"},
	{"skip-text", OPT_SKIP_TEXT, NULL, ARG_NONE,
	 .help = "PDF pages that carry text: their own text, no model"},
	{"quiet", 'q', NULL, ARG_NONE, .help = "no progress line and no notices"},
	{"verbose", 'v', NULL, ARG_NONE, .help = "timings per stage for every page"},
	CLI_OPT_HELP,
	CLI_OPT_END,
};

const cli_cmd cli_scan = {
	.name = "scan",
	.synopsis = "[options] INPUT...",
	.about = "INPUT is a PDF, TIFF, PNG or JPEG file, '-' for standard input, or a directory\n"
		 "(its supported files, in natural order: f2 before f10; -R recurses).\n",
	.opts = scan_opts,
	.after = "Exit status: 0 all pages ok, 1 some input or page failed or was truncated,\n"
		 "2 usage error, 3 model missing or invalid, 130 interrupted. See ocr2-scan(1).\n",
	.operands = ARG_FILE,
	.help = "read documents and write Markdown, JSON, text, searchable PDF or hOCR",
};

#define BAD(...)                                                                                    \
	do {                                                                                       \
		cli_usage(&cli_scan, __VA_ARGS__);                                                 \
		return EXIT_USAGE;                                                                 \
	} while (0)

/* --prompt's escapes: \n is a newline and \\ a backslash, as the help shows
 * the prompts; any other backslash stays as typed. false when too long. */
static bool unescape_prompt(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (; *s; s++) {
		char c = *s;
		if (c == '\\' && (s[1] == 'n' || s[1] == '\\'))
			c = *++s == 'n' ? '\n' : '\\';
		if (k + 1 >= n)
			return false;
		out[k++] = c;
	}
	out[k] = 0;
	return true;
}

static int parse_options(int argc, char **argv, options *o)
{
	memset(o, 0, sizeof *o);
	o->fmt = FMT_MARKDOWN;
	o->dpi = 144;
	o->max_tokens = 8192;
	o->ngram = 20;
	o->ngram_window = 50;
	cli_parser p;
	cli_begin(&p, &cli_scan, argc, argv);
	int c;
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'm': o->model = p.arg; break;
		case 'f': o->fmt = strcmp(p.arg, "md") ? p.choice : FMT_MARKDOWN; break;
		case OPT_MODE: o->free_mode = p.choice == 1; break;
		case OPT_PROMPT: o->prompt = p.arg; break;
		case 'p': o->pages = p.arg; break;
		case 'r': o->dpi = p.x; break;
		case 'o': o->output = p.arg; break;
		case 'R': o->recursive = true; break;
		case OPT_FORCE: o->force = true; break;
		case OPT_SHARD: {
			int k, n;
			if (ocr2_shard_parse(p.arg, &k, &n) != OCR2_OK)
				BAD("--shard %s: not K/N with 1 <= K <= N", p.arg);
			o->shard_k = k;
			o->shard_n = n;
			break;
		}
		case 't': o->threads = cli_threads("scan", (int)p.n); break;
		case OPT_MAX_TOKENS: o->max_tokens = (int)p.n; break;
		case OPT_NGRAM: o->ngram = (int)p.n; break;
		case OPT_NGRAM_WINDOW: o->ngram_window = (int)p.n; break;
		case OPT_NO_CROP: o->no_crop = true; break;
		case OPT_DUMP: o->dump = p.arg; break;
		case OPT_IMAGES: o->images = p.arg; break;
		case OPT_IMAGE_LINKS: o->official_links = p.choice == 1; break;
		case OPT_DRAW: o->draw = p.arg; break;
		case OPT_SKIP_TEXT: o->skip_text = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		}
	}
	if (c < 0)
		return c == CLI_HELP ? -1 : EXIT_USAGE;
	optind = p.optind;
	if (o->images && (o->fmt == FMT_TEXT || o->fmt == FMT_RAW))
		BAD("--images: -f %s has no figure links; use -f markdown, json or jsonl",
		    fmt_names[o->fmt]);
	if (o->images && o->official_links)
		BAD("--images links the PNGs it writes; --image-links official is for no --images");
	return 0;
}

/* Standard output and error are the same terminal: a progress line there
 * would mix with the results. */
static bool same_terminal(void)
{
	struct stat a, b;
	return isatty(STDOUT_FILENO) && fstat(STDOUT_FILENO, &a) == 0 &&
	       fstat(STDERR_FILENO, &b) == 0 && a.st_rdev == b.st_rdev;
}

int cmd_scan(int argc, char **argv)
{
	run r;
	memset(&r, 0, sizeof r);
	hold_std_fds();
	int rc = parse_options(argc, argv, &r.o);
	if (rc < 0)
		return EXIT_OK;
	if (rc)
		return rc;
	options *o = &r.o;
	input_list l = {0};
	bool *run_it = NULL;
	if (optind >= argc)
		BAD("no input");
	if (o->fmt == FMT_PDF && !o->output && isatty(STDOUT_FILENO))
		BAD("-f pdf writes a binary file: give -o FILE, or redirect standard output");
	if (o->pages && ocr2_pagesel_parse(o->pages, &r.sel) != OCR2_OK)
		BAD("-p %s", ocr2_errmsg());
	if (o->prompt) {
		char text[sizeof r.prompt_buf];
		if (!unescape_prompt(o->prompt, text, sizeof text))
			BAD("--prompt: longer than %zu bytes", sizeof text - 16);
		if (strstr(text, "<image>"))
			snprintf(r.prompt_buf, sizeof r.prompt_buf, "%s", text);
		else if (snprintf(r.prompt_buf, sizeof r.prompt_buf, "<image>\n%s", text) >=
			 (int)sizeof r.prompt_buf)
			BAD("--prompt: longer than %zu bytes", sizeof text - 16);
		r.prompt = r.prompt_buf;
	} else {
		r.prompt = o->free_mode ? OCR2_PROMPT_FREE : OCR2_PROMPT_DOCUMENT;
	}
	o->key_prompt = r.prompt;
	o->fmt_name = fmt_names[o->fmt];
	if (o->output && !strcmp(o->output, "-"))
		o->output = NULL; /* standard output, as without -o */

	/* expand the inputs */
	bool any_dir = false;
	int n_stdin = 0;
	if (!inputs_expand(&l, argv + optind, argc - optind, o->recursive, &any_dir, &n_stdin))
		worse(&r, EXIT_PARTIAL);
	if (n_stdin > 1) {
		cli_error("scan", "'-' (standard input) given more than once");
		r.status = EXIT_USAGE;
		goto out;
	}

	/* where the outputs go */
	if (!o->output && (l.n > 1 || any_dir) && o->fmt != FMT_JSON && o->fmt != FMT_JSONL) {
		cli_error("scan", "several inputs need -o DIR (or -f json/jsonl to write them all "
				  "to stdout)");
		r.status = EXIT_USAGE;
		goto out;
	}
	if (o->output)
		inputs_name_outputs(&l, o->output, any_dir, fmt_ext[o->fmt]);

	/* the shard, then what is already done */
	int todo = 0, skipped = 0, collide = 0;
	run_it = calloc((size_t)l.n + 1, sizeof *run_it);
	if (!run_it) {
		cli_error("scan", "out of memory");
		r.status = EXIT_PARTIAL;
		goto out;
	}
	inputs_select(&l, o, run_it, &todo, &skipped, &collide);
	if (collide)
		worse(&r, EXIT_PARTIAL);
	if (l.n == 0 && r.status == EXIT_OK) {
		msg("no PDF, TIFF, PNG or JPEG file in the inputs");
		worse(&r, EXIT_PARTIAL);
	}

	install_signals();
	/* results on the terminal the line would be drawn on: no line */
	g_prog.on = !o->quiet && isatty(STDERR_FILENO) && !(!o->output && same_terminal());
	g_prog.n_files = todo;
	g_prog.t_start = now_s();
	r.n_done_before = skipped;
	int k = 0;
	for (int i = 0; i < l.n && todo > 0; i++) {
		if (!run_it[i])
			continue;
		g_prog.file_i = ++k;
		if (g_cancel || !do_input(&r, &l.v[i]))
			break;
	}
	if (g_cancel)
		worse(&r, EXIT_INTERRUPTED);
	progress_clear();
	/* standard output checked to the end, as coreutils' close_stdout does */
	int e = flush_error(stdout);
	if (e)
		write_failed(&r, NULL, e, true);
	if (fclose(stdout) != 0 && !e)
		write_failed(&r, NULL, errno, true);
	if (r.broken_pipe)
		end_by_sigpipe();
	if (r.status == EXIT_INTERRUPTED) {
		ocr2_atomic_abort(&g_tmp[0]);
		ocr2_atomic_abort(&g_tmp[1]);
		if (r.lost_to_stdout)
			msg("interrupted; %d page%s written to standard output %s not kept for a "
			    "re-run (-o FILE keeps finished pages)",
			    r.lost_to_stdout, r.lost_to_stdout == 1 ? "" : "s",
			    r.lost_to_stdout == 1 ? "is" : "are");
		else
			msg("interrupted; finished outputs and journaled pages are kept, a re-run "
			    "resumes");
	}
	if (!o->quiet && r.status != EXIT_MODEL)
		summary(&r, collide);

out:
	ocr2_model_free(r.model);
	ocr2_pagesel_free(r.sel);
	inputs_free(&l);
	free(run_it);
	return r.status;
}
