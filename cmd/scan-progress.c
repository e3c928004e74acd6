/* scan-progress.c - ocr2 scan's progress line on a terminal (file, page,
 * pages done, tokens per second, ETA) and the messages that clear it first. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scan.h"

progress g_prog;

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_clear(void)
{
	if (g_prog.shown) {
		fputs("\r\033[K", stderr);
		g_prog.shown = false;
	}
}

void progress_draw(bool force)
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

void on_token(void *user, int n)
{
	g_prog.page_tokens = n;
	progress_draw(false);
}

void msg(const char *fmt, ...)
{
	progress_clear();
	va_list ap;
	fputs("ocr2 scan: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *errmsg_for(const char *name)
{
	const char *m = ocr2_errmsg();
	size_t n = strlen(name);
	if (!strncmp(m, name, n) && m[n] == ':' && m[n + 1] == ' ')
		return m + n + 2;
	return *m ? m : "failed";
}

const char *errmsg_for_page(const char *name, int page)
{
	const char *m = errmsg_for(name);
	char pre[32];
	int n = snprintf(pre, sizeof pre, "page %d: ", page);
	return strncmp(m, pre, (size_t)n) ? m : m + n;
}
