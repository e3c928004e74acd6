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
 *   OCR2_STAND_IN=FILE           the text returned for every page, verbatim
 *   OCR2_STAND_IN_FAIL=I,J,...   the I-th, J-th ... call to ocr2_recognize in this
 *                                process (1-based) fails with OCR2_ERR_INTERNAL
 *   OCR2_STAND_IN_DELAY_MS=N     each page takes N ms, spent in 10 ms steps that
 *                                poll the cancel flag (for the SIGINT tests)
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
	long delay_ms;
	int calls;
};

void ocr2_standin_free(ocr2_standin *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->fail);
	free(s);
}

ocr2_status ocr2_standin_load(const char *path, ocr2_standin **out)
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

	const char *e = getenv("OCR2_STAND_IN_FAIL");
	if (e && *e) {
		s->fail = calloc(strlen(e) + 1, sizeof *s->fail);
		if (!s->fail) {
			ocr2_standin_free(s);
			return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
		}
		for (const char *p = e; *p;) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			s->fail[s->n_fail++] = (int)v;
			p = *end == ',' ? end + 1 : end;
		}
	}
	e = getenv("OCR2_STAND_IN_DELAY_MS");
	if (e && *e)
		s->delay_ms = strtol(e, NULL, 10);
	*out = s;
	return OCR2_OK;
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
	for (int i = 0; i < s->n_fail; i++)
		if (s->fail[i] == call)
			return ocr2_fail(OCR2_ERR_INTERNAL, "stand-in: page %d fails on request", call);

	/* tokens = UTF-8 characters; cut at max_tokens */
	size_t cut = s->len;
	int n = 0;
	for (size_t i = 0; i < s->len; i++) {
		if (((unsigned char)s->text[i] & 0xC0) == 0x80)
			continue;
		if (n == p->max_tokens) {
			cut = i;
			break;
		}
		n++;
	}
	out->status = cut < s->len ? OCR2_PAGE_TRUNCATED : OCR2_PAGE_OK;
	out->text = malloc(cut + 1);
	out->tokens = malloc(sizeof *out->tokens * (size_t)(n ? n : 1));
	if (!out->text || !out->tokens) {
		ocr2_result_free(out);
		return ocr2_fail(OCR2_ERR_NOMEM, "stand-in: out of memory");
	}
	memcpy(out->text, s->text, cut);
	out->text[cut] = 0;
	int k = 0;
	for (size_t i = 0; i < cut; i++)
		if (((unsigned char)s->text[i] & 0xC0) != 0x80)
			out->tokens[k++] = (unsigned char)s->text[i];
	out->n_tokens = n;
	out->n_prompt = 1 + 257 + 9;

	long steps = s->delay_ms / 10;
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
