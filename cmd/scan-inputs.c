/* scan-inputs.c - ocr2 scan's inputs: the arguments, directory walks, the
 * shard and what is done already, and the names the outputs get under -o. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"
#include "base/fs.h"

/* ---- paths --------------------------------------------------------------- */

char *oom_check(char *s)
{
	if (!s) {
		fputs("ocr2 scan: out of memory\n", stderr);
		exit(EXIT_PARTIAL);
	}
	return s;
}

char *xstrdup(const char *s)
{
	return oom_check(strdup(s));
}

char *join(const char *a, const char *b)
{
	return oom_check(*a ? ocr2_path_join(a, b) : strdup(b));
}

char *dir_of(const char *path)
{
	return oom_check(ocr2_path_dir(path));
}

int mkdirs(const char *path, bool whole)
{
	char *d = whole ? xstrdup(path) : dir_of(path);
	int r = ocr2_mkdir_p(d, 0777);
	int e = errno;
	free(d);
	errno = e;
	return r;
}

char *relative_to(const char *target, const char *from)
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

char *with_ext(const char *rel, const char *ext)
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

/* ---- inputs -------------------------------------------------------------- */

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

/* natural order (f2 before f10; ocr2_natural_cmp says exactly) */
static int cmp_name(const void *a, const void *b)
{
	return ocr2_natural_cmp(*(char *const *)a, *(char *const *)b);
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

/* Adds the files under dir (in natural order; recursing when asked; dot files and
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
	qsort(names, (size_t)n, sizeof *names, cmp_name);
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

bool inputs_expand(input_list *l, char **args, int n, bool recursive, bool *any_dir,
		   int *n_stdin)
{
	bool ok = true;
	for (int i = 0; i < n; i++) {
		const char *a = args[i];
		struct stat st;
		if (!strcmp(a, "-")) {
			add_input(l, "-", "stdin");
			(*n_stdin)++;
		} else if (stat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
			*any_dir = true;
			if (!walk(l, a, "", recursive))
				ok = false;
		} else {
			const char *base = strrchr(a, '/');
			add_input(l, a, base && base[1] ? base + 1 : a);
		}
	}
	return ok;
}

void inputs_name_outputs(input_list *l, const char *output, bool any_dir, const char *ext)
{
	struct stat st;
	size_t ol = strlen(output);
	bool out_dir = any_dir || l->n > 1 || (ol && output[ol - 1] == '/') ||
		       (stat(output, &st) == 0 && S_ISDIR(st.st_mode));
	for (int i = 0; i < l->n; i++) {
		if (out_dir) {
			char *rel = with_ext(l->v[i].rel, ext);
			l->v[i].out = join(output, rel);
			free(rel);
		} else {
			l->v[i].out = xstrdup(output);
		}
	}
}

void inputs_select(const input_list *l, const options *o, bool *run_it, int *todo, int *skipped,
		   int *collide)
{
	for (int i = 0; i < l->n; i++) {
		if (o->shard_n && !ocr2_shard_has(l->v[i].rel, o->shard_k, o->shard_n))
			continue;
		bool dup = false;
		for (int j = 0; l->v[i].out && j < i && !dup; j++)
			dup = run_it[j] && l->v[j].out && !strcmp(l->v[i].out, l->v[j].out);
		if (dup) {
			msg("%s: output %s is already written for another input; skipped",
			    l->v[i].path, l->v[i].out);
			(*collide)++;
			continue;
		}
		if (l->v[i].out && !o->force && output_done(&l->v[i], o)) {
			if (o->verbose)
				msg("%s: %s is done, skipped", l->v[i].path, l->v[i].out);
			(*skipped)++;
			continue;
		}
		run_it[i] = true;
		(*todo)++;
	}
}

void inputs_free(input_list *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].rel);
		free(l->v[i].out);
	}
	free(l->v);
}
