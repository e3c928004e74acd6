/* scan.h - what the parts of ocr2 scan share (cmd/scan*.c): the options,
 * the inputs and their outputs, one page's result, the writer, the progress line.
 *
 * scan.c        options and the run: model, pages, figures, outputs committed
 * scan-inputs.c inputs: arguments, directory walks, shards, names under -o
 * scan-write.c  the five output formats, page by page
 * scan-progress.c the progress line and the messages that clear it
 * scan-archive.c -f pdf, -f hocr, --draw and --skip-text
 * scan-resume.c what is kept between runs: keys, the done mark, journals
 * scan-journal.c the page journal's format (scan-journal.h) */
#ifndef OCR2_CMD_SCAN_H
#define OCR2_CMD_SCAN_H

#include <stdbool.h>
#include <stdio.h>

#include "cmd.h"
#include "scan-journal.h"

enum { FMT_MARKDOWN, FMT_JSON, FMT_JSONL, FMT_TEXT, FMT_RAW,
       FMT_PDF, FMT_HOCR /* scan-archive.c */ };

typedef struct {
	const char *model, *prompt, *pages, *output, *dump, *images;
	int fmt;
	bool free_mode;
	double dpi;
	int threads, max_tokens, ngram, ngram_window;
	int batch; /* --batch: pages decoded together, 0 = ocr2_batch_default */
	ocr2_precision precision; /* --precision, else cli_precision_env */
	ocr2_kv_type kv_cache;    /* --kv-cache */
	bool no_crop, recursive, force, quiet, verbose;
	bool official_links; /* --image-links official */
	int shard_k, shard_n;
	/* scan-archive.c */
	const char *draw;
	bool skip_text;
	/* set after parsing, for the keys of scan-resume.c */
	const char *fmt_name;   /* the -f name */
	const char *key_prompt; /* the prompt the model gets */
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

/* ---- inputs (scan-inputs.c) ---- */

/* Adds the INPUT arguments: "-", files as given, directories walked (false
 * when one could not be read: reported); counts the directories and "-". */
bool inputs_expand(input_list *l, char **args, int n, bool recursive, bool *any_dir,
		   int *n_stdin);
/* Each input's output under -o: the mirrored name with ext in the directory
 * -o names (several inputs, a directory, a trailing slash or an existing
 * directory), else -o itself. */
void inputs_name_outputs(input_list *l, const char *output, bool any_dir, const char *ext);
/* Marks run_it[i] for the inputs of this shard whose output is neither
 * there already (without --force: *skipped) nor another input's (*collide). */
void inputs_select(const input_list *l, const options *o, bool *run_it, int *todo, int *skipped,
		   int *collide);
void inputs_free(input_list *l);
/* s, or exit 1 with "out of memory" when it is NULL */
char *oom_check(char *s);
/* strdup or exit 1 with "out of memory" */
char *xstrdup(const char *s);
/* a/b; an empty a is the current directory */
char *join(const char *a, const char *b);
char *dir_of(const char *path);
/* mkdir -p of the directory part of path (or of path itself when whole). */
int mkdirs(const char *path, bool whole);
/* The path of file `target` relative to directory `from`, both existing. */
char *relative_to(const char *target, const char *from);
/* "dir/name.pdf" -> "dir/name" + ext */
char *with_ext(const char *rel, const char *ext);

/* ---- what is kept between runs (scan-resume.c) ---- */

#define DONE_SUFFIX ".ocr2-done"       /* beside the output: its key, once finished */
#define JOURNAL_SUFFIX ".ocr2-journal" /* beside the output: its finished pages */

typedef struct {
	char whole[JOURNAL_KEY_LEN + 1]; /* the finished output's (page list included) */
	char pages[JOURNAL_KEY_LEN + 1]; /* a journaled page's */
} out_keys;

/* The keys of in's output: false when the input cannot be stat'ed.
 * stdin_sum: the hex SHA-256 of standard input's bytes, for "-" (else NULL). */
bool output_keys(const options *o, const input *in, const char *stdin_sum, out_keys *k);
/* "DIR/.NAME" + suffix for the output DIR/NAME (links already followed). */
char *side_path(const char *out, const char *suffix);
/* out (links followed) is a regular file marked done with key (a journal
 * left beside it is then removed). */
bool output_done_key(const char *out, const char *key);
/* output_done_key for a file input's output, its key computed from o. */
bool output_done(const input *in, const options *o);
/* Marks out (links followed) done with key, atomically. 0, or -1 with errno. */
int done_mark(const char *out, const char *key);
/* Removes out's done mark (before the output is replaced). */
void done_unmark(const char *out);
/* Reads and parses the journal at path: 0, 1 when there is none, -1 when it
 * cannot be read or does not parse (j empty). */
int journal_load(const char *path, journal *j);
/* Removes a journal (and fsyncs its directory). */
void journal_remove(const char *path);

/* ---- writers (scan-write.c) ---- */

typedef struct {
	int page;                /* 1-based */
	int width, height;       /* 0 when the page could not be rendered */
	double dpi;              /* <= 0 for raster inputs */
	const char *status;      /* "ok", "truncated", "error", "text-layer" */
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
	bool stream;            /* standard output, a FIFO or a device */
} writer;

void writer_begin(writer *w);
void writer_page(writer *w, const page_rec *p);
/* The end of the document; an interrupted JSON document is closed too (its
 * object then says "interrupted": true), so that a stream stays valid. */
void writer_end(writer *w, bool interrupted);
/* For a stream (-f json or jsonl on standard output): the record of an input
 * that could not be read, so that every input has one (ocr2-json(5)). */
void writer_error(writer *w, const char *message);

/* ---- archive outputs (scan-archive.c) ---- */

/* One input's -f pdf / -f hocr output, --draw pictures and --skip-text pages.
 * Zeroed before archive_begin; archive_free releases it on every path. */
typedef struct {
	const options *o;
	const input *in;
	ocr2_doc *doc;
	bool is_pdf;       /* the input is a PDF */
	FILE *f;           /* -f hocr: the output stream */
	bool stream;       /* flush it after every page */
	ocr2_pdf *pdf;     /* -f pdf: the searchable PDF being built */
	int need_model;    /* pages that went without the model they needed */
} archive;

/* Before the first page: -f pdf starts the PDF, -f hocr writes the head.
 * False (reported) when the input cannot get its output. */
bool archive_begin(archive *a, const options *o, const input *in, ocr2_doc *doc, FILE *f,
		   bool stream);
/* A page -p did not select: -f pdf keeps it without text (a PDF page passes
 * through; an image page is appended). False (reported) on failure. */
bool archive_unselected(archive *a, int index);
/* --skip-text: 1 when page index of a PDF carries text, p then being a
 * "text-layer" page (the PDF's text as its Markdown and raw text, one block
 * without a box); 0 when the page needs the model; -1 with err on failure. */
int archive_text_layer(archive *a, int index, page_rec *p, char *err, size_t n);
/* After a page (any status): its text layer (-f pdf), its ocr_page (-f hocr),
 * its layout picture (--draw). img is NULL when the page was not rendered.
 * False (reported) when one of them failed. */
bool archive_page(archive *a, int index, const ocr2_image *img, const page_rec *p);
/* After the last page: writes the PDF to tmp (the output stream a->f when
 * NULL: standard output, a FIFO or a device;
 * nothing when tmp is set and n_good is 0) and the hOCR's end. Returns 0
 * when the output may be committed, else the exit code (reported): a write
 * failed (EXIT_PARTIAL), or pages needed a model that could not be loaded
 * (EXIT_MODEL: no file, so a re-run with the model does them). */
int archive_end(archive *a, const char *tmp, int n_good);
void archive_free(archive *a);

/* ---- progress and messages (scan-progress.c) ---- */

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

extern progress g_prog;

double now_s(void);
void progress_clear(void);
void progress_draw(bool force);
/* ocr2_recognize_params.on_token, user the page's own count (an int, 0 at
 * its start): g_prog.page_tokens sums the pages in flight; redraws */
void on_token(void *user, int n);
/* "ocr2 scan: ..." on stderr, the progress line cleared first */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The library's message, without a leading "NAME: " when NAME is the file
 * the caller names anyway. */
const char *errmsg_for(const char *name);
/* errmsg_for, less a leading "page N: " too, for the caller that names the page */
const char *errmsg_for_page(const char *name, int page);

#endif
