/* hfcache.c - the Hugging Face cache as huggingface_hub lays it out, so that
 * ocr2 finds a model the Python tools downloaded and writes one they find:
 *
 *   ROOT/models--OWNER--NAME/blobs/HASH            the files' bytes, named by the
 *                                                  hub's etag: the sha256 of an
 *                                                  LFS file, else its git blob id
 *   ROOT/models--OWNER--NAME/refs/main             the commit main pointed at
 *   ROOT/models--OWNER--NAME/snapshots/COMMIT/FILE symlink to ../../blobs/HASH
 *
 * ROOT is $HF_HUB_CACHE, else $HF_HOME/hub, else
 * ${XDG_CACHE_HOME:-~/.cache}/huggingface/hub (huggingface_hub's constants). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/fs.h"
#include "hub/hub.h"
#include "hub/manifest.h"

char *ocr2_hf_cache_root(void)
{
	const char *e = getenv("HF_HUB_CACHE");
	if (!e || !*e)
		e = getenv("HUGGINGFACE_HUB_CACHE"); /* the older name, still honoured */
	if (e && *e)
		return strdup(e);
	e = getenv("HF_HOME");
	if (e && *e)
		return ocr2_path_join(e, "hub");
	e = getenv("XDG_CACHE_HOME");
	if (e && *e)
		return ocr2_path_join(e, "huggingface/hub");
	e = getenv("HOME");
	return ocr2_path_join(e && *e ? e : ".", ".cache/huggingface/hub");
}

char *ocr2_hf_repo_dir(const char *root, const char *repo)
{
	/* "owner/name" -> "models--owner--name" */
	size_t n = strlen(repo);
	char *folder = malloc(sizeof "models--" + 2 * n);
	if (!folder)
		return NULL;
	char *o = folder + sprintf(folder, "models--");
	for (const char *s = repo; *s; s++) {
		if (*s == '/') {
			*o++ = '-';
			*o++ = '-';
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	char *d = ocr2_path_join(root, folder);
	free(folder);
	return d;
}

int ocr2_hf_parse_ref(const char *text, size_t n, char commit[41])
{
	/* the commit, maybe with trailing white space (huggingface_hub writes it
	 * bare, a hand edit may add a newline) */
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' ||
		     text[n - 1] == '\t'))
		n--;
	if (n != 40)
		return -1;
	for (size_t i = 0; i < 40; i++) {
		char c = text[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		commit[i] = c;
	}
	commit[40] = 0;
	return 0;
}

int ocr2_hf_read_ref(const char *repo_dir, const char *name, char commit[41])
{
	if (!ocr2_hub_safe_ref(name, 1))
		return -1;
	char *rel = ocr2_path_join("refs", name);
	char *path = rel ? ocr2_path_join(repo_dir, rel) : NULL;
	free(rel);
	char *text = NULL;
	size_t len = 0;
	int r = -1;
	if (path && ocr2_read_file(path, 4096, OCR2_ERR_IO, &text, &len) == OCR2_OK)
		r = ocr2_hf_parse_ref(text, len, commit);
	free(text);
	free(path);
	return r;
}

char *ocr2_hf_snapshot(const char *root, const char *repo, const char *revision)
{
	char *rd = ocr2_hf_repo_dir(root, repo);
	if (!rd)
		return NULL;
	char commit[41];
	const char *rev = revision && *revision ? revision : "main";
	int ok = ocr2_hub_is_hex(rev, 40) ? (snprintf(commit, sizeof commit, "%s", rev), 0)
					  : ocr2_hf_read_ref(rd, rev, commit);
	char *snap = NULL;
	if (ok == 0) {
		char rel[64];
		snprintf(rel, sizeof rel, "snapshots/%s", commit);
		snap = ocr2_path_join(rd, rel);
		struct stat st;
		if (snap && (stat(snap, &st) != 0 || !S_ISDIR(st.st_mode))) {
			free(snap);
			snap = NULL;
		}
	}
	free(rd);
	return snap;
}

int ocr2_hf_repo_of(const char *folder, char *repo, size_t n)
{
	/* "models--owner--name" -> "owner/name" (the first "--" after the prefix) */
	if (strncmp(folder, "models--", 8))
		return -1;
	const char *s = folder + 8, *sep = strstr(s, "--");
	if (!sep || sep == s || !sep[2] || (size_t)(sep - s) + strlen(sep + 2) + 2 > n)
		return -1;
	snprintf(repo, n, "%.*s/%s", (int)(sep - s), s, sep + 2);
	return 0;
}

/* commit folders under snapshots/, natural order */
static int cmp_name(const void *a, const void *b)
{
	return ocr2_natural_cmp(*(char *const *)a, *(char *const *)b);
}

int ocr2_hf_snapshots(const char *repo_dir, char ***out)
{
	*out = NULL;
	char *sd = ocr2_path_join(repo_dir, "snapshots");
	DIR *d = sd ? opendir(sd) : NULL;
	free(sd);
	if (!d)
		return 0;
	char **v = NULL;
	int n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!ocr2_hub_is_hex(de->d_name, 40))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			char **nv = realloc(v, (size_t)cap * sizeof *nv);
			if (!nv)
				break;
			v = nv;
		}
		if (!(v[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof *v, cmp_name);
	*out = v;
	return n;
}

char *ocr2_hf_find(const char *root, const char *repo, const char *prefix)
{
	char *rd = ocr2_hf_repo_dir(root, repo);
	if (!rd)
		return NULL;
	char **v;
	int n = ocr2_hf_snapshots(rd, &v);
	const char *pick = NULL;
	char main_commit[41];
	if (prefix && *prefix) {
		/* a unique prefix of a commit, as git takes one */
		int hits = 0;
		for (int i = 0; i < n; i++)
			if (!strncmp(v[i], prefix, strlen(prefix))) {
				pick = v[i];
				hits++;
			}
		if (hits != 1)
			pick = NULL;
	} else if (ocr2_hf_read_ref(rd, "main", main_commit) == 0) {
		for (int i = 0; i < n && !pick; i++)
			if (!strcmp(v[i], main_commit))
				pick = v[i];
	}
	if (!pick && !(prefix && *prefix)) {
		/* no main (a pinned commit was fetched): ocr2's pinned one, else the
		 * only one there is */
		for (int i = 0; i < n && !pick; i++)
			if (!strcmp(repo, OCR2_FETCH_REPO) && !strcmp(v[i], OCR2_FETCH_REVISION))
				pick = v[i];
		if (!pick && n == 1)
			pick = v[0];
	}
	char *snap = NULL;
	if (pick) {
		char rel[64];
		snprintf(rel, sizeof rel, "snapshots/%s", pick);
		snap = ocr2_path_join(rd, rel);
	}
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(rd);
	return snap;
}
