/* scan-progress.c - ocr2 scan's progress line on a terminal (file, page,
 * pages done, tokens per second, ETA), cut to the terminal's width, and the
 * messages that clear it first. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

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

/* Columns of the terminal on stderr: TIOCGWINSZ, else $COLUMNS, else 80. */
static int term_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	int n = c ? atoi(c) : 0;
	return n > 0 ? n : 80;
}

/* Characters (UTF-8 code points, one column each as far as we know) of s. */
static int columns(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The byte length of s's first `cols` characters. */
static size_t prefix_bytes(const char *s, int cols)
{
	size_t i = 0;
	for (int n = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == cols)
			break;
	}
	return i;
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
	/* a line one column short of the width never wraps (a wrapped line is
	 * not erased by the next \r): the name gives way first, then the end */
	char head[32], tail[160], name[256];
	snprintf(head, sizeof head, "[%d/%d] ", g_prog.file_i, g_prog.n_files);
	snprintf(tail, sizeof tail, " page %d/%d | pages %d/%d | %.1f tok/s | ETA %s",
		 g_prog.page, g_prog.doc_pages, g_prog.pages_done, (int)(total + 0.5),
		 el > 0 ? tok / el : 0.0, eta);
	const char *nm = g_prog.name ? g_prog.name : "";
	int room = term_width() - 1 - columns(head) - columns(tail);
	int nc = columns(nm);
	if (nc <= room) {
		snprintf(name, sizeof name, "%s", nm);
	} else if (room >= 8) { /* "...": the end of a name says more than its start */
		const char *end = nm + prefix_bytes(nm, nc - (room - 3));
		snprintf(name, sizeof name, "...%s", end);
	} else {
		name[0] = 0;
	}
	char line[512];
	snprintf(line, sizeof line, "%s%s%s", head, name, tail);
	int width = term_width() - 1;
	line[prefix_bytes(line, width > 0 ? width : 0)] = 0;
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	g_prog.shown = true;
}

void on_token(void *user, int n)
{
	int *own = user;
	g_prog.page_tokens += n - *own;
	*own = n;
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
