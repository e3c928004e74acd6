/* opts.c - the option tables at work (opts.h): getopt_long's table and
 * the --help text made from a cli_cmd, checked values, and "did you mean". */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "opts.h"

const cli_range RANGE_DPI = {1, 2400};
const cli_range RANGE_THREADS = {0, 4096};
const cli_range RANGE_TOKENS = {1, 1 << 20};
const cli_range RANGE_BATCH = {0, 256};
const cli_range RANGE_NGRAM = {0, 1 << 20};
const cli_range RANGE_REPS = {1, 1000};
const cli_range RANGE_IMAGE_ROWS = {0, 1 << 16};
const cli_range RANGE_SECONDS = {1, 86400};
const cli_range RANGE_RETRIES = {0, 100};

void cli_begin(cli_parser *p, const cli_cmd *c, int argc, char **argv)
{
	memset(p, 0, sizeof *p);
	p->cmd = c;
	p->argc = argc;
	p->argv = argv;
	/* ':' first: a missing value is told apart from an unknown option */
	size_t k = 0;
	p->so[k++] = ':';
	int n = 0;
	for (const cli_opt *o = c->opts; o->name && n < CLI_MAX_OPTS; o++, n++) {
		p->lo[n] = (struct option){o->name, o->meta ? required_argument : no_argument, NULL,
					   o->key};
		if (o->key > 0 && o->key < 256) {
			p->so[k++] = (char)o->key;
			if (o->meta)
				p->so[k++] = ':';
		}
	}
	p->so[k] = 0;
	p->lo[n] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	opterr = 0;
}

static const cli_opt *by_key(const cli_cmd *c, int key)
{
	for (const cli_opt *o = c->opts; o->name; o++)
		if (o->key == key)
			return o;
	return NULL;
}

/* The option as written: "-r" when the short letter was used, else "--dpi". */
static char given_buf[64];

const char *cli_given(const cli_parser *p)
{
	return given_buf;
}

static void fmt_range(const cli_range *r, char *out, size_t n)
{
	snprintf(out, n, "%.10g-%.10g", r->lo, r->hi);
}

static int check_value(cli_parser *p, const cli_opt *o)
{
	const char *s = p->arg;
	char rng[64];
	if (o->arg == ARG_INT || o->arg == ARG_NUM) {
		fmt_range(o->range, rng, sizeof rng);
		char *end;
		errno = 0;
		double v;
		if (o->arg == ARG_INT) {
			long l = strtol(s, &end, 10);
			v = (double)l;
			p->n = l;
		} else {
			v = strtod(s, &end);
			p->x = v;
		}
		if (end == s || *end || (errno && errno != ERANGE) || !isfinite(v) ||
		    (o->arg == ARG_INT && strchr(s, '.'))) {
			cli_usage(p->cmd, "%s: '%s' is not a%s number (%s)", cli_given(p), s,
				  o->arg == ARG_INT ? " whole" : "", rng);
			return CLI_USAGE;
		}
		if (errno == ERANGE || v < o->range->lo || v > o->range->hi) {
			cli_usage(p->cmd, "%s: %s is out of range %s", cli_given(p), s, rng);
			return CLI_USAGE;
		}
	} else if (o->arg == ARG_CHOICE) {
		int i = 0;
		const char *c = o->choices;
		size_t n = strlen(s);
		while (*c) {
			size_t len = strcspn(c, "|");
			if (len == n && !strncmp(c, s, n)) {
				p->choice = i;
				return 0;
			}
			c += len;
			if (*c == '|')
				c++;
			i++;
		}
		char list[256];
		size_t k = 0;
		for (c = o->choices; *c && k + 4 < sizeof list; c++)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s",
					      *c == '|' ? (strchr(c + 1, '|') ? ", " : " or ")
							: (char[]){*c, 0});
		cli_usage(p->cmd, "%s: '%s' is not one of %s", cli_given(p), s, list);
		return CLI_USAGE;
	}
	return 0;
}

/* "--na=v" -> "na" */
static void long_name_of(const char *w, char *out, size_t n)
{
	w += 2;
	size_t len = strcspn(w, "=");
	snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), w);
}

static int unknown(cli_parser *p)
{
	const char *w = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
	if (optopt || strncmp(w, "--", 2)) {
		cli_usage(p->cmd, "unknown option '-%c'", optopt ? optopt : '?');
		return CLI_USAGE;
	}
	char name[128];
	long_name_of(w, name, sizeof name);
	const char *cands[CLI_MAX_OPTS];
	int n = 0, prefixed = 0;
	for (const cli_opt *o = p->cmd->opts; o->name; o++) {
		cands[n++] = o->name;
		prefixed += *name && !strncmp(o->name, name, strlen(name));
	}
	char sugg[512];
	if (prefixed > 1) {
		size_t k = 0;
		sugg[0] = 0;
		for (const cli_opt *o = p->cmd->opts; o->name; o++)
			if (!strncmp(o->name, name, strlen(name)) && k < sizeof sugg)
				k += (size_t)snprintf(sugg + k, sizeof sugg - k, "%s--%s",
						      k ? ", " : "", o->name);
		cli_usage(p->cmd, "option '--%s' is ambiguous: %s", name, sugg);
		return CLI_USAGE;
	}
	cli_suggest(name, cands, n, "--", sugg, sizeof sugg);
	if (*sugg)
		cli_usage(p->cmd, "unknown option '--%s' (did you mean %s?)", name, sugg);
	else
		cli_usage(p->cmd, "unknown option '--%s'", name);
	return CLI_USAGE;
}

int cli_next(cli_parser *p)
{
	int li = -1;
	optopt = 0;
	int c = getopt_long(p->argc, p->argv, p->so, p->lo, &li);
	p->arg = optarg;
	if (c == -1) {
		p->optind = optind;
		return CLI_END;
	}
	if (c == '?')
		return unknown(p);
	const cli_opt *o = by_key(p->cmd, c == ':' ? optopt : c);
	if (o && li >= 0)
		snprintf(given_buf, sizeof given_buf, "--%s", o->name);
	else if (o && o->key < 256)
		snprintf(given_buf, sizeof given_buf, "-%c", o->key);
	else if (o)
		snprintf(given_buf, sizeof given_buf, "--%s", o->name);
	if (c == ':') {
		if (!o) { /* a long option getopt could not map back */
			const char *w = p->argv[optind - 1];
			snprintf(given_buf, sizeof given_buf, "%s", w);
		}
		cli_usage(p->cmd, "%s needs a value%s%s", given_buf, o && o->meta ? " " : "",
			  o && o->meta ? o->meta : "");
		return CLI_USAGE;
	}
	if (!o)
		return unknown(p);
	if (o->key == 'h' && !strcmp(o->name, "help")) {
		cli_help(p->cmd, stdout);
		return CLI_HELP;
	}
	if (o->meta && check_value(p, o))
		return CLI_USAGE;
	return c;
}

int cli_stop(int k)
{
	return k == CLI_HELP ? EXIT_OK : EXIT_USAGE;
}

int cli_usage(const cli_cmd *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ocr2 %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'ocr2 %s --help'\n", c->name);
	return EXIT_USAGE;
}

/* Prints text, each line indented by ind spaces after the first. */
static void put_indented(FILE *f, const char *text, int ind)
{
	for (const char *s = text; *s; s++) {
		fputc(*s, f);
		if (*s == '\n' && s[1])
			fprintf(f, "%*s", ind, "");
	}
}

void cli_help(const cli_cmd *c, FILE *f)
{
	const char *syn = c->synopsis ? c->synopsis : "";
	fprintf(f, "usage: ocr2 %s ", c->name);
	for (const char *s = syn; *s; s++) {
		fputc(*s, f);
		if (*s == '\n')
			fprintf(f, "       ocr2 %s ", c->name);
	}
	fputc('\n', f);
	if (c->about)
		fprintf(f, "\n%s", c->about);
	int width = 0;
	char left[CLI_MAX_OPTS][64];
	int n = 0;
	for (const cli_opt *o = c->opts; o->name && n < CLI_MAX_OPTS; o++, n++) {
		char sh[8] = "    ";
		if (o->key > 0 && o->key < 256)
			snprintf(sh, sizeof sh, "-%c, ", o->key);
		snprintf(left[n], sizeof left[n], "  %s--%s%s%s", sh, o->name, o->meta ? " " : "",
			 o->meta ? o->meta : "");
		int len = (int)strlen(left[n]);
		if (len > width && len <= 26)
			width = len;
	}
	if (n)
		fputc('\n', f);
	for (int i = 0; i < n; i++) {
		const cli_opt *o = &c->opts[i];
		int len = (int)strlen(left[i]);
		if (len > width)
			fprintf(f, "%s\n%*s", left[i], width + 2, "");
		else
			fprintf(f, "%-*s", width + 2, left[i]);
		put_indented(f, o->help ? o->help : "", width + 2);
		fputc('\n', f);
	}
	if (c->after)
		fprintf(f, "\n%s", c->after);
}

const cli_cmd *cli_find(char **words, int n, int *used)
{
	const cli_cmd *best = NULL;
	*used = 0;
	for (int i = 0; i < cli_n_commands; i++) {
		const char *name = cli_commands[i]->name;
		/* match word by word: "model fetch" needs both */
		int k = 0;
		const char *s = name;
		while (k < n) {
			size_t len = strlen(words[k]);
			if (strncmp(s, words[k], len) || (s[len] && s[len] != ' '))
				break;
			k++;
			s += len;
			if (!*s)
				break;
			s++;
		}
		if (!*s && k > *used) {
			best = cli_commands[i];
			*used = k;
		}
	}
	return best;
}

/* ---- did you mean -------------------------------------------------------- */

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and transpositions of neighbours cost 1 ("scna" is 1 from "scan"). */
static int osa(const char *a, const char *b)
{
	int n = (int)strlen(a), m = (int)strlen(b);
	if (n > 64 || m > 64)
		return 99;
	int d[65][65];
	for (int i = 0; i <= n; i++)
		d[i][0] = i;
	for (int j = 0; j <= m; j++)
		d[0][j] = j;
	for (int i = 1; i <= n; i++)
		for (int j = 1; j <= m; j++) {
			int cost = a[i - 1] != b[j - 1];
			int v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m];
}

void cli_suggest(const char *typed, const char *const *cands, int n, const char *prefix,
		 char *out, size_t size)
{
	int best = 3, len = (int)strlen(typed);
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		int d = osa(typed, cands[i]);
		if (d < best && 2 * d < len + (len < 4))
			best = d;
	}
	if (best > 2)
		return;
	size_t k = 0;
	for (int i = 0; i < n && k < size; i++)
		if (osa(typed, cands[i]) == best)
			k += (size_t)snprintf(out + k, size - k, "%s'%s%s'", k ? " or " : "", prefix,
					      cands[i]);
}
