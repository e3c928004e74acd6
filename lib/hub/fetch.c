/* fetch.c - downloads a model repository from a Hugging Face hub (or a
 * mirror), verified and resumable.
 *
 * The hub's facts this relies on:
 *  - GET {endpoint}/api/models/{repo}/revision/{rev} answers {"sha": commit, ...};
 *  - GET {endpoint}/api/models/{repo}/tree/{commit} lists the top-level
 *    entries: [{type, path, size, oid, lfs: {oid, size, pointerSize}}], more
 *    pages through a `Link: <url>; rel="next"` header. For an LFS file lfs.oid
 *    is the sha256 of the content; for a small file oid is its git blob id,
 *    sha1("blob <size>\0" + content);
 *  - GET {endpoint}/{repo}/resolve/{commit}/{path} serves the file, often by a
 *    redirect to another host (a CDN). The token goes to the endpoint's host
 *    only: libcurl drops a custom Authorization header when a redirect changes
 *    host or port (CURLOPT_UNRESTRICTED_AUTH stays off), as huggingface_hub
 *    drops it for a CDN.
 * Each file is written to DIR/.incomplete/NAME.part, hashed as it arrives,
 * resumed with a Range request after an interruption (the bytes already there
 * are hashed first), fsync'd, verified and only then renamed into place.
 * What needs no network (the record, hashing, offline checks) is in
 * manifest.c; without libcurl only ocr2_fetch's offline half remains here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "hub/manifest.h"
#include "ocr2-config.h"

#if OCR2_HAVE_CURL
#include <curl/curl.h>

/* ---- repository names, sizes and hash names; the directory fsync ------------ */

static void human(uint64_t b, char *out, size_t n)
{
	if (b >= 1000000000ull)
		snprintf(out, n, "%.2f GB", b / 1e9);
	else if (b >= 1000000ull)
		snprintf(out, n, "%.1f MB", b / 1e6);
	else
		snprintf(out, n, "%llu bytes", (unsigned long long)b);
}

static const char *hash_name(int kind)
{
	return kind == HASH_SHA256 ? "sha256" : "git blob sha1";
}

static ocr2_status fsync_dir(const char *dir)
{
	if (ocr2_fsync_dir(dir) != 0)
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", dir, strerror(errno));
	return OCR2_OK;
}

/* ---- HTTP --------------------------------------------------------------------- */

typedef struct {
	const ocr2_fetch_params *p;
	CURL *h;
	struct curl_slist *hdrs;
	char endpoint[1024];
	const char *repo;
	char revision[256];
	char ua[64];
	int timeout;
	int retries;
	char errbuf[CURL_ERROR_SIZE];
	/* headers of the last response */
	char link_next[2048];
	long long range_start; /* Content-Range start, -1 when none */
} ctx;

typedef struct {
	char *buf;
	size_t len, cap;
	size_t limit;
} membuf;

static int is_interrupted(const ctx *c)
{
	return c->p->cancel && *c->p->cancel;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	ctx *c = arg;
	size_t n = size * nmemb;
	if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
		c->link_next[0] = '\0';
		c->range_start = -1;
		return n;
	}
	if (n > 14 && !strncasecmp(line, "Content-Range:", 14)) {
		long long a;
		if (sscanf(line + 14, " bytes %lld-", &a) == 1)
			c->range_start = a;
	} else if (n > 5 && !strncasecmp(line, "Link:", 5)) {
		/* <url>; rel="next" (possibly among other links) */
		char *copy = strndup(line + 5, n - 5);
		if (!copy)
			return n;
		for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
			char *lt = strchr(tok, '<'), *gt = lt ? strchr(lt, '>') : NULL;
			if (lt && gt && strstr(gt, "rel=\"next\"") && (size_t)(gt - lt) < sizeof c->link_next) {
				memcpy(c->link_next, lt + 1, (size_t)(gt - lt - 1));
				c->link_next[gt - lt - 1] = '\0';
			}
		}
		free(copy);
	}
	return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow);

static void setup(ctx *c, const char *url, void *progress_arg)
{
	CURL *h = c->h;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->ua);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->timeout);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->timeout);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, progress_arg);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	if (c->hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
	c->errbuf[0] = '\0';
	c->link_next[0] = '\0';
	c->range_start = -1;
}

/* One line for a failed transfer: what went wrong, in the user's terms. */
static void describe(ctx *c, CURLcode rc, char *out, size_t n, int api)
{
	long code = 0;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(out, n, "could not resolve host (no network?)");
		return;
	case CURLE_COULDNT_RESOLVE_PROXY:
		snprintf(out, n, "could not resolve the proxy host (check https_proxy)");
		return;
	case CURLE_COULDNT_CONNECT:
		snprintf(out, n, "could not connect (no network, or a firewall?)");
		return;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(out, n, "no data for %d seconds, giving up (stalled connection; run "
			 "again to resume, or raise --timeout)", c->timeout);
		return;
	case CURLE_TOO_MANY_REDIRECTS:
		snprintf(out, n, "too many redirects");
		return;
	case CURLE_HTTP_RETURNED_ERROR:
		if (code == 401 || code == 403)
			snprintf(out, n, "HTTP %ld: access denied (a gated or private repository "
				 "needs HF_TOKEN, and its terms accepted on the hub)", code);
		else if (code == 404)
			snprintf(out, n, "HTTP 404: %s", api ? "no such repository or revision"
								: "not found");
		else if (code == 429)
			snprintf(out, n, "HTTP 429: rate limited by the server; try again later");
		else if (code >= 500)
			snprintf(out, n, "HTTP %ld: server error; try again later", code);
		else
			snprintf(out, n, "HTTP %ld", code);
		return;
	default:
		break;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
	    rc == CURLE_SSL_CACERT_BADFILE)
		snprintf(out, n, "TLS failure: %s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	else
		snprintf(out, n, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	/* curl's buffer may end with a newline */
	size_t len = strlen(out);
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		out[--len] = '\0';
}

static size_t on_mem(char *p, size_t size, size_t nmemb, void *arg)
{
	membuf *m = arg;
	size_t n = size * nmemb;
	if (m->len + n + 1 > m->limit)
		return 0;
	if (m->len + n + 1 > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		while (cap < m->len + n + 1)
			cap *= 2;
		char *nb = realloc(m->buf, cap);
		if (!nb)
			return 0;
		m->buf = nb;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return n;
}

typedef struct {
	ctx *c;
	const char *file;
	uint64_t have, total;
	double last;
} progress_state;

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	progress_state *ps = arg;
	if (is_interrupted(ps->c))
		return 1;
	if (ps->file) {
		double now = ocr2_now();
		if (now - ps->last >= 0.1) {
			ps->last = now;
			ocr2_hub_emit(ps->c->p, OCR2_FETCH_PROGRESS, ps->file, ps->have, ps->total);
		}
	}
	return 0;
}

/* GET url into a NUL-terminated buffer (JSON API answers). */
static ocr2_status get_json(ctx *c, const char *url, json_value **out)
{
	membuf m = {.limit = 64u << 20};
	progress_state ps = {.c = c};
	setup(c, url, &ps);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_mem);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &m);
	CURLcode rc = curl_easy_perform(c->h);
	if (rc != CURLE_OK) {
		free(m.buf);
		if (rc == CURLE_ABORTED_BY_CALLBACK && is_interrupted(c))
			return ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: interrupted", url);
		if (rc == CURLE_WRITE_ERROR)
			return ocr2_fail(OCR2_ERR_NETWORK, "%s: answer too large", url);
		char why[512];
		describe(c, rc, why, sizeof why, 1);
		return ocr2_fail(OCR2_ERR_NETWORK, "%s: %s", url, why);
	}
	*out = json_parse(m.buf ? m.buf : "", m.len, url);
	free(m.buf);
	if (!*out)
		return ocr2_fail(OCR2_ERR_NETWORK, "%s: the answer is not JSON (%s)", url,
				 ocr2_errmsg());
	return OCR2_OK;
}

static void quote_ref(const char *s, char *out, size_t n)
{
	size_t j = 0;
	for (; *s && j + 4 < n; s++) {
		if (*s == '/') {
			memcpy(out + j, "%2F", 3);
			j += 3;
		} else {
			out[j++] = *s;
		}
	}
	out[j] = '\0';
}

/* Resolves the revision to a commit, then lists the top-level files. */
static ocr2_status list_repo(ctx *c, listing *l)
{
	char url[4096], q[600];
	json_value *v = NULL;
	ocr2_status s;
	snprintf(l->repo, sizeof l->repo, "%s", c->repo);
	snprintf(l->revision, sizeof l->revision, "%s", c->revision);
	if (ocr2_hub_is_hex(c->revision, 40)) {
		snprintf(l->commit, sizeof l->commit, "%.40s", c->revision);
	} else {
		quote_ref(c->revision, q, sizeof q);
		snprintf(url, sizeof url, "%s/api/models/%s/revision/%s", c->endpoint, c->repo, q);
		if ((s = get_json(c, url, &v)))
			return s;
		const char *sha = json_str(json_get(v, "sha"), "");
		if (!ocr2_hub_is_hex(sha, 40)) {
			json_free(v);
			return ocr2_fail(OCR2_ERR_NETWORK, "%s: the answer names no commit", url);
		}
		snprintf(l->commit, sizeof l->commit, "%s", sha);
		json_free(v);
	}
	snprintf(url, sizeof url, "%s/api/models/%s/tree/%s", c->endpoint, c->repo, l->commit);
	for (int page = 0; page < 100; page++) {
		if ((s = get_json(c, url, &v)))
			return s;
		if (v->type != JSON_ARRAY) {
			json_free(v);
			return ocr2_fail(OCR2_ERR_NETWORK, "%s: the answer is not a file list", url);
		}
		for (size_t i = 0; i < v->len; i++) {
			const json_value *it = json_at(v, i);
			const char *type = json_str(json_get(it, "type"), "");
			const char *path = json_str(json_get(it, "path"), "");
			if (strcmp(type, "file") || !ocr2_hub_wanted(path))
				continue;
			if (!ocr2_hub_safe_name(path)) {
				s = ocr2_fail(OCR2_ERR_NETWORK, "%s: refusing the file name '%.80s'",
					      url, path);
				json_free(v);
				return s;
			}
			bool ok = true;
			double size = json_num(json_get(it, "size"), -1, &ok);
			const json_value *lfs = json_get(it, "lfs");
			const char *oid = json_str(json_get(it, "oid"), "");
			const char *lfs_oid = lfs ? json_str(json_get(lfs, "oid"), "") : NULL;
			int kind = lfs_oid ? HASH_SHA256 : HASH_GITSHA1;
			const char *hash = lfs_oid ? lfs_oid : oid;
			if (lfs)
				size = json_num(json_get(lfs, "size"), size, &ok);
			if (!ok || size < 0 || size > 9e15 ||
			    !ocr2_hub_is_hex(hash, kind == HASH_SHA256 ? 64 : 40)) {
				s = ocr2_fail(OCR2_ERR_NETWORK, "%s: %s: no valid size and %s "
					      "in the listing", url, path, hash_name(kind));
				json_free(v);
				return s;
			}
			fentry *e = ocr2_hub_listing_add(l, path);
			if (!e) {
				json_free(v);
				return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			}
			e->size = (uint64_t)size;
			e->kind = kind;
			e->required = ocr2_hub_wanted(path) == 2;
			snprintf(e->hash, sizeof e->hash, "%s", hash);
		}
		json_free(v);
		if (!c->link_next[0])
			break;
		snprintf(url, sizeof url, "%s", c->link_next);
	}
	const char *need[] = {"config.json", "tokenizer.json", ".safetensors"};
	for (int k = 0; k < 3; k++) {
		int found = 0;
		for (int i = 0; i < l->n; i++)
			found |= k < 2 ? !strcmp(l->f[i].path, need[k])
				       : ocr2_hub_ends_with(l->f[i].path, need[k]);
		if (!found)
			return ocr2_fail(OCR2_ERR_MODEL, "%s/%s@%s: the repository has no %s%s; "
					 "not a DeepSeek-OCR 2 model?", c->endpoint, c->repo,
					 c->revision, k == 2 ? "*" : "", need[k]);
	}
	return OCR2_OK;
}

/* ---- one file ---------------------------------------------------------------- */

/* Where a fetch puts things: the plain layout (DIR/NAME, growing as
 * DIR/.incomplete/NAME.part) or a Hugging Face cache's (the bytes in
 * blobs/HASH, growing as blobs/HASH.incomplete as huggingface_hub's do, and
 * the snapshot's NAME a symbolic link to ../../blobs/HASH). */
typedef struct {
	const char *dir;   /* the files under their names: DIR, or the snapshot */
	const char *inc;   /* DIR/.incomplete (plain) or blobs/ (cache) */
	int hf;            /* the cache's layout */
} layout;

static char *join_suffix(const char *dir, const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);
	char *file = malloc(n + k + 1);
	if (!file)
		return NULL;
	memcpy(file, name, n);
	memcpy(file + n, suffix, k + 1);
	char *p = ocr2_path_join(dir, file);
	free(file);
	return p;
}

/* where the bytes grow until they are verified */
static char *part_of(const layout *L, const fentry *e)
{
	return L->hf ? join_suffix(L->inc, e->hash, ".incomplete") : join_suffix(L->inc, e->path, ".part");
}

/* where the verified bytes live */
static char *store_of(const layout *L, const fentry *e)
{
	return L->hf ? ocr2_path_join(L->inc, e->hash) : ocr2_path_join(L->dir, e->path);
}

/* The cache's snapshot entry for e: a relative link to its blob, made under a
 * temporary name and renamed over the old one (never missing, never wrong). */
static ocr2_status link_of(const layout *L, const fentry *e)
{
	if (!L->hf)
		return OCR2_OK;
	char *name = ocr2_path_join(L->dir, e->path);
	char *tmp = name ? join_suffix(L->dir, e->path, ".ocr2-link") : NULL;
	char target[160];
	snprintf(target, sizeof target, "../../blobs/%s", e->hash);
	ocr2_status s = OCR2_OK;
	if (!tmp) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	} else {
		char have[160];
		ssize_t n = readlink(name, have, sizeof have - 1);
		if (n < 0 || (size_t)n != strlen(target) || memcmp(have, target, (size_t)n)) {
			unlink(tmp);
			if (symlink(target, tmp) != 0 || rename(tmp, name) != 0) {
				s = ocr2_fail(OCR2_ERR_IO, "%s: %s", name, strerror(errno));
				unlink(tmp);
			}
		}
	}
	free(name);
	free(tmp);
	return s;
}

typedef struct {
	ctx *c;
	int fd;
	hasher h;
	uint64_t offset; /* where this attempt started */
	uint64_t have;   /* bytes in the part */
	uint64_t expected;
	int checked;
	ocr2_status err;
	char msg[512];
	progress_state *ps;
} dl;

static size_t on_file(char *p, size_t size, size_t nmemb, void *arg)
{
	dl *d = arg;
	size_t n = size * nmemb;
	if (!d->checked) {
		long code = 0;
		curl_easy_getinfo(d->c->h, CURLINFO_RESPONSE_CODE, &code);
		if (d->offset && code == 200) {
			/* the server ignored the Range: start over from byte 0 */
			if (ftruncate(d->fd, 0) || lseek(d->fd, 0, SEEK_SET)) {
				d->err = OCR2_ERR_IO;
				snprintf(d->msg, sizeof d->msg, "%s", strerror(errno));
				return 0;
			}
			ocr2_hub_hasher_init(&d->h, d->h.kind, d->expected);
			d->offset = d->have = 0;
		} else if (d->offset && (code != 206 || d->c->range_start != (long long)d->offset)) {
			d->err = OCR2_ERR_NETWORK;
			snprintf(d->msg, sizeof d->msg, "asked for bytes from %llu, got HTTP %ld "
				 "starting at %lld", (unsigned long long)d->offset, code,
				 d->c->range_start);
			return 0;
		}
		d->checked = 1;
	}
	if (d->have + n > d->expected) {
		d->err = OCR2_ERR_CHECKSUM;
		snprintf(d->msg, sizeof d->msg, "the server sent more than the %llu bytes published",
			 (unsigned long long)d->expected);
		return 0;
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = write(d->fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			d->err = OCR2_ERR_IO;
			snprintf(d->msg, sizeof d->msg, "write error: %s",
				 w < 0 ? strerror(errno) : "short write");
			return 0;
		}
		done += (size_t)w;
	}
	ocr2_hub_hasher_update(&d->h, p, n);
	d->have += n;
	d->ps->have = d->have;
	return n;
}

/* Downloads e into dir/.incomplete/NAME.part and renames it into place once
 * verified. */
static ocr2_status fetch_one(ctx *c, const layout *L, fentry *e, ocr2_fetch_result *r)
{
	char *final = store_of(L, e);
	char *part = part_of(L, e);
	char url[4096];
	ocr2_status s = OCR2_OK;
	int fd = -1;
	if (!final || !part) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(url, sizeof url, "%s/%s/resolve/%s/%s", c->endpoint, c->repo, c->revision, e->path);
	fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: %s", part, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: %s", part, strerror(errno));
		goto out;
	}
	dl d = {.c = c, .fd = fd, .expected = e->size};
	progress_state ps = {.c = c, .file = e->path, .total = e->size};
	d.ps = &ps;
	ocr2_hub_hasher_init(&d.h, e->kind, e->size);
	uint64_t kept = (uint64_t)st.st_size;
	if (kept > e->size) {
		if (ftruncate(fd, 0)) {
			s = ocr2_fail(OCR2_ERR_IO, "%s: %s", part, strerror(errno));
			goto out;
		}
		kept = 0;
	}
	if (kept && ocr2_hub_hash_fd(fd, &d.h, kept, c->p->cancel) < 0) {
		if (errno == EINTR)
			s = ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: interrupted", part);
		else
			s = ocr2_fail(OCR2_ERR_IO, "%s: read error: %s", part, strerror(errno));
		goto out;
	}
	if (lseek(fd, (off_t)kept, SEEK_SET) < 0) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: %s", part, strerror(errno));
		goto out;
	}
	d.have = ps.have = kept;
	ocr2_hub_emit(c->p, OCR2_FETCH_START, e->path, kept, e->size);
	int restarted = 0;
	for (int attempt = 0; d.have < e->size || attempt == 0; attempt++) {
		if (d.have == e->size)
			break; /* a complete part from an earlier run: just verify it */
		d.offset = d.have;
		d.checked = 0;
		d.err = OCR2_OK;
		uint64_t before = d.have;
		setup(c, url, &ps);
		curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_file);
		curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &d);
		if (d.offset)
			curl_easy_setopt(c->h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)d.offset);
		CURLcode rc = curl_easy_perform(c->h);
		r->bytes_fetched += d.have > before ? d.have - before : 0;
		if (rc == CURLE_OK && d.have == e->size)
			break;
		if (rc == CURLE_ABORTED_BY_CALLBACK && is_interrupted(c)) {
			s = ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: interrupted; %llu of %llu bytes kept "
				      "for a resume", url, (unsigned long long)d.have,
				      (unsigned long long)e->size);
			goto out;
		}
		char why[600];
		int resumable = 1;
		if (rc == CURLE_WRITE_ERROR && d.err) {
			snprintf(why, sizeof why, "%s", d.msg);
			resumable = d.err == OCR2_ERR_NETWORK;
			if (d.err != OCR2_ERR_NETWORK) {
				s = d.err == OCR2_ERR_CHECKSUM ? OCR2_ERR_CHECKSUM : d.err;
				if (s == OCR2_ERR_CHECKSUM)
					unlink(part);
				s = ocr2_fail(s, "%s: %s%s", url, why,
					      s == OCR2_ERR_CHECKSUM ? "; the download was deleted" : "");
				goto out;
			}
		} else if (rc == CURLE_OK) {
			snprintf(why, sizeof why, "the transfer ended after %llu of %llu bytes",
				 (unsigned long long)d.have, (unsigned long long)e->size);
		} else {
			if (rc == CURLE_RANGE_ERROR && d.offset && !restarted) {
				/* the server cannot resume: start this file over, once */
				if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET)) {
					s = ocr2_fail(OCR2_ERR_IO, "%s: %s", part, strerror(errno));
					goto out;
				}
				ocr2_hub_hasher_init(&d.h, e->kind, e->size);
				d.have = ps.have = 0;
				restarted = 1;
				attempt--;
				continue;
			}
			describe(c, rc, why, sizeof why, 0);
			long code = 0;
			curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
			if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416) {
				/* our range makes no sense to the server: drop the part */
				if (ftruncate(fd, 0) == 0)
					d.have = 0;
				resumable = 0;
			}
		}
		if (d.have > before && attempt < c->retries && resumable) {
			ocr2_hub_emit(c->p, OCR2_FETCH_RETRY, e->path, (uint64_t)attempt + 1,
				      e->size);
			sleep(1);
			continue;
		}
		s = ocr2_fail(OCR2_ERR_NETWORK, "%s: %s%s", url, why,
			      d.have ? "; run again to resume" : "");
		goto out;
	}
	if (fsync(fd)) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: %s", part, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	char got[65];
	ocr2_hub_hasher_hex(&d.h, got);
	if (strcmp(got, e->hash)) {
		unlink(part);
		s = ocr2_fail(OCR2_ERR_CHECKSUM, "%s: %s mismatch (published %s, received %s); "
			      "the download was deleted", url, hash_name(e->kind), e->hash, got);
		goto out;
	}
	if (rename(part, final)) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: %s", final, strerror(errno));
		goto out;
	}
	if ((s = fsync_dir(L->hf ? L->inc : L->dir)) || (s = link_of(L, e)) ||
	    (L->hf && (s = fsync_dir(L->dir))))
		goto out;
	if (stat(final, &st) == 0) {
		e->vsec = (long long)st.st_mtim.tv_sec;
		e->vnsec = (long long)st.st_mtim.tv_nsec;
	}
	r->n_fetched++;
	ocr2_hub_emit(c->p, OCR2_FETCH_DONE, e->path, e->size, e->size);
out:
	if (fd >= 0) {
		/* an empty part helps no resume */
		if (s && fstat(fd, &st) == 0 && st.st_size == 0)
			unlink(part);
		close(fd);
	}
	free(final);
	free(part);
	return s;
}

static int cmp_size(const void *a, const void *b)
{
	const fentry *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* refs/REV -> the commit, as huggingface_hub records a branch or tag it
 * resolved, and refs/main when the cache has none yet, so that the snapshot
 * is what both tools find first (ocr2's default revision is a pinned commit,
 * which huggingface_hub would record under no ref). */
static ocr2_status write_refs(const char *repo_dir, const listing *l)
{
	const char *names[2] = {ocr2_hub_is_hex(l->revision, 40) ? NULL : l->revision, "main"};
	for (int i = 0; i < 2; i++) {
		char have[41];
		if (!names[i] || (i == 1 && ocr2_hf_read_ref(repo_dir, "main", have) == 0))
			continue;
		char *rel = ocr2_path_join("refs", names[i]);
		char *path = rel ? ocr2_path_join(repo_dir, rel) : NULL;
		char *pdir = path ? ocr2_path_dir(path) : NULL;
		ocr2_atomic a;
		ocr2_status s = OCR2_OK;
		if (!pdir)
			s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		else if (ocr2_mkdir_p(pdir, 0755) || ocr2_atomic_open(&a, path, OCR2_ATOMIC_ALONE))
			s = ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strerror(errno));
		else if (fputs(l->commit, a.f) < 0 || ocr2_atomic_commit(&a))
			s = ocr2_fail(OCR2_ERR_IO, "%s: %s", path, strerror(errno));
		free(rel);
		free(path);
		free(pdir);
		if (s)
			return s;
	}
	return OCR2_OK;
}

static ocr2_status fetch_online(const char *dir, const ocr2_fetch_params *p,
				ocr2_fetch_result *r)
{
	static int global_done;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return ocr2_fail(OCR2_ERR_NETWORK, "libcurl failed to initialise");
		global_done = 1;
	}
	ctx c = {.p = p};
	listing l = {0}, old = {0};
	char *inc = NULL, *lockp = NULL;
	int lockfd = -1, *todo = NULL;
	ocr2_status s = OCR2_OK;
	const char *ep = p->endpoint && *p->endpoint ? p->endpoint : OCR2_FETCH_ENDPOINT;
	size_t epn = strlen(ep);
	while (epn && ep[epn - 1] == '/')
		epn--;
	if (epn >= sizeof c.endpoint || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)))
		return ocr2_fail(OCR2_ERR_INVALID, "%s: the endpoint must be an http:// or "
				 "https:// URL", ep);
	memcpy(c.endpoint, ep, epn);
	c.endpoint[epn] = '\0';
	c.repo = p->repo && *p->repo ? p->repo : OCR2_FETCH_REPO;
	const char *rev = p->revision && *p->revision ? p->revision :
			  !strcmp(c.repo, OCR2_FETCH_REPO) ? OCR2_FETCH_REVISION : "main";
	if (!ocr2_hub_safe_ref(c.repo, 1) || !strchr(c.repo, '/') || strlen(c.repo) >= sizeof l.repo)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: not a repository name (owner/name)", c.repo);
	if (!ocr2_hub_safe_ref(rev, 1))
		return ocr2_fail(OCR2_ERR_INVALID, "%s: not a revision name", rev);
	snprintf(c.revision, sizeof c.revision, "%s", rev);
	snprintf(c.ua, sizeof c.ua, "%s", p->user_agent ? p->user_agent : "ocr2/" OCR2_VERSION);
	c.timeout = p->timeout_s > 0 ? p->timeout_s : 60;
	c.retries = p->retries >= 0 ? p->retries : 3;
	if (p->token && *p->token) {
		size_t n = strlen(p->token) + 32;
		char *hdr = malloc(n);
		if (!hdr)
			return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		snprintf(hdr, n, "Authorization: Bearer %s", p->token);
		c.hdrs = curl_slist_append(NULL, hdr);
		free(hdr);
		if (!c.hdrs)
			return ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	}
	c.h = curl_easy_init();
	if (!c.h) {
		curl_slist_free_all(c.hdrs);
		return ocr2_fail(OCR2_ERR_NETWORK, "libcurl failed to start");
	}
	struct stat dst;
	/* the cache: dir is its root; the snapshot is known once the commit is */
	char *repo_dir = p->hf_cache ? ocr2_hf_repo_dir(dir, c.repo) : NULL;
	char *snap = NULL;
	layout L = {.dir = dir, .hf = p->hf_cache};
	int created = !p->hf_cache && stat(dir, &dst) != 0;
	if (p->hf_cache) {
		char *locks = ocr2_path_join(dir, ".locks");
		char *folder = repo_dir ? strrchr(repo_dir, '/') : NULL;
		char *ldir = locks && folder ? ocr2_path_join(locks, folder + 1) : NULL;
		inc = repo_dir ? ocr2_path_join(repo_dir, "blobs") : NULL;
		/* huggingface_hub's lock folder, one file for ocr2's whole fetch */
		lockp = ldir ? ocr2_path_join(ldir, "ocr2-fetch.lock") : NULL;
		if (lockp && inc && (ocr2_mkdir_p(inc, 0755) || ocr2_mkdir_p(ldir, 0755)))
			s = ocr2_fail(OCR2_ERR_IO, "%s: %s", dir, strerror(errno));
		free(locks);
		free(ldir);
		if (!s && !lockp)
			s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		if (s)
			goto out;
	} else {
		if (ocr2_mkdir_p(dir, 0755)) {
			s = ocr2_fail(OCR2_ERR_IO, "%s: %s", dir, strerror(errno));
			goto out;
		}
		inc = ocr2_path_join(dir, ".incomplete");
		lockp = inc ? ocr2_path_join(inc, "lock") : NULL;
		if (!lockp) {
			s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (mkdir(inc, 0755) && errno != EEXIST) {
			s = ocr2_fail(OCR2_ERR_IO, "%s: %s", inc, strerror(errno));
			goto out;
		}
	}
	L.inc = inc;
	lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lockfd < 0) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: %s", lockp, strerror(errno));
		goto out;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB)) {
		s = ocr2_fail(OCR2_ERR_IO, "%s: another 'ocr2 model fetch' is working here",
			      repo_dir ? repo_dir : dir);
		close(lockfd);
		lockfd = -1;
		goto out;
	}
	if ((s = list_repo(&c, &l)))
		goto out;
	/* from now on the commit, not a branch that may move */
	snprintf(c.revision, sizeof c.revision, "%s", l.commit);
	snprintf(r->commit, sizeof r->commit, "%s", l.commit);
	if (p->hf_cache) {
		char rel[64];
		snprintf(rel, sizeof rel, "snapshots/%s", l.commit);
		snap = ocr2_path_join(repo_dir, rel);
		if (!snap || ocr2_mkdir_p(snap, 0755)) {
			s = snap ? ocr2_fail(OCR2_ERR_IO, "%s: %s", snap, strerror(errno))
				 : ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			goto out;
		}
		dir = L.dir = snap;
	}
	snprintf(r->dir, sizeof r->dir, "%s", dir);
	qsort(l.f, (size_t)l.n, sizeof *l.f, cmp_size);
	/* keep what an earlier run verified, if it expected the same content */
	if (ocr2_hub_manifest_read(dir, &old) == OCR2_OK) {
		for (int i = 0; i < l.n; i++)
			for (int j = 0; j < old.n; j++)
				if (!strcmp(l.f[i].path, old.f[j].path) && l.f[i].size == old.f[j].size &&
				    !strcmp(l.f[i].hash, old.f[j].hash)) {
					l.f[i].vsec = old.f[j].vsec;
					l.f[i].vnsec = old.f[j].vnsec;
				}
	}
	if ((s = ocr2_hub_manifest_write(dir, &l)))
		goto out;
	r->n_files = l.n;
	uint64_t present = 0, need = 0;
	todo = calloc((size_t)l.n + 1, sizeof *todo);
	if (!todo) {
		s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < l.n; i++) {
		fentry *e = &l.f[i];
		r->bytes_total += e->size;
		char *final = store_of(&L, e);
		if (!final) {
			s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			goto out;
		}
		struct stat st;
		todo[i] = 1;
		if (stat(final, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->size) {
			if (e->vsec == (long long)st.st_mtim.tv_sec &&
			    e->vnsec == (long long)st.st_mtim.tv_nsec) {
				todo[i] = 0;
			} else {
				int v = ocr2_hub_verify_path(final, e, p->cancel, &st);
				if (v == -2) {
					s = ocr2_fail(OCR2_ERR_INTERRUPTED, "%s: interrupted", final);
					free(final);
					goto out;
				}
				if (v < 0) {
					free(final);
					s = OCR2_ERR_IO;
					goto out;
				}
				if (v == 1) {
					todo[i] = 0;
					e->vsec = (long long)st.st_mtim.tv_sec;
					e->vnsec = (long long)st.st_mtim.tv_nsec;
				}
			}
		}
		free(final);
		if (!todo[i]) {
			present += e->size;
			if ((s = link_of(&L, e))) /* a blob another fetch brought */
				goto out;
			continue;
		}
		char *part = part_of(&L, e);
		if (!part) {
			s = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			goto out;
		}
		need += e->size;
		if (stat(part, &st) == 0 && (uint64_t)st.st_size <= e->size)
			need -= (uint64_t)st.st_size;
		free(part);
	}
	struct statvfs vfs;
	if (need && statvfs(inc, &vfs) == 0) {
		uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		if (avail < need + (16u << 20)) {
			char a[32], b[32];
			human(need, a, sizeof a);
			human(avail, b, sizeof b);
			s = ocr2_fail(OCR2_ERR_IO, "%s: needs %s of free space, %s available", dir, a, b);
			goto out;
		}
	}
	ocr2_hub_emit(p, OCR2_FETCH_LISTED, NULL, present, r->bytes_total);
	for (int i = 0; i < l.n; i++) {
		if (!todo[i]) {
			r->n_skipped++;
			ocr2_hub_emit(p, OCR2_FETCH_SKIP, l.f[i].path, l.f[i].size, l.f[i].size);
			continue;
		}
		/* a file under the final name that is not what the hub publishes
		 * goes: nothing wrong stays under a final name */
		char *final = ocr2_path_join(dir, l.f[i].path);
		if (final)
			unlink(final);
		free(final);
		s = fetch_one(&c, &L, &l.f[i], r);
		ocr2_status ms = ocr2_hub_manifest_write(dir, &l);
		if (s)
			goto out;
		if ((s = ms))
			goto out;
	}
	/* files an earlier fetch put here that this revision no longer has
	 * (an older shard layout) would only confuse the loader */
	for (int j = 0; j < old.n && !p->hf_cache; j++) {
		int keep = 0;
		for (int i = 0; i < l.n && !keep; i++)
			keep = !strcmp(l.f[i].path, old.f[j].path);
		char *stale = keep ? NULL : ocr2_path_join(dir, old.f[j].path);
		if (stale)
			unlink(stale);
		free(stale);
	}
	if (p->hf_cache)
		s = write_refs(repo_dir, &l);
out:
	if (!s)
		s = ocr2_hub_manifest_write(dir, &l);
	if (lockfd >= 0) {
		unlink(lockp);
		if (!p->hf_cache)
			rmdir(inc); /* fails, harmlessly, while parts remain for a resume */
		close(lockfd);
		if (s && created)
			rmdir(dir); /* only when nothing came */
	}
	free(repo_dir);
	free(snap);
	free(todo);
	free(inc);
	free(lockp);
	ocr2_hub_listing_clear(&l);
	ocr2_hub_listing_clear(&old);
	curl_easy_cleanup(c.h);
	curl_slist_free_all(c.hdrs);
	return s;
}

int ocr2_fetch_available(void)
{
	return 1;
}

#else /* !OCR2_HAVE_CURL */

static ocr2_status fetch_online(const char *dir, const ocr2_fetch_params *p,
				ocr2_fetch_result *r)
{
	return ocr2_fail(OCR2_ERR_INVALID, "this ocr2 was built without download support "
			 "(meson -Dfetch=enabled needs libcurl)");
}

int ocr2_fetch_available(void)
{
	return 0;
}

#endif

ocr2_status ocr2_fetch(const char *dir, const ocr2_fetch_params *p, ocr2_fetch_result *r)
{
	ocr2_fetch_result dummy;
	if (!r)
		r = &dummy;
	memset(r, 0, sizeof *r);
	if (!dir || !*dir)
		return ocr2_fail(OCR2_ERR_INVALID, "no model directory");
	if (p->offline && p->hf_cache) {
		/* the snapshot the revision names, else main's, else the pinned one */
		const char *repo = p->repo && *p->repo ? p->repo : OCR2_FETCH_REPO;
		char *snap = ocr2_hf_snapshot(dir, repo, p->revision);
		if (!snap && !(p->revision && *p->revision) && !strcmp(repo, OCR2_FETCH_REPO))
			snap = ocr2_hf_snapshot(dir, repo, OCR2_FETCH_REVISION);
		if (!snap)
			return ocr2_fail(OCR2_ERR_MODEL, "%s: no snapshot of %s%s%s in this cache", dir,
					 repo, p->revision ? " at " : "", p->revision ? p->revision : "");
		snprintf(r->dir, sizeof r->dir, "%s", snap);
		ocr2_status s = ocr2_hub_verify_offline(snap, p, r);
		free(snap);
		return s;
	}
	snprintf(r->dir, sizeof r->dir, "%s", dir);
	if (p->offline)
		return ocr2_hub_verify_offline(dir, p, r);
	return fetch_online(dir, p, r);
}

