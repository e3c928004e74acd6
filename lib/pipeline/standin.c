/* standin.c - a canned-text model for the CLI tests: every page "recognises" as
 * the text of the file $OCR2_STAND_IN. Compiled to nothing without -Dstand_in=true. */
#include "ocr2-config.h"
#if OCR2_STAND_IN

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "pipeline/pipeline.h"

/*
 * Knobs, read once at load (all optional):
 *   OCR2_STAND_IN=FILE           the text returned for every page, verbatim, but
 *                                for "{image}" in it, which becomes the page
 *                                image's WIDTHxHEIGHT-FNV (a hash of its pixels), so
 *                                that pages differ and tests can tell them apart
 *   OCR2_STAND_IN_FAIL=I,J,...   the I-th, J-th ... call to ocr2_recognize in this
 *                                process (1-based) fails with OCR2_ERR_INTERNAL
 *   OCR2_STAND_IN_DELAY_MS=N     each page takes N ms, spent in 10 ms steps that
 *                                poll the cancel flag (for the SIGINT tests)
 *   OCR2_STAND_IN_LOAD_MS=N      loading takes N ms, in 10 ms steps that poll the
 *                                model's cancel flag (a slow model load)
 *   OCR2_STAND_IN_STEPS=A,B,...  in a batch (ocr2_batch_*), a page stays for its
 *                                tokens plus the next of these in turn (extra
 *                                decode steps), so that pages end out of order
 *   OCR2_STAND_IN_LOG=FILE       each call appends "WIDTHxHEIGHT-FNV\n" (the page it
 *                                was given) to FILE, before any work: the pages
 *                                the model was asked to compute
 *   OCR2_STAND_IN_IDS=FILE       the page's tokens are the whitespace-separated ids
 *                                in FILE and its text their decode by the tokenizer
 *                                OCR2_STAND_IN_TOKENIZER=tokenizer.json, as the
 *                                real pipeline decodes what it generates
 * With a dump folder it writes tokens.txt and a dump.json holding the prompt and
 * generation parameters it received, so tests can see what reached the model.
 * One stand-in "token" is one UTF-8 character, so --max-tokens cuts the text
 * where a real generation would be cut (mid-tag included) and reports TRUNCATED.
 */
struct ocr2_standin {
	char *text;
	size_t len;
	int *fail;
	int n_fail;
	int *steps;              /* OCR2_STAND_IN_STEPS */
	int n_steps, step_at;
	long delay_ms;
	int calls;
	char *log;
	int32_t *ids;            /* OCR2_STAND_IN_IDS */
	int n_ids;
	ocr2_tokenizer *tok;
};

void ocr2_standin_free(ocr2_standin *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->fail);
	free(s->steps);
	free(s->log);
	free(s->ids);
	ocr2_tokenizer_free(s->tok);
	free(s);
}

static void sleep_ms(long ms);

/* OCR2_STAND_IN_IDS and OCR2_STAND_IN_TOKENIZER */
static ocr2_status load_ids(ocr2_standin *s, const char *ids_path)
{
	const char *tp = getenv("OCR2_STAND_IN_TOKENIZER");
	if (!tp || !*tp)
		return ocr2_fail(OCR2_ERR_MODEL, "OCR2_STAND_IN_IDS needs OCR2_STAND_IN_TOKENIZER");
	ocr2_status st = ocr2_tokenizer_load(tp, &s->tok);
	if (st)
		return st;
	char *text;
	size_t n;
	if ((st = ocr2_read_file(ids_path, SIZE_MAX, OCR2_ERR_MODEL, &text, &n)))
		return st;
	s->ids = malloc((n / 2 + 1) * sizeof *s->ids);
	if (!s->ids) {
		free(text);
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	}
	for (char *p = text, *end;; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		s->ids[s->n_ids++] = (int32_t)v;
	}
	free(text);
	return OCR2_OK;
}

/* "1,5,9" into a malloc'd array (NULL text: none); false when out of memory. */
static bool int_list(const char *e, int **out, int *n)
{
	*n = 0;
	if (!e || !*e)
		return true;
	if (!(*out = calloc(strlen(e) + 1, sizeof **out)))
		return false;
	for (const char *p = e; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		(*out)[(*n)++] = (int)v;
		p = *end == ',' ? end + 1 : end;
	}
	return true;
}

long ocr2_standin_steps(ocr2_standin *s, const ocr2_result *r)
{
	long extra = s->n_steps ? s->steps[s->step_at++ % s->n_steps] : 0;
	return r->n_tokens + (extra > 0 ? extra : 0);
}

ocr2_status ocr2_standin_load(const char *path, volatile int *cancel, ocr2_standin **out)
{
	*out = NULL;
	ocr2_standin *s = calloc(1, sizeof *s);
	if (!s)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ocr2_standin_free(s);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: stand-in text: %s", path, strerror(e));
	}
	int r = ocr2_read_fd(fd, SIZE_MAX, &s->text, &s->len);
	close(fd);
	if (r != 0) {
		ocr2_standin_free(s);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: cannot read stand-in text", path);
	}

	if (!int_list(getenv("OCR2_STAND_IN_FAIL"), &s->fail, &s->n_fail) ||
	    !int_list(getenv("OCR2_STAND_IN_STEPS"), &s->steps, &s->n_steps)) {
		ocr2_standin_free(s);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	}
	const char *e;
	e = getenv("OCR2_STAND_IN_DELAY_MS");
	if (e && *e)
		s->delay_ms = strtol(e, NULL, 10);
	e = getenv("OCR2_STAND_IN_LOG");
	if (e && *e && !(s->log = strdup(e))) {
		ocr2_standin_free(s);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	}
	e = getenv("OCR2_STAND_IN_IDS");
	if (e && *e) {
		ocr2_status st = load_ids(s, e);
		if (st) {
			ocr2_standin_free(s);
			return st;
		}
	}
	e = getenv("OCR2_STAND_IN_LOAD_MS");
	for (long ms = e && *e ? strtol(e, NULL, 10) : 0; ms > 0; ms -= 10) {
		if (cancel && *cancel) {
			ocr2_standin_free(s);
			return ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: loading cancelled", path);
		}
		sleep_ms(10);
	}
	*out = s;
	return OCR2_OK;
}

/* "WxH-FNV": the page image, named by its size and a hash of its pixels */
static void image_id(const ocr2_image *img, char *buf, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t bytes = (size_t)img->width * (size_t)img->height * 3;
	for (size_t i = 0; i < bytes; i++)
		h = (h ^ img->rgb[i]) * 0x100000001b3ull;
	snprintf(buf, n, "%dx%d-%016llx", img->width, img->height, (unsigned long long)h);
}

/* s->text with "{image}" replaced by id; malloc'd */
static char *page_text(const ocr2_standin *s, const char *id, size_t *len)
{
	size_t idl = strlen(id), n = 0, cap = s->len + 1;
	for (const char *p = s->text; (p = strstr(p, "{image}")); p += 7)
		cap += idl;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	for (size_t i = 0; i < s->len;) {
		if (s->len - i >= 7 && !memcmp(s->text + i, "{image}", 7)) {
			memcpy(t + n, id, idl);
			n += idl;
			i += 7;
		} else {
			t[n++] = s->text[i++];
		}
	}
	t[n] = 0;
	*len = n;
	return t;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		break; /* a signal ends the nap early: the caller polls the flag */
}

/* tokens.txt, and dump.json with the parameters it was called with (so the
 * CLI tests can see what reached the model) */
static ocr2_status write_dump(const char *dir, const ocr2_result *r, const ocr2_image *img,
			      const ocr2_recognize_params *p)
{
	char *path = ocr2_path_join(dir, "tokens.txt");
	if (!path)
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	ocr2_status st = OCR2_OK;
	FILE *f = fopen(path, "w");
	if (!f)
		goto fail;
	for (int i = 0; i < r->n_tokens; i++)
		fprintf(f, i ? " %d" : "%d", (int)r->tokens[i]);
	fputc('\n', f);
	if (fclose(f) != 0)
		goto fail;
	free(path);
	path = ocr2_path_join(dir, "dump.json");
	if (!path)
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	f = fopen(path, "w");
	if (!f)
		goto fail;
	fprintf(f, "{\"stand_in\": true, \"n_tokens\": %d, \"n_prompt\": %d, \"prompt\": ",
		r->n_tokens, r->n_prompt);
	ocr2_json_write_string(f, p->prompt ? p->prompt : OCR2_PROMPT_DOCUMENT);
	fprintf(f, ", \"max_tokens\": %d, \"ngram\": %d, \"ngram_window\": %d, \"no_crop\": %s, "
		   "\"width\": %d, \"height\": %d}\n",
		p->max_tokens, p->ngram, p->ngram_window, p->no_crop ? "true" : "false", img->width,
		img->height);
	if (fclose(f) != 0)
		goto fail;
	free(path);
	return OCR2_OK;
fail:
	st = ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strerror(errno));
	free(path);
	return st;
}

ocr2_status ocr2_standin_recognize(ocr2_standin *s, const ocr2_image *img,
				   const ocr2_recognize_params *p, ocr2_result *out)
{
	double t0 = ocr2_now();
	int call = ++s->calls;
	char id[64];
	image_id(img, id, sizeof id);
	if (s->log) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
		if (fd < 0)
			return ocr2_fail(OCR2_ERR_IO, "%s: %s", s->log, strerror(errno));
		char line[80];
		int ln = snprintf(line, sizeof line, "%s\n", id);
		ssize_t w = write(fd, line, (size_t)ln);
		close(fd);
		if (w != ln)
			return ocr2_fail(OCR2_ERR_IO, "%s: write failed", s->log);
	}
	for (int i = 0; i < s->n_fail; i++)
		if (s->fail[i] == call)
			return ocr2_fail(OCR2_ERR_INTERNAL, "stand-in: page %d fails on request", call);

	if (s->ids) {
		/* the canned ids, cut at max_tokens, decoded as the pipeline decodes */
		int n = s->n_ids < p->max_tokens ? s->n_ids : p->max_tokens;
		out->status = n < s->n_ids ? OCR2_PAGE_TRUNCATED : OCR2_PAGE_OK;
		out->tokens = malloc(sizeof *out->tokens * (size_t)(n ? n : 1));
		if (!out->tokens)
			return ocr2_fail(OCR2_ERR_NOMEM, "stand-in: out of memory");
		memcpy(out->tokens, s->ids, sizeof *out->tokens * (size_t)n);
		size_t tl;
		ocr2_status st = ocr2_tokenizer_decode(s->tok, out->tokens, n, &out->text, &tl);
		if (st) {
			ocr2_result_free(out);
			return st;
		}
		out->n_tokens = n;
	} else {
		/* tokens = UTF-8 characters; cut at max_tokens */
		size_t len;
		char *text = page_text(s, id, &len);
		if (!text)
			return ocr2_fail(OCR2_ERR_NOMEM, "stand-in: out of memory");
		size_t cut = len;
		int n = 0;
		for (size_t i = 0; i < len; i++) {
			if (((unsigned char)text[i] & 0xC0) == 0x80)
				continue;
			if (n == p->max_tokens) {
				cut = i;
				break;
			}
			n++;
		}
		out->status = cut < len ? OCR2_PAGE_TRUNCATED : OCR2_PAGE_OK;
		text[cut] = 0;
		out->text = text;
		out->tokens = malloc(sizeof *out->tokens * (size_t)(n ? n : 1));
		if (!out->tokens) {
			ocr2_result_free(out);
			return ocr2_fail(OCR2_ERR_NOMEM, "stand-in: out of memory");
		}
		int k = 0;
		for (size_t i = 0; i < cut; i++)
			if (((unsigned char)text[i] & 0xC0) != 0x80)
				out->tokens[k++] = (unsigned char)text[i];
		out->n_tokens = n;
	}
	out->n_prompt = 1 + 257 + 9;

	long steps = s->delay_ms / 10;
	int n = out->n_tokens;
	for (long i = 0; i <= steps; i++) {
		if (p->cancel && *p->cancel) {
			ocr2_result_free(out);
			return ocr2_fail(OCR2_ERR_INTERRUPTED, "interrupted");
		}
		if (p->on_token)
			p->on_token(p->user, steps ? (int)((long)n * i / steps) : n);
		if (i < steps)
			sleep_ms(10);
	}
	if (p->dump_dir) {
		ocr2_status st = write_dump(p->dump_dir, out, img, p);
		if (st != OCR2_OK) {
			ocr2_result_free(out);
			return st;
		}
	}
	out->t_decode = ocr2_now() - t0;
	return OCR2_OK;
}

#endif /* OCR2_STAND_IN */
