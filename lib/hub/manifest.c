/* manifest.c - the half of lib/hub that needs no network: the fetch record
 * (.ocr2-fetch.json), file hashes, offline verification, `model list` facts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "hub/manifest.h"
#include "model/model.h"

void ocr2_hub_listing_clear(listing *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->f[i].path);
	free(l->f);
	memset(l, 0, sizeof *l);
}

fentry *ocr2_hub_listing_add(listing *l, const char *path)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 16;
		fentry *f = realloc(l->f, (size_t)cap * sizeof *f);
		if (!f)
			return NULL;
		l->f = f;
		l->cap = cap;
	}
	fentry *e = &l->f[l->n];
	memset(e, 0, sizeof *e);
	e->path = strdup(path);
	if (!e->path)
		return NULL;
	e->vsec = -1;
	l->n++;
	return e;
}

/* ---- names ------------------------------------------------------------------ */

int ocr2_hub_is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int ocr2_hub_safe_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 200)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

int ocr2_hub_safe_ref(const char *s, int slashes)
{
	if (!*s || strlen(s) > 200 || *s == '/' || *s == '.')
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' ||
		      (*p == '/' && slashes)))
			return 0;
	return !strstr(s, "..") && !strstr(s, "//");
}

int ocr2_hub_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int ocr2_hub_wanted(const char *name)
{
	if (!strcmp(name, "config.json") || !strcmp(name, "tokenizer.json"))
		return 2;
	if (ocr2_hub_ends_with(name, ".safetensors"))
		return 2;
	if (ocr2_hub_ends_with(name, ".safetensors.index.json") ||
	    !strcmp(name, "tokenizer_config.json") ||
	    !strcmp(name, "special_tokens_map.json") || !strcmp(name, "processor_config.json"))
		return 1;
	return 0;
}

/* ---- hashing ---------------------------------------------------------------- */

void ocr2_hub_hasher_init(hasher *h, int kind, uint64_t size)
{
	h->kind = kind;
	if (kind == HASH_SHA256) {
		ocr2_sha256_init(&h->s256);
	} else {
		char head[40];
		int n = snprintf(head, sizeof head, "blob %llu", (unsigned long long)size);
		ocr2_sha1_init(&h->s1);
		ocr2_sha1_update(&h->s1, head, (size_t)n + 1); /* with the NUL */
	}
}

void ocr2_hub_hasher_update(hasher *h, const void *p, size_t n)
{
	if (h->kind == HASH_SHA256)
		ocr2_sha256_update(&h->s256, p, n);
	else
		ocr2_sha1_update(&h->s1, p, n);
}

void ocr2_hub_hasher_hex(hasher *h, char out[65])
{
	uint8_t d[32];
	if (h->kind == HASH_SHA256) {
		ocr2_sha256_final(&h->s256, d);
		ocr2_hex(d, 32, out);
	} else {
		ocr2_sha1_final(&h->s1, d);
		ocr2_hex(d, 20, out);
	}
}

int ocr2_hub_hash_fd(int fd, hasher *h, uint64_t limit, const volatile int *cancel)
{
	enum { BUF = 1 << 20 };
	char *buf = malloc(BUF);
	if (!buf)
		return -1;
	uint64_t done = 0;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		free(buf);
		return -1;
	}
	while (done < limit) {
		if (cancel && *cancel) {
			free(buf);
			errno = EINTR;
			return -1;
		}
		size_t want = limit - done < BUF ? (size_t)(limit - done) : BUF;
		ssize_t got = read(fd, buf, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			free(buf);
			if (got == 0)
				errno = EIO;
			return -1;
		}
		ocr2_hub_hasher_update(h, buf, (size_t)got);
		done += (uint64_t)got;
	}
	free(buf);
	return 0;
}

int ocr2_hub_verify_path(const char *path, const fentry *e, const volatile int *cancel,
			 struct stat *st_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
		close(fd);
		return 0;
	}
	hasher h;
	ocr2_hub_hasher_init(&h, e->kind, e->size);
	if (ocr2_hub_hash_fd(fd, &h, e->size, cancel) < 0) {
		int err = errno;
		close(fd);
		if (err == EINTR)
			return -2;
		ocr2_fail(OCR2_ERR_IO, "%s: read error: %s", path, strerror(err));
		return -1;
	}
	close(fd);
	char hex[65];
	ocr2_hub_hasher_hex(&h, hex);
	if (st_out)
		*st_out = st;
	return strcmp(hex, e->hash) == 0;
}

/* ---- the record of a fetch (DIR/.ocr2-fetch.json) ---------------------------- */

/* The record's text: OCR2_ERR_IO when it cannot be read (absent), and
 * OCR2_ERR_FORMAT past cap bytes (no record of ours is that large). */
static ocr2_status read_text(const char *path, char **out, size_t *n, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strerror(errno));
	int r = ocr2_read_fd(fd, cap, out, n);
	int e = errno;
	close(fd);
	if (r == 0)
		return OCR2_OK;
	if (e == ENOMEM)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	if (e == EFBIG)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: too large", path);
	return ocr2_fail(OCR2_ERR_IO, "%s: read error", path);
}

ocr2_status ocr2_hub_manifest_read(const char *dir, listing *l)
{
	char *path = ocr2_path_join(dir, OCR2_FETCH_MANIFEST);
	if (!path)
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	char *text = NULL;
	size_t n = 0;
	ocr2_status s = read_text(path, &text, &n, 1 << 20);
	if (s) {
		free(path);
		return s;
	}
	json_value *v = json_parse(text, n, path);
	free(text);
	if (!v) {
		free(path);
		return OCR2_ERR_FORMAT;
	}
	memset(l, 0, sizeof *l);
	const char *repo = json_str(json_get(v, "repo"), "");
	const char *rev = json_str(json_get(v, "revision"), "");
	const char *commit = json_str(json_get(v, "commit"), "");
	const json_value *files = json_get(v, "files");
	s = OCR2_OK;
	if (!files || files->type != JSON_ARRAY || strlen(repo) >= sizeof l->repo ||
	    strlen(rev) >= sizeof l->revision || strlen(commit) >= sizeof l->commit)
		s = ocr2_fail(OCR2_ERR_FORMAT, "%s: not a record of ocr2 model fetch", path);
	for (size_t i = 0; !s && i < files->len; i++) {
		const json_value *it = json_at(files, i);
		const char *p = json_str(json_get(it, "path"), "");
		const char *h256 = json_str(json_get(it, "sha256"), NULL);
		const char *h1 = json_str(json_get(it, "git_sha1"), NULL);
		bool ok = true;
		double size = json_num(json_get(it, "size"), -1, &ok);
		if (!ocr2_hub_safe_name(p) || !ok || size < 0 || size > 9e15 ||
		    !((h256 && ocr2_hub_is_hex(h256, 64)) || (h1 && ocr2_hub_is_hex(h1, 40)))) {
			s = ocr2_fail(OCR2_ERR_FORMAT, "%s: entry %zu is damaged", path, i);
			break;
		}
		fentry *e = ocr2_hub_listing_add(l, p);
		if (!e) {
			s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			break;
		}
		e->size = (uint64_t)size;
		e->kind = h256 ? HASH_SHA256 : HASH_GITSHA1;
		snprintf(e->hash, sizeof e->hash, "%s", h256 ? h256 : h1);
		e->required = ocr2_hub_wanted(p) == 2;
		const char *vm = json_str(json_get(it, "verified_mtime"), NULL);
		long long a, b;
		if (vm && sscanf(vm, "%lld.%lld", &a, &b) == 2) {
			e->vsec = a;
			e->vnsec = b;
		}
	}
	if (!s) {
		snprintf(l->repo, sizeof l->repo, "%s", repo);
		snprintf(l->revision, sizeof l->revision, "%s", rev);
		snprintf(l->commit, sizeof l->commit, "%s", commit);
	} else {
		ocr2_hub_listing_clear(l);
	}
	json_free(v);
	free(path);
	return s;
}

/* Written atomically (the fetch lock makes this run its only writer, so the
 * temporary keeps one name): never half there. The strings are escaped,
 * though names, repo and revision were checked to need no escaping. */
ocr2_status ocr2_hub_manifest_write(const char *dir, const listing *l)
{
	char *path = ocr2_path_join(dir, OCR2_FETCH_MANIFEST);
	ocr2_atomic a;
	ocr2_status s = OCR2_OK;
	if (!path)
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	if (ocr2_atomic_open(&a, path, OCR2_ATOMIC_ALONE) != 0) {
		int e = errno;
		char *tmp = ocr2_atomic_tmp_path(path);
		s = e == ENOMEM || !tmp ? ocr2_fail(OCR2_ERR_NOMEM, "out of memory")
					: ocr2_fail(OCR2_ERR_IO, "%s: %s", tmp, strerror(e));
		free(tmp);
		free(path);
		return s;
	}
	FILE *f = a.f;
	fputs("{\n  \"repo\": ", f);
	ocr2_json_write_string(f, l->repo);
	fputs(",\n  \"revision\": ", f);
	ocr2_json_write_string(f, l->revision);
	fputs(",\n  \"commit\": ", f);
	ocr2_json_write_string(f, l->commit);
	fputs(",\n  \"files\": [", f);
	for (int i = 0; i < l->n; i++) {
		const fentry *e = &l->f[i];
		fprintf(f, "%s\n    {\"path\": ", i ? "," : "");
		ocr2_json_write_string(f, e->path);
		fprintf(f, ", \"size\": %llu, \"%s\": \"%s\"", (unsigned long long)e->size,
			e->kind == HASH_SHA256 ? "sha256" : "git_sha1", e->hash);
		if (e->vsec >= 0)
			fprintf(f, ", \"verified_mtime\": \"%lld.%09lld\"", e->vsec, e->vnsec);
		fputc('}', f);
	}
	fprintf(f, "\n  ]\n}\n");
	if (ocr2_atomic_sync(&a) != 0) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: write error: %s", a.tmp, strerror(errno));
		ocr2_atomic_abort(&a);
	} else if (ocr2_atomic_commit(&a) != 0) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strerror(errno));
	}
	free(path);
	return s;
}

void ocr2_hub_emit(const ocr2_fetch_params *p, ocr2_fetch_event ev, const char *file,
		   uint64_t done, uint64_t total)
{
	if (p->cb)
		p->cb(p->cb_arg, ev, file, done, total);
}

/* ---- offline: verify what is there ------------------------------------------ */

ocr2_status ocr2_hub_verify_offline(const char *dir, const ocr2_fetch_params *p,
				    ocr2_fetch_result *r)
{
	listing l;
	ocr2_status s = ocr2_hub_manifest_read(dir, &l);
	if (s == OCR2_ERR_IO)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: no record of a download (%s) to verify "
				 "against; run 'ocr2 model fetch' with network", dir,
				 OCR2_FETCH_MANIFEST);
	if (s)
		return s;
	snprintf(r->commit, sizeof r->commit, "%s", l.commit);
	r->n_files = l.n;
	for (int i = 0; i < l.n; i++)
		r->bytes_total += l.f[i].size;
	ocr2_hub_emit(p, OCR2_FETCH_LISTED, NULL, 0, r->bytes_total);
	char first[256] = "";
	for (int i = 0; i < l.n && !s; i++) {
		fentry *e = &l.f[i];
		char *path = ocr2_path_join(dir, e->path);
		if (!path) {
			s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			break;
		}
		struct stat st;
		int exists = stat(path, &st) == 0;
		int v = exists ? ocr2_hub_verify_path(path, e, p->cancel, NULL) : 0;
		free(path);
		if (v == -2) {
			s = ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: interrupted", dir);
		} else if (v < 0) {
			s = OCR2_ERR_IO;
		} else if (v == 1) {
			r->n_skipped++;
			ocr2_hub_emit(p, OCR2_FETCH_SKIP, e->path, e->size, e->size);
		} else {
			r->n_missing++;
			if (!*first)
				snprintf(first, sizeof first, "%s %s", e->path,
					 exists ? "does not match its record" : "is missing");
			ocr2_hub_emit(p, exists ? OCR2_FETCH_BAD : OCR2_FETCH_MISSING, e->path, 0,
				      e->size);
		}
	}
	ocr2_hub_listing_clear(&l);
	if (!s && r->n_missing)
		s = ocr2_fail(OCR2_ERR_MODEL, "%s: %d of %d files missing or bad (%s)", dir,
			      r->n_missing, r->n_files, first);
	return s;
}

/* ---- describe a directory (model list) --------------------------------------- */

ocr2_status ocr2_model_dir_describe(const char *dir, ocr2_model_dir_state *st)
{
	memset(st, 0, sizeof *st);
	DIR *d = opendir(dir);
	if (!d)
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", dir, strerror(errno));
	int have_config = 0, have_tok = 0, n_st = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = ocr2_path_join(dir, de->d_name);
		struct stat sb;
		if (p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
			st->bytes += (uint64_t)sb.st_size;
			have_config |= !strcmp(de->d_name, "config.json");
			have_tok |= !strcmp(de->d_name, "tokenizer.json");
			n_st += ocr2_hub_ends_with(de->d_name, ".safetensors");
		}
		free(p);
	}
	closedir(d);
	char *inc = ocr2_path_join(dir, ".incomplete");
	if (inc && (d = opendir(inc))) {
		while ((de = readdir(d)))
			if (ocr2_hub_ends_with(de->d_name, ".part"))
				st->partial = 1;
		closedir(d);
	}
	free(inc);
	listing l;
	if (ocr2_hub_manifest_read(dir, &l) == OCR2_OK) {
		snprintf(st->repo, sizeof st->repo, "%s", l.repo);
		snprintf(st->commit, sizeof st->commit, "%s", l.commit);
		st->complete = 1;
		for (int i = 0; i < l.n && st->complete; i++) {
			char *p = ocr2_path_join(dir, l.f[i].path);
			struct stat sb;
			if (!p || stat(p, &sb) || (uint64_t)sb.st_size != l.f[i].size) {
				st->complete = 0;
				snprintf(st->why, sizeof st->why, "%s missing or of the wrong size",
					 l.f[i].path);
			}
			free(p);
		}
		ocr2_hub_listing_clear(&l);
		return OCR2_OK;
	}
	st->complete = have_config && have_tok && n_st > 0;
	if (!st->complete) {
		snprintf(st->why, sizeof st->why, "no %s", !have_config ? "config.json" :
			 !have_tok ? "tokenizer.json" : "*.safetensors");
		return OCR2_OK;
	}
	/* no record to compare sizes with: the safetensors headers say how long
	 * each file must be (every tensor's data inside it, shards as the index
	 * names them), so a truncated download is never taken for complete */
	ocr2_weights *w = NULL;
	if (ocr2_weights_load(dir, &w) != OCR2_OK) {
		st->complete = 0;
		const char *m = ocr2_errmsg();
		size_t n = strlen(dir);
		if (!strncmp(m, dir, n) && m[n] == '/')
			m += n + 1; /* the file, not the whole path */
		snprintf(st->why, sizeof st->why, "%s", m);
	}
	ocr2_weights_free(w);
	return OCR2_OK;
}
