/* scan-resume.c - what ocr2 scan keeps between runs beside an output NAME:
 * the key of the request it answers (".NAME.ocr2-done", written once the
 * output is finished) and the journal of its finished pages while it is not
 * (".NAME.ocr2-journal", cmd/scan-journal.c).
 *
 * A key is the SHA-256 of the input's identity and of every option that
 * shapes the output. The input's identity is its size and modification time
 * in nanoseconds (what make and rsync's quick check trust): a stat, where a
 * hash would read every input of a finished batch again on each re-run;
 * touching a file redoes it. Standard input has no such identity: its key
 * holds the SHA-256 of its bytes. The options are the format, the prompt
 * (--mode or --prompt), -r, --max-tokens, --ngram, --ngram-window, --no-crop,
 * --images and --image-links (their links are in the text), --skip-text,
 * the encoder's precision as it runs on this CPU and --kv-cache (each only
 * when it is bf16, so that float32 keys stay those of earlier releases); the
 * page list (-p, as written) and --draw (pictures beside it) are in the
 * finished output's key only, since a journaled page is the same
 * page whatever the selection. Not in it: the model (the CLI cannot name the
 * weights cheaply; --force redoes outputs after a model change), -t, --dump,
 * -q and -v, which change nothing in the output. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"
#include "scan-journal.h"
#include "base/fs.h"
#include "base/sha.h"

#define DONE_MAGIC "ocr2-done 1 "

static void put_str(ocr2_sha256 *h, const char *name, const char *v)
{
	char head[64];
	v = v ? v : "";
	int n = snprintf(head, sizeof head, "%s %zu:", name, strlen(v));
	ocr2_sha256_update(h, head, (size_t)n);
	ocr2_sha256_update(h, v, strlen(v));
	ocr2_sha256_update(h, "\n", 1);
}

static void put_num(ocr2_sha256 *h, const char *name, double v)
{
	char buf[96];
	int n = snprintf(buf, sizeof buf, "%s %.17g\n", name, v);
	ocr2_sha256_update(h, buf, (size_t)n);
}

bool output_keys(const options *o, const input *in, const char *stdin_sum, out_keys *k)
{
	char id[160];
	if (stdin_sum) {
		snprintf(id, sizeof id, "stdin sha256 %s", stdin_sum);
	} else {
		struct stat st;
		if (stat(in->path, &st) != 0)
			return false;
		snprintf(id, sizeof id, "file %lld %lld.%09ld", (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	}
	ocr2_sha256 h;
	ocr2_sha256_init(&h);
	ocr2_sha256_update(&h, "ocr2 scan 1\n", 12);
	put_str(&h, "input", id);
	put_str(&h, "format", o->fmt_name);
	put_str(&h, "prompt", o->key_prompt);
	put_num(&h, "dpi", o->dpi);
	put_num(&h, "max-tokens", o->max_tokens);
	put_num(&h, "ngram", o->ngram);
	put_num(&h, "ngram-window", o->ngram_window);
	put_num(&h, "no-crop", o->no_crop);
	put_str(&h, "images", o->images);
	put_num(&h, "image-links", o->official_links);
	put_num(&h, "skip-text", o->skip_text);
	if (ocr2_precision_resolve(o->precision) == OCR2_PRECISION_BF16)
		put_str(&h, "precision", "bf16");
	if (o->kv_cache == OCR2_KV_BF16)
		put_str(&h, "kv-cache", "bf16");
	ocr2_sha256 whole = h;
	uint8_t d[32];
	ocr2_sha256_final(&h, d);
	ocr2_hex(d, 32, k->pages);
	put_str(&whole, "pages", o->pages);
	put_str(&whole, "draw", o->draw);
	ocr2_sha256_final(&whole, d);
	ocr2_hex(d, 32, k->whole);
	return true;
}

char *side_path(const char *out, const char *suffix)
{
	const char *base = strrchr(out, '/');
	size_t nd = base ? (size_t)(base - out) + 1 : 0;
	base = base ? base + 1 : out;
	size_t cap = strlen(out) + strlen(suffix) + 3;
	char *s = oom_check(malloc(cap));
	snprintf(s, cap, "%.*s%s%s%s", (int)nd, out, *base == '.' ? "" : ".", base, suffix);
	return s;
}

/* The key in out's ".NAME.ocr2-done" equals key. */
static bool done_has(const char *out, const char *key)
{
	char *p = side_path(out, DONE_SUFFIX);
	char *text;
	size_t n;
	bool yes = false;
	if (ocr2_read_file(p, 256, OCR2_ERR_IO, &text, &n) == OCR2_OK) {
		size_t ml = strlen(DONE_MAGIC);
		yes = n == ml + JOURNAL_KEY_LEN + 1 && !memcmp(text, DONE_MAGIC, ml) &&
		      !memcmp(text + ml, key, JOURNAL_KEY_LEN) && text[n - 1] == '\n';
		free(text);
	}
	free(p);
	return yes;
}

bool output_done_key(const char *out, const char *key)
{
	char *f = oom_check(ocr2_path_follow(out));
	struct stat st;
	bool done = stat(f, &st) == 0 && S_ISREG(st.st_mode) && done_has(f, key);
	if (done) {
		/* a run killed between marking the output done and removing its
		 * journal left the journal: it is finished with */
		char *j = side_path(f, JOURNAL_SUFFIX);
		unlink(j);
		free(j);
	}
	free(f);
	return done;
}

bool output_done(const input *in, const options *o)
{
	out_keys k;
	if (!strcmp(in->path, "-"))
		return false; /* known once its bytes are read */
	return output_keys(o, in, NULL, &k) && output_done_key(in->out, k.whole);
}

int done_mark(const char *out, const char *key)
{
	char *p = side_path(out, DONE_SUFFIX);
	ocr2_atomic a;
	int r = ocr2_atomic_open(&a, p, OCR2_ATOMIC_SHARED);
	if (r == 0) {
		fprintf(a.f, "%s%s\n", DONE_MAGIC, key);
		r = ocr2_atomic_commit(&a);
	}
	int e = errno;
	free(p);
	errno = e;
	return r;
}

void done_unmark(const char *out)
{
	char *p = side_path(out, DONE_SUFFIX);
	if (unlink(p) == 0) {
		char *d = oom_check(ocr2_path_dir(p));
		ocr2_fsync_dir(d);
		free(d);
	}
	free(p);
}

int journal_load(const char *path, journal *j)
{
	memset(j, 0, sizeof *j);
	char *buf;
	size_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	int r = ocr2_read_fd(fd, SIZE_MAX, &buf, &n);
	close(fd);
	if (r != 0)
		return -1;
	r = journal_parse(buf, n, j);
	free(buf);
	return r;
}

void journal_remove(const char *path)
{
	if (unlink(path) == 0) {
		char *d = oom_check(ocr2_path_dir(path));
		ocr2_fsync_dir(d);
		free(d);
	}
}
