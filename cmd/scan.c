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

/* The figure being written: committed when done, aborted on failure, and
 * aborted by cmd_scan after an interrupt (the signal handler only sets
 * g_cancel; nothing is removed from inside it). The documents' outputs are
 * their inputs' (job.tmp), aborted when the run stops (drop_all). */
static ocr2_atomic g_fig;

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
	char model_err[1024]; /* why the model is missing */
	bool stop;            /* end the batch now: full disk, stdout gone */
	bool halt;            /* end it too: no model, interrupted while opening */
	bool broken_pipe;     /* stdout's reader went away: end as SIGPIPE would */
	/* the summary line */
	int n_inputs, n_done_before, n_unreadable;
	int n_ok, n_truncated, n_failed, n_kept;
	int lost_to_stdout;   /* finished pages of interrupted stream outputs */
	/* pages in flight (run_inputs): the batch, made with the model; the open
	 * inputs and their pages, each queue in order; pages of failed inputs
	 * still decoding */
	ocr2_batch *batch;
	struct job *jobs, *jobs_tail;
	struct pend *pend, *pend_tail, *orphans;
	int n_pend;
	double t_page_out;    /* when the last page was written (the ETA) */
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
	mp.precision = r->o.precision;
	mp.kv_cache = r->o.kv_cache;
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
	/* bf16 asked for on a CPU without it: a notice; with -v what runs */
	const char *notice, *runs = cli_precision_run(r->o.precision, &notice);
	if (notice && !r->o.quiet)
		msg("%s", notice);
	if (r->o.verbose)
		msg("encoder in %s", runs);
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
		if (ocr2_atomic_open(&g_fig, path, OCR2_ATOMIC_SHARED) != 0) {
			if (disk_full(errno))
				write_failed(r, path, errno, false);
			else
				msg("%s: cannot create: %s", path, strerror(errno));
			ok = false;
		} else if (ocr2_image_write_png(&crop, g_fig.tmp) != OCR2_OK) {
			msg("%s", ocr2_errmsg());
			ocr2_atomic_abort(&g_fig);
			ok = false;
		} else if (ocr2_atomic_commit(&g_fig) != 0) {
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

/* An input from its opening to its end. Inputs wait in a queue, in input
 * order: the next input's pages join the batch while this one's last pages
 * still decode, but only the queue's head writes (its writer began), so that
 * outputs on standard output follow each other whole. */
typedef struct job {
	struct job *next;
	const input *in;
	char *unreadable;       /* not NULL: the input could not be read; said in its turn */
	ocr2_doc *doc;
	doc_out d;
	archive ar;             /* -f pdf, -f hocr, --draw, --skip-text (scan-archive.c) */
	ocr2_atomic tmp;        /* the output's temporary, committed at the end */
	out_keys keys;
	bool keyed;
	char *out;              /* the output, links followed */
	bool pdf_style;         /* PDF and TIFF figure links */
	char fname[16];         /* the document's format, lower case (the writer's) */
	int n, next_page;       /* the document's pages, the next one to start */
	bool begun;             /* writer_begin done: the head of the queue */
} job;

/* A page from its start to its place in the output: rendered and given to
 * the batch, back from it (done), then finished and written when every page
 * before it was (the page queue, in input and page order). It keeps its
 * image until then: the figures and the archive outputs draw on it. */
enum { PG_MODEL, PG_REPLAY, PG_UNSELECTED };

typedef struct pend {
	struct pend *next;
	job *j;                 /* NULL: its input failed while it decoded (dropped when back) */
	int kind, index;
	const journal_page *jp; /* PG_REPLAY */
	bool in_batch, done;
	bool interrupted, failed, no_model;
	page_rec p;
	ocr2_image img;
	ocr2_result res;
	double t0, t_render, t_done;
	int live_tokens;        /* on_token's count, in g_prog.page_tokens until it ends */
	char dump[PATH_MAX];    /* --dump: the page's folder (the batch keeps a pointer) */
	char errbuf[PATH_MAX + 1024];
} pend;

static void pend_free(pend *pg)
{
	if (!pg)
		return;
	g_prog.page_tokens -= pg->live_tokens;
	ocr2_image_free(&pg->img);
	ocr2_result_free(&pg->res);
	ocr2_blocks_free(&pg->p.blocks);
	free(pg->p.markdown);
	free(pg);
}

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
static bool replay_page(run *r, job *j, int index, const journal_page *jp)
{
	doc_out *d = &j->d;
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
		if (ocr2_doc_render(j->doc, index, &img) != OCR2_OK) {
			msg("%s", errmsg_for_page(d->in->path, p.page));
			worse(r, EXIT_PARTIAL);
		}
	}
	if (!archive_page(&j->ar, index, img.rgb ? &img : NULL, &p))
		worse(r, EXIT_PARTIAL);
	ocr2_image_free(&img);
	bool ok = put_page(r, d, &p, false);
	ocr2_blocks_free(&p.blocks);
	return ok;
}

/* The batch, made with the model: --batch N, else the size measured to
 * decode fastest, lowered to fit the memory (ocr2_batch_default). */
static bool batch_open(run *r)
{
	if (r->batch)
		return true;
	int n = r->o.batch ? r->o.batch : ocr2_batch_default(r->model, r->o.max_tokens);
	int fit = ocr2_batch_fit(r->model, r->o.max_tokens);
	if (r->o.batch && fit > 0 && r->o.batch > fit && !r->o.quiet)
		msg("notice: --batch %d: only %d pages' caches fit the memory left at --max-tokens %d "
		    "each; pages that run that long may exhaust it", r->o.batch, fit, r->o.max_tokens);
	if (ocr2_batch_new(r->model, n, &r->batch) != OCR2_OK) {
		msg("%s", ocr2_errmsg());
		return false;
	}
	return true;
}

/* A page is back from the model (or never got into the batch) with status s. */
static void page_returned(pend *pg, ocr2_status s)
{
	pg->in_batch = false;
	pg->done = true;
	pg->t_done = now_s();
	if (s == OCR2_ERR_INTERRUPTED || g_cancel) {
		pg->interrupted = true;
	} else if (s != OCR2_OK) {
		snprintf(pg->errbuf, sizeof pg->errbuf, "%s",
			 errmsg_for_page(pg->j ? pg->j->in->path : "", pg->p.page));
		pg->failed = true;
	}
}

/* The first half of a page that needs the model: rendered, then --skip-text's
 * text layer, or into the batch. A page that does not get there is done at
 * once (failed, interrupted or a text layer). */
static void page_start(run *r, pend *pg)
{
	job *j = pg->j;
	const input *in = j->in;
	page_rec *p = &pg->p;
	int index = pg->index;
	p->page = index + 1;
	p->dpi = ocr2_doc_format(j->doc) == OCR2_FMT_PDF ? r->o.dpi : 0;
	p->status = "ok";
	pg->t0 = now_s();
	pg->done = true; /* unless it gets into the batch */

	g_prog.page = p->page;
	progress_draw(true);

	ocr2_status s = ocr2_doc_render(j->doc, index, &pg->img);
	pg->t_render = now_s() - pg->t0;
	if (s != OCR2_OK) {
		snprintf(pg->errbuf, sizeof pg->errbuf, "%s", errmsg_for_page(in->path, p->page));
		pg->failed = true;
		return;
	}
	p->width = pg->img.width;
	p->height = pg->img.height;
	if (ocr2_doc_render_dpi(j->doc) > 0 && ocr2_doc_render_dpi(j->doc) < p->dpi) {
		/* over the pixel limit at -r: drawn at the largest dpi that fits */
		if (!r->o.quiet)
			msg("notice: %s: page %d: drawn at %g dpi, the most that fits the limit of "
			    "%lld pixels (-r %g)", in->path, p->page, ocr2_doc_render_dpi(j->doc),
			    (long long)ocr2_doc_default_params().max_pixels, r->o.dpi);
		p->dpi = ocr2_doc_render_dpi(j->doc);
	}
	if (g_cancel) {
		pg->interrupted = true;
		return;
	}
	/* --skip-text (scan-archive.c): a page with its own text skips the model,
	 * which is loaded by the first page that needs it */
	int text_layer = archive_text_layer(&j->ar, index, p, pg->errbuf, sizeof pg->errbuf);
	if (text_layer) {
		pg->failed = text_layer < 0;
		return;
	}
	if (!load_model(r)) {
		snprintf(pg->errbuf, sizeof pg->errbuf, "no model: %s", r->model_err);
		pg->failed = pg->no_model = true;
		j->ar.need_model++;
		return;
	}
	if (!batch_open(r)) {
		snprintf(pg->errbuf, sizeof pg->errbuf, "%s", ocr2_errmsg());
		pg->failed = true;
		return;
	}

	ocr2_recognize_params rp = ocr2_recognize_default_params();
	rp.prompt = r->prompt;
	rp.max_tokens = r->o.max_tokens;
	rp.ngram = r->o.ngram;
	rp.ngram_window = r->o.ngram_window;
	rp.no_crop = r->o.no_crop;
	rp.cancel = &g_cancel;
	rp.on_token = on_token;
	rp.user = &pg->live_tokens;
	if (r->o.dump) {
		char *stem = with_ext(in->rel, "");
		char page[32];
		snprintf(page, sizeof page, "page-%d", p->page);
		char *doc_dir = oom_check(ocr2_path_join(r->o.dump, stem));
		char *page_dir = join(doc_dir, page);
		snprintf(pg->dump, sizeof pg->dump, "%s", page_dir);
		free(page_dir);
		free(doc_dir);
		free(stem);
		if (mkdirs(pg->dump, true) != 0) {
			snprintf(pg->errbuf, sizeof pg->errbuf, "--dump %s: %s", pg->dump,
				 strerror(errno));
			pg->failed = true;
			return;
		}
		rp.dump_dir = pg->dump;
	}
	s = ocr2_batch_add(r->batch, &pg->img, &rp, pg);
	if (s == OCR2_OK) {
		pg->in_batch = true;
		pg->done = false;
		return;
	}
	page_returned(pg, s); /* failed as ocr2_recognize would have */
}

/* The second half of a page that went to the model, in its turn: its blocks,
 * figures and Markdown, its archive outputs, then the output. Returns false
 * when its input must stop (interrupted, or see put_page). */
static bool page_finish(run *r, pend *pg)
{
	job *j = pg->j;
	doc_out *d = &j->d;
	const input *in = j->in;
	page_rec *p = &pg->p;
	ocr2_result *res = &pg->res;
	int index = pg->index;
	/* the time it waited for the pages before it is not its own */
	double t_wait = now_s() - pg->t_done;
	bool interrupted = pg->interrupted, failed = pg->failed, no_model = pg->no_model;
	char *errbuf = pg->errbuf;
	size_t errn = sizeof pg->errbuf;
	if (interrupted || failed || !strcmp(p->status, "text-layer"))
		goto done;
	p->raw = res->text;
	p->tokens = res->n_tokens;
	p->prompt_tokens = res->n_prompt;
	if (res->status == OCR2_PAGE_TRUNCATED)
		p->status = "truncated";
	if (ocr2_blocks_parse(res->text, &p->blocks) != OCR2_OK) {
		snprintf(errbuf, errn, "%s", ocr2_errmsg());
		failed = true;
		goto done;
	}
	char tmpl[PATH_MAX + 32];
	const char *links = j->pdf_style ? "images/%p_%n.jpg" : NULL;
	int link_page = j->pdf_style ? index : p->page;
	if (r->o.fmt == FMT_TEXT || (!r->o.images && !r->o.official_links)) {
		links = ""; /* no link to a file nobody writes (--image-links) */
	} else if (r->o.images) {
		if (!save_figures(r, in, &pg->img, p, tmpl, sizeof tmpl))
			worse(r, EXIT_PARTIAL);
		links = tmpl;
		link_page = p->page;
		if (r->stop) {
			interrupted = true; /* a full disk: the page is not kept */
			goto done;
		}
	}
	if (ocr2_markdown_from_raw(res->text, link_page, links, &p->markdown) != OCR2_OK) {
		snprintf(errbuf, errn, "%s", ocr2_errmsg());
		failed = true;
		goto done;
	}
done:
	if (interrupted)
		return false;
	p->seconds = now_s() - t_wait - pg->t0;
	if (failed) {
		ocr2_blocks_free(&p->blocks);
		free(p->markdown);
		p->markdown = NULL;
		p->raw = NULL;
		p->status = "error";
		p->message = errbuf;
		if (!no_model) /* said once, when the model was loaded */
			msg("%s: page %d: %s", in->path, p->page, errbuf);
		worse(r, no_model ? EXIT_MODEL : EXIT_PARTIAL);
		r->n_failed++;
	} else if (!strcmp(p->status, "truncated")) {
		msg("%s: page %d: truncated after %d tokens (--max-tokens %d)", in->path, p->page,
		    p->tokens, r->o.max_tokens);
		worse(r, EXIT_PARTIAL);
		r->n_truncated++;
	} else {
		r->n_ok++;
	}
	if (!failed)
		d->w.n_good++;
	/* -f pdf, -f hocr, --draw (scan-archive.c) */
	if (!archive_page(&j->ar, index, p->width > 0 ? &pg->img : NULL, p))
		worse(r, EXIT_PARTIAL);
	bool ok = put_page(r, d, p, true);
	if (ok && r->o.verbose && !failed && strcmp(p->status, "text-layer")) {
		/* a rate only over enough time to mean something (one token takes
		 * no decode step: it comes from the prefill's logits) */
		char rate[32] = "";
		if (res->t_decode >= 0.05)
			snprintf(rate, sizeof rate, ", %.1f tok/s", res->n_tokens / res->t_decode);
		msg("%s: page %d: render %.2fs, preprocess %.2fs, encode %.2fs, prefill %.2fs, "
		    "decode %.2fs (%d tokens%s), total %.2fs",
		    in->path, p->page, pg->t_render, res->t_preprocess, res->t_encode,
		    res->t_prefill, res->t_decode, res->n_tokens, rate, p->seconds);
	}
	g_prog.pages_done++;
	g_prog.tokens += p->tokens;
	g_prog.page_tokens -= pg->live_tokens;
	pg->live_tokens = 0;
	/* pages decoded together overlap: the ETA counts the wall time between
	 * pages written, which is a page's own time when they go one by one */
	double t = now_s();
	g_prog.t_pages += r->batch && ocr2_batch_max(r->batch) > 1 ? t - r->t_page_out
								       : p->seconds;
	r->t_page_out = t;
	if (ok)
		progress_draw(true);
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

static void job_free(job *j)
{
	if (!j)
		return;
	archive_free(&j->ar);
	ocr2_atomic_abort(&j->tmp);
	journal_close(&j->d.jf);
	journal_free(&j->d.jr);
	free(j->d.journal_path);
	free(j->out);
	free(j->unreadable);
	ocr2_doc_free(j->doc);
	free(j);
}

static void job_push(run *r, job *j)
{
	if (r->jobs_tail)
		r->jobs_tail->next = j;
	else
		r->jobs = j;
	r->jobs_tail = j;
}

static job *job_pop(run *r)
{
	job *j = r->jobs;
	r->jobs = j->next;
	if (!r->jobs)
		r->jobs_tail = NULL;
	return j;
}

/* Opens an input: its document, its output's temporary, its journal, the
 * model when a page needs it, its archive outputs; then it joins the queue
 * (so does an unreadable input, said in its turn). Sets r->halt when the run
 * must end (model missing, interrupted). */
static void job_open(run *r, const input *in)
{
	ocr2_doc_params dp = ocr2_doc_default_params();
	dp.dpi = r->o.dpi;
	char stdin_sum[65] = "";
	job *j = calloc(1, sizeof *j);
	if (!j) {
		msg("out of memory");
		worse(r, EXIT_PARTIAL);
		r->halt = true;
		return;
	}
	j->in = in;
	j->d.jf.fd = -1;
	g_prog.name = in->rel;
	g_prog.page = 0;
	g_prog.doc_pages = 0;
	r->n_inputs++;
	ocr2_status os = open_doc(in, &dp, &j->doc, stdin_sum);
	g_prog.files_opened++;
	if (os == OCR2_ERR_INTERRUPTED && g_cancel) {
		r->halt = true;
		goto drop;
	}
	if (os != OCR2_OK) {
		j->unreadable = xstrdup(errmsg_for(in->path));
		job_push(r, j);
		return;
	}
	int n = ocr2_doc_page_count(j->doc), sel = 0;
	for (int i = 0; i < n; i++)
		sel += ocr2_pagesel_has(r->sel, i + 1) ? 1 : 0;
	g_prog.doc_pages = n;
	if (sel == 0) {
		char m[128];
		snprintf(m, sizeof m, "no page selected by -p %s (the document has %d)", r->o.pages,
			 n);
		j->unreadable = xstrdup(m);
		ocr2_doc_free(j->doc);
		j->doc = NULL;
		job_push(r, j);
		return;
	}
	j->n = n;

	doc_out *d = &j->d;
	d->in = in;
	d->jf.fd = -1;
	d->pipe = !in->out;
	j->keyed = in->out && output_keys(&r->o, in, *stdin_sum ? stdin_sum : NULL, &j->keys);
	j->out = in->out ? oom_check(ocr2_path_follow(in->out)) : NULL;
	if (in->out && *stdin_sum && !r->o.force && j->keyed && output_done_key(j->out, j->keys.whole)) {
		/* standard input's identity is known only now */
		if (r->o.verbose)
			msg("%s: %s is done, skipped", in->path, in->out);
		r->n_done_before++;
		r->n_inputs--;
		goto drop;
	}
	if (in->out) {
		ocr2_atomic_remove_stale(in->out);
		if (mkdirs(j->out, false) != 0 ||
		    ocr2_atomic_open(&j->tmp, in->out, OCR2_ATOMIC_SHARED) != 0) {
			int e = errno;
			if (disk_full(e))
				write_failed(r, in->out, e, false);
			else
				msg("%s: cannot create: %s", in->out, strerror(e));
			worse(r, EXIT_PARTIAL);
			goto drop;
		}
		d->w.f = j->tmp.f;
		d->name = in->out;
		d->pipe = j->tmp.direct;
		if (!j->tmp.direct && j->keyed) {
			/* a regular file: its finished pages are journaled beside it */
			d->journal_path = side_path(j->out, JOURNAL_SUFFIX);
			d->page_key = j->keys.pages;
			/* what a run killed while starting a journal or marking an
			 * output done left behind */
			ocr2_atomic_remove_stale(d->journal_path);
			char *mark = side_path(j->out, DONE_SUFFIX);
			ocr2_atomic_remove_stale(mark);
			free(mark);
			int jl = r->o.force ? 1 : journal_load(d->journal_path, &d->jr);
			if (jl < 0 && !r->o.quiet)
				msg("notice: %s: not a journal ocr2 can trust; ignored, its pages are "
				    "computed again",
				    d->journal_path);
			if (jl == 0 && strcmp(d->jr.key, j->keys.pages)) {
				/* abandoned: made for another input or other options */
				if (r->o.verbose)
					msg("%s: journal made with other options or input; started "
					    "again",
					    d->journal_path);
				journal_free(&d->jr);
			}
		}
	} else {
		d->w.f = stdout;
	}

	/* the model only when a page needs computing */
	int kept = 0;
	for (int i = 0; i < n; i++)
		if (ocr2_pagesel_has(r->sel, i + 1) && journal_find(&d->jr, i + 1))
			kept++;
	g_prog.pages_known += sel - kept;
	if (kept < sel && !r->o.skip_text && !load_model(r)) {
		if (!g_cancel)
			worse(r, EXIT_MODEL);
		r->halt = true;
		goto drop;
	}

	ocr2_format ff = ocr2_doc_format(j->doc);
	snprintf(j->fname, sizeof j->fname, "%s", ocr2_format_name(ff));
	for (char *c = j->fname; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	d->w = (writer){d->w.f, r->o.fmt, in->path, j->fname, 0, 0, !in->out || d->pipe};
	j->pdf_style = ff == OCR2_FMT_PDF || ff == OCR2_FMT_TIFF;
	/* -f pdf, -f hocr, --draw, --skip-text (scan-archive.c) */
	if (!archive_begin(&j->ar, &r->o, in, j->doc, d->w.f, d->w.stream)) {
		worse(r, EXIT_PARTIAL);
		goto drop;
	}
	job_push(r, j);
	return;
drop:
	job_free(j);
}

/* The head of the queue begins its output. */
static void job_begin(run *r, job *j)
{
	(void)r;
	progress_clear();
	writer_begin(&j->d.w);
	j->begun = true;
}

/* Interrupted, or the output, the journal or the disk failed: what is
 * journaled stays for the next run; a stream is closed so that it stays
 * valid. An input that did not begin yet wrote nothing. */
static void job_fail(run *r, job *j)
{
	const input *in = j->in;
	doc_out *d = &j->d;
	archive_free(&j->ar);
	if (j->begun && (!in->out || d->pipe)) {
		if (g_cancel && !r->broken_pipe) {
			writer_end(&d->w, true);
			flush_error(d->w.f);
		}
		if (!d->journal_path)
			r->lost_to_stdout += d->n_written;
	}
	if (j->begun && in->out && d->pipe && !r->broken_pipe)
		ocr2_atomic_commit(&j->tmp);
	ocr2_atomic_abort(&j->tmp);
}

/* After its last page: the document's end, the archive outputs, then the
 * output committed, marked done, its journal removed. */
static void job_end(run *r, job *j)
{
	const input *in = j->in;
	doc_out *d = &j->d;
	const char *out = j->out;
	writer_end(&d->w, false);
	int archived = archive_end(&j->ar, in->out && !d->pipe ? j->tmp.tmp : NULL, d->w.n_good);
	archive_free(&j->ar);
	if (archived) {
		ocr2_atomic_abort(&j->tmp);
		worse(r, archived);
		return;
	}
	int e = flush_error(d->w.f);
	if (e) {
		write_failed(r, d->name, e, d->pipe);
		ocr2_atomic_abort(&j->tmp);
		return;
	}
	if (!in->out)
		return;
	if (d->w.n_good == 0 && !d->pipe) {
		/* nothing but failed pages: no output, so a re-run tries again */
		ocr2_atomic_abort(&j->tmp);
		if (d->journal_path && d->jr.n == 0 && d->jf.fd < 0)
			journal_remove(d->journal_path);
		return;
	}
	/* the old mark goes before the output it describes; the new one comes
	 * after it, and the journal goes last: a crash in between leaves an
	 * output that is not marked done, and a journal that rebuilds it */
	bool complete = d->w.n_good == d->w.n_pages;
	if (!d->pipe && j->keyed)
		done_unmark(out);
	if (ocr2_atomic_commit(&j->tmp) != 0) {
		write_failed(r, in->out, errno, d->pipe);
		return;
	}
	if (d->pipe || !j->keyed)
		return;
	if (complete && done_mark(out, j->keys.whole) != 0) {
		int e = errno;
		char *mark = side_path(out, DONE_SUFFIX);
		write_failed(r, mark, e, false);
		free(mark);
		return;
	}
	if (complete) {
		journal_close(&d->jf);
		journal_remove(d->journal_path);
	}
	/* else the journal keeps the good pages: a re-run computes the failed ones */
}

static void pend_push(run *r, pend *pg)
{
	if (r->pend_tail)
		r->pend_tail->next = pg;
	else
		r->pend = pg;
	r->pend_tail = pg;
	r->n_pend++;
}

static pend *pend_pop(run *r)
{
	pend *pg = r->pend;
	r->pend = pg->next;
	if (!r->pend)
		r->pend_tail = NULL;
	pg->next = NULL;
	r->n_pend--;
	return pg;
}

/* Takes j's pages off the page queue (they lead it: j is the queue's head):
 * those still in the batch are dropped when they come back. */
static void pend_drop_job(run *r, job *j)
{
	while (r->pend && r->pend->j == j) {
		pend *pg = pend_pop(r);
		if (pg->in_batch) {
			pg->j = NULL;
			pg->next = r->orphans;
			r->orphans = pg;
		} else {
			pend_free(pg);
		}
	}
}

/* Writes what can be written, in order: the queue's head input begins, its
 * pages that are back go out, and it ends after its last one; then the next
 * input. Stops at the first page still decoding. */
static void flush(run *r)
{
	while (r->jobs && !r->stop && !r->halt) {
		job *j = r->jobs;
		bool pages_queued = r->pend && r->pend->j == j;
		if (j->begun && !pages_queued && j->next_page >= j->n) {
			job_end(r, j);
			job_free(job_pop(r));
			continue;
		}
		if (g_cancel)
			return;
		if (j->unreadable) {
			input_failed(r, j->in, j->unreadable);
			job_free(job_pop(r));
			continue;
		}
		if (!j->begun)
			job_begin(r, j);
		if (!pages_queued || !r->pend->done)
			return;
		pend *pg = pend_pop(r);
		bool ok;
		if (pg->kind == PG_UNSELECTED) {
			if (!archive_unselected(&j->ar, pg->index))
				worse(r, EXIT_PARTIAL);
			ok = true;
		} else if (pg->kind == PG_REPLAY) {
			ok = replay_page(r, j, pg->index, pg->jp);
		} else {
			ok = page_finish(r, pg);
		}
		pend_free(pg);
		if (!ok) {
			/* this output failed; the batch goes on unless the run stops */
			job_fail(r, j);
			pend_drop_job(r, j);
			job_free(job_pop(r));
		}
	}
}

/* Starts the next page of j: an unselected one (-f pdf keeps it), one from
 * the journal, or one for the model. */
static void start_next(run *r, job *j)
{
	int i = j->next_page++;
	pend *pg = calloc(1, sizeof *pg);
	if (!pg) {
		msg("out of memory");
		worse(r, EXIT_PARTIAL);
		r->halt = true;
		return;
	}
	pg->j = j;
	pg->index = i;
	pend_push(r, pg);
	if (!ocr2_pagesel_has(r->sel, i + 1)) {
		pg->kind = PG_UNSELECTED;
		pg->done = true;
	} else if ((pg->jp = journal_find(&j->d.jr, i + 1))) {
		pg->kind = PG_REPLAY;
		pg->done = true;
	} else {
		pg->kind = PG_MODEL;
		page_start(r, pg);
		if (pg->done)
			pg->t_done = now_s();
	}
}

/* Decodes until a page comes back, and marks it done. */
static void wait_one(run *r)
{
	void *tag = NULL;
	ocr2_result res;
	ocr2_status s = ocr2_batch_next(r->batch, &tag, &res);
	pend *pg = tag;
	if (!pg) /* the batch was empty */
		return;
	pg->res = res;
	if (!pg->j) { /* its input failed meanwhile: off the orphans' list */
		pend **at = &r->orphans;
		while (*at != pg)
			at = &(*at)->next;
		*at = pg->next;
		pend_free(pg);
		return;
	}
	page_returned(pg, s);
}

/* Ends what is still open when the run stops (interrupted, full disk,
 * standard output gone, model missing): the head's stream is closed validly,
 * the others wrote nothing; the pages in flight are dropped. */
static void drop_all(run *r)
{
	while (r->pend)
		pend_free(pend_pop(r));
	while (r->jobs) {
		job *j = job_pop(r);
		job_fail(r, j);
		job_free(j);
	}
	ocr2_batch_free(r->batch);
	r->batch = NULL;
	while (r->orphans) {
		pend *pg = r->orphans;
		r->orphans = pg->next;
		pend_free(pg);
	}
}

/* The run: inputs opened in order, their pages started while the batch has
 * room (and the pages waiting to be written stay few), a page decoded to its
 * end when it has none, and everything written in order as it can be. */
static void run_inputs(run *r, const input_list *l, const bool *run_it)
{
	int i = 0, k = 0;
	while (!g_cancel && !r->stop && !r->halt) {
		job *t = r->jobs_tail;
		bool in_flight = r->batch && ocr2_batch_count(r->batch) > 0;
		if (t && !t->unreadable && t->next_page < t->n) {
			if (in_flight && (ocr2_batch_count(r->batch) == ocr2_batch_max(r->batch) ||
					  r->n_pend >= 2 * ocr2_batch_max(r->batch) + 8))
				wait_one(r);
			else
				start_next(r, t);
		} else if (i < l->n) {
			if (run_it[i]) {
				g_prog.file_i = ++k;
				job_open(r, &l->v[i]);
			}
			i++;
		} else if (in_flight) {
			wait_one(r);
		} else {
			break; /* everything was written */
		}
		flush(r);
	}
	drop_all(r);
}

/* The reader of standard output went away: end as SIGPIPE ends the tools
 * around us (the shell sees 128 + 13), with everything kept as on SIGINT. */
static void end_by_sigpipe(void)
{
	ocr2_atomic_abort(&g_fig);
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
	OPT_BATCH,
	OPT_PRECISION,
	OPT_KV_CACHE,
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
	{"batch", OPT_BATCH, "N", ARG_INT, .range = &RANGE_BATCH,
	 .help = "pages decoded together, 1-256 (default 0: the size\n"
		 "measured fastest, lowered to fit the memory)"},
	{"precision", OPT_PRECISION, "P", ARG_CHOICE, .choices = CLI_PRECISION_CHOICES,
	 .help = CLI_PRECISION_HELP},
	{"kv-cache", OPT_KV_CACHE, "T", ARG_CHOICE, .choices = CLI_KV_CHOICES, .help = CLI_KV_HELP},
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
	int precision = -1;
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
		case OPT_BATCH: o->batch = (int)p.n; break;
		case OPT_PRECISION: precision = p.choice; break;
		case OPT_KV_CACHE: o->kv_cache = (ocr2_kv_type)p.choice; break;
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
	/* the choices are in ocr2_precision's order */
	o->precision = precision >= 0 ? (ocr2_precision)precision
				      : cli_precision_env("scan", o->quiet);
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
	r.t_page_out = g_prog.t_start;
	if (todo > 0)
		run_inputs(&r, &l, run_it);
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
		ocr2_atomic_abort(&g_fig);
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
