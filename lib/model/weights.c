/* weights.c - safetensors checkpoints: mmap, header parsing with every offset
 * bounds-checked, the name -> tensor table, and shape/dtype expectations.
 *
 * A safetensors file is: u64 little-endian header length N, N bytes of JSON
 * ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__"}),
 * then the data section; offsets are relative to its start. Loading only maps
 * the files and parses headers: no tensor data is read, except that a tensor
 * whose data is misaligned for its dtype is copied once into an aligned buffer
 * (reading a float through a misaligned pointer is undefined behaviour).
 *
 * Our own 8-bit dtype "Q8_0" (OCR2_DT_Q8) is int8 data in blocks of 32 whose
 * scales are a companion tensor NAME ".q8scale" of nelem/32 elements, F16
 * (what ocr2 model quantize writes) or F32 (its first copies).
 *
 * Where the mapped bytes live once loaded (huge pages, the page cache, an
 * anonymous copy) is residency.c's business. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "model/model.h"
#include "model/weights-private.h"

#define MAX_HEADER (100u << 20) /* the published checkpoint's header is ~300 kB */
#define MAX_TENSORS (1 << 20)
#define MAX_FILES 4096
#define Q8_BLOCK 32

static bool dtype_parse(const char *s, ocr2_dtype *out)
{
	static const struct {
		const char *name;
		ocr2_dtype t;
	} tab[] = {
		{"F32", OCR2_DT_F32}, {"F16", OCR2_DT_F16}, {"BF16", OCR2_DT_BF16},
		{"I32", OCR2_DT_I32}, {"I64", OCR2_DT_I64}, {"Q8_0", OCR2_DT_Q8},
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (!strcmp(s, tab[i].name)) {
			*out = tab[i].t;
			return true;
		}
	return false;
}

static bool is_float(ocr2_dtype t)
{
	return t == OCR2_DT_F32 || t == OCR2_DT_F16 || t == OCR2_DT_BF16 || t == OCR2_DT_Q8;
}

void ocr2_weights_free(ocr2_weights *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		free((char *)w->t[i].t.name);
	free(w->t);
	for (int i = 0; i < w->n_owned; i++)
		free(w->owned[i]);
	free(w->owned);
	for (int i = 0; i < w->n_files; i++) {
		if (w->files[i].region) /* covers the file mapping or the copy */
			munmap(w->files[i].region, w->files[i].region_size);
		else if (w->files[i].map)
			munmap(w->files[i].map, w->files[i].size);
		free(w->files[i].path);
	}
	free(w->files);
	free(w->where);
	free(w);
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static bool json_uint(const json_value *v, uint64_t *out)
{
	if (!v || v->type != JSON_NUMBER)
		return false;
	double d = v->num;
	if (!(d >= 0 && d < 9007199254740992.0) || d != floor(d))
		return false;
	*out = (uint64_t)d;
	return true;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static ocr2_status map_file(const char *path, wfile *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: not a regular file", path);
	}
	if (st.st_size < 8) {
		close(fd);
		return ocr2_fail(OCR2_ERR_MODEL,
				 "%s: truncated safetensors file (%lld bytes, no header length)", path,
				 (long long)st.st_size);
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: file too large to map", path);
	}
	/* At a 2 MiB boundary and advised for huge pages, so that the kernel can
	 * map page-cache folios of that size whole (see ocr2_weights_resident). */
	size_t size = (size_t)st.st_size;
	size_t rsize = size + HUGE_PAGE;
	char *region = mmap(NULL, rsize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	void *m = MAP_FAILED;
	if (region != MAP_FAILED) {
		char *at = (char *)(((uintptr_t)region + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
		m = mmap(at, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
		if (m == MAP_FAILED)
			munmap(region, rsize);
	}
	if (m == MAP_FAILED) { /* no room for the padding: a plain mapping */
		region = NULL;
		m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	}
	int e = errno;
	close(fd);
	if (m == MAP_FAILED)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: cannot map: %s", path, strerror(e));
#ifdef MADV_HUGEPAGE
	madvise(m, size, MADV_HUGEPAGE);
#endif
	f->map = m;
	f->size = size;
	f->region = region;
	f->region_size = region ? rsize : 0;
	return OCR2_OK;
}

static ocr2_status add_file(ocr2_weights *w, const char *path, int *idx)
{
	if (w->n_files >= MAX_FILES)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: too many safetensors files", w->where);
	wfile *nf = realloc(w->files, (size_t)(w->n_files + 1) * sizeof *nf);
	if (!nf)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	w->files = nf;
	wfile *f = &w->files[w->n_files];
	memset(f, 0, sizeof *f);
	f->path = strdup(path);
	if (!f->path)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	w->n_files++;
	*idx = w->n_files - 1;
	return map_file(path, f);
}

typedef struct {
	uint64_t begin, end;
	const char *name;
} span;

static int span_cmp(const void *a, const void *b)
{
	const span *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Parses one file's header and appends its tensors to w->t. */
static ocr2_status parse_file(ocr2_weights *w, int fi)
{
	wfile *f = &w->files[fi];
	const unsigned char *p = f->map;
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | p[i];
	if (hlen > MAX_HEADER)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: header length %llu is absurd (limit %u)",
				 f->path, (unsigned long long)hlen, MAX_HEADER);
	if (hlen > f->size - 8)
		return ocr2_fail(OCR2_ERR_MODEL,
				 "%s: truncated: header length %llu exceeds the file size %zu",
				 f->path, (unsigned long long)hlen, f->size);
	if (hlen < 2)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: header too short", f->path);
	const char *hdr = (const char *)p + 8;
	/* The format pads the header with trailing spaces; json_parse skips them. */
	json_value *root = json_parse(hdr, (size_t)hlen, f->path);
	if (!root)
		return OCR2_ERR_MODEL; /* message names the file */
	ocr2_status st = OCR2_OK;
	span *spans = NULL;
	int n_spans = 0;
	if (root->type != JSON_OBJECT) {
		st = ocr2_fail(OCR2_ERR_MODEL, "%s: header is not a JSON object", f->path);
		goto out;
	}
	const uint64_t data_off = 8 + hlen;
	const uint64_t data_size = f->size - data_off;
	spans = malloc((root->len ? root->len : 1) * sizeof *spans);
	if (!spans) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", f->path);
		goto out;
	}
	for (size_t k = 0; k < root->len; k++) {
		const char *name = root->keys[k];
		const json_value *e = &root->items[k];
		if (!strcmp(name, "__metadata__"))
			continue;
		if (root->key_lens[k] != strlen(name) || root->key_lens[k] == 0) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: empty or NUL-containing tensor name",
				       f->path);
			goto out;
		}
		if (e->type != JSON_OBJECT) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: entry is not an object",
				       f->path, name);
			goto out;
		}
		const char *ds = json_str(json_get(e, "dtype"), NULL);
		ocr2_dtype dt;
		if (!ds) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: missing dtype", f->path, name);
			goto out;
		}
		if (!dtype_parse(ds, &dt)) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: unsupported dtype %.32s",
				       f->path, name, ds);
			goto out;
		}
		const json_value *sh = json_get(e, "shape");
		if (!sh || sh->type != JSON_ARRAY) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: missing or bad shape", f->path,
				       name);
			goto out;
		}
		if (sh->len > 4) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: %zu dimensions (at most 4)",
				       f->path, name, sh->len);
			goto out;
		}
		ocr2_tensor t = {0};
		t.dtype = dt;
		t.ndim = (int)sh->len;
		uint64_t nelem = 1;
		for (size_t d = 0; d < sh->len; d++) {
			uint64_t v;
			if (!json_uint(&sh->items[d], &v) || v > INT64_MAX) {
				st = ocr2_fail(OCR2_ERR_MODEL,
					       "%s: tensor %s: shape entry %zu is not a non-negative "
					       "integer",
					       f->path, name, d);
				goto out;
			}
			t.shape[d] = (int64_t)v;
			if (v && nelem > UINT64_MAX / v) {
				st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: element count overflows",
					       f->path, name);
				goto out;
			}
			nelem *= v;
		}
		size_t esz = ocr2_dtype_size(dt);
		if (nelem > (uint64_t)INT64_MAX / esz) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: byte size overflows", f->path,
				       name);
			goto out;
		}
		uint64_t nbytes = nelem * esz;
		const json_value *off = json_get(e, "data_offsets");
		uint64_t b, en;
		if (!off || off->type != JSON_ARRAY || off->len != 2 ||
		    !json_uint(&off->items[0], &b) || !json_uint(&off->items[1], &en)) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: missing or bad data_offsets",
				       f->path, name);
			goto out;
		}
		if (b > en || en > data_size) {
			st = ocr2_fail(OCR2_ERR_MODEL,
				       "%s: tensor %s: data_offsets [%llu, %llu] outside the data "
				       "section (%llu bytes; file truncated?)",
				       f->path, name, (unsigned long long)b, (unsigned long long)en,
				       (unsigned long long)data_size);
			goto out;
		}
		if (en - b != nbytes) {
			st = ocr2_fail(OCR2_ERR_MODEL,
				       "%s: tensor %s: data_offsets span %llu bytes, but %s shape "
				       "needs %llu",
				       f->path, name, (unsigned long long)(en - b), ds,
				       (unsigned long long)nbytes);
			goto out;
		}
		/* blocks run along rows: every kernel indexes scale r * (k / 32) + b */
		if (dt == OCR2_DT_Q8 &&
		    (nelem % Q8_BLOCK || (t.ndim > 0 && t.shape[t.ndim - 1] % Q8_BLOCK))) {
			st = ocr2_fail(OCR2_ERR_MODEL,
				       "%s: tensor %s: Q8_0 rows are not a multiple of %d elements",
				       f->path, name, Q8_BLOCK);
			goto out;
		}
		if (w->n >= MAX_TENSORS) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: too many tensors", f->path);
			goto out;
		}
		t.nelem = (int64_t)nelem;
		t.nbytes = (size_t)nbytes;
		t.data = (const char *)f->map + data_off + b;
		if (nbytes && (uintptr_t)t.data % esz) {
			/* misaligned for its dtype: keep an aligned private copy */
			void *copy = NULL;
			void **no = realloc(w->owned, (size_t)(w->n_owned + 1) * sizeof *no);
			if (no)
				w->owned = no;
			if (!no || posix_memalign(&copy, 64, nbytes) != 0) {
				st = ocr2_fail(OCR2_ERR_NOMEM, "%s: tensor %s: out of memory",
					       f->path, name);
				goto out;
			}
			memcpy(copy, t.data, nbytes);
			w->owned[w->n_owned++] = copy;
			w->n_copied++;
			t.data = copy;
		}
		t.name = strdup(name);
		if (!t.name) {
			st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", f->path);
			goto out;
		}
		if (w->n == w->cap) {
			int nc = w->cap ? w->cap * 2 : 256;
			entry *nt = realloc(w->t, (size_t)nc * sizeof *nt);
			if (!nt) {
				free((char *)t.name);
				st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", f->path);
				goto out;
			}
			w->t = nt;
			w->cap = nc;
		}
		w->t[w->n++] = (entry){t, fi};
		w->bytes += nbytes;
		spans[n_spans++] = (span){b, en, t.name};
	}
	/* No two tensors may share bytes (empty tensors share nothing). */
	qsort(spans, (size_t)n_spans, sizeof *spans, span_cmp);
	uint64_t last_end = 0;
	const char *last = NULL;
	for (int i = 0; i < n_spans; i++) {
		if (spans[i].begin == spans[i].end)
			continue;
		if (last && spans[i].begin < last_end) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s overlaps tensor %s", f->path,
				       spans[i].name, last);
			goto out;
		}
		last_end = spans[i].end;
		last = spans[i].name;
	}
out:
	free(spans);
	json_free(root);
	return st;
}

static int tensor_cmp(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->t.name, ((const entry *)b)->t.name);
}

/* Sorts the table, rejects duplicate names and binds Q8 scales. */
static ocr2_status finish(ocr2_weights *w)
{
	if (w->n == 0)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: no tensors", w->where);
	qsort(w->t, (size_t)w->n, sizeof *w->t, tensor_cmp);
	for (int i = 1; i < w->n; i++)
		if (!strcmp(w->t[i].t.name, w->t[i - 1].t.name))
			return ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s appears twice (in %s and %s)",
					 w->where, w->t[i].t.name,
					 base_name(w->files[w->t[i - 1].file].path),
					 base_name(w->files[w->t[i].file].path));
	for (int i = 0; i < w->n; i++) {
		ocr2_tensor *t = &w->t[i].t;
		if (t->dtype != OCR2_DT_Q8)
			continue;
		char sname[4096];
		if ((size_t)snprintf(sname, sizeof sname, "%s.q8scale", t->name) >= sizeof sname)
			return ocr2_fail(OCR2_ERR_MODEL, "%s: tensor name too long", w->where);
		const ocr2_tensor *s = ocr2_weights_get(w, sname);
		if (!s)
			return ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: Q8_0 without its scales %s",
					 w->where, t->name, sname);
		if ((s->dtype != OCR2_DT_F32 && s->dtype != OCR2_DT_F16) ||
		    s->nelem != t->nelem / Q8_BLOCK)
			return ocr2_fail(OCR2_ERR_MODEL,
					 "%s: tensor %s: scales must be F16 or F32 with %lld elements",
					 w->where, sname, (long long)(t->nelem / Q8_BLOCK));
		if (s->dtype == OCR2_DT_F32)
			t->scales = s->data;
		else
			t->scales_h = s->data;
	}
	return OCR2_OK;
}

static ocr2_weights *weights_new(const char *where)
{
	ocr2_weights *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->where = strdup(where);
	if (!w->where) {
		free(w);
		return NULL;
	}
	return w;
}

ocr2_status ocr2_weights_load_file(const char *path, ocr2_weights **out)
{
	*out = NULL;
	ocr2_weights *w = weights_new(path);
	if (!w)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	int fi;
	ocr2_status st = add_file(w, path, &fi);
	if (st == OCR2_OK)
		st = parse_file(w, fi);
	if (st == OCR2_OK)
		st = finish(w);
	if (st != OCR2_OK) {
		ocr2_weights_free(w);
		return st;
	}
	*out = w;
	return OCR2_OK;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int file_index(const ocr2_weights *w, const char *path)
{
	for (int i = 0; i < w->n_files; i++)
		if (!strcmp(w->files[i].path, path))
			return i;
	return -1;
}

/* Through model.safetensors.index.json: load each shard it names once, then
 * verify every listed tensor sits in the shard the index says. */
static ocr2_status load_indexed(ocr2_weights *w, const char *dir, const char *ipath)
{
	char *text;
	size_t len;
	ocr2_status st = ocr2_read_file(ipath, MAX_HEADER, OCR2_ERR_MODEL, &text, &len);
	if (st)
		return st;
	json_value *root = json_parse(text, len, ipath);
	free(text);
	if (!root)
		return OCR2_ERR_MODEL;
	st = OCR2_OK;
	int *shard_of = NULL;
	const json_value *map = json_get(root, "weight_map");
	if (!map || map->type != JSON_OBJECT || map->len == 0) {
		st = ocr2_fail(OCR2_ERR_MODEL, "%s: missing or empty weight_map", ipath);
		goto out;
	}
	shard_of = malloc(map->len * sizeof *shard_of);
	if (!shard_of) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", ipath);
		goto out;
	}
	for (size_t i = 0; i < map->len; i++) {
		const char *fn = json_str(&map->items[i], NULL);
		if (!fn || !*fn || strlen(fn) != map->items[i].len || strchr(fn, '/') ||
		    !strcmp(fn, ".") || !strcmp(fn, "..")) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: bad shard file name", ipath,
				       map->keys[i]);
			goto out;
		}
		char *path = ocr2_path_join(dir, fn);
		if (!path) {
			st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", ipath);
			goto out;
		}
		int fi = file_index(w, path);
		if (fi < 0) {
			if (access(path, F_OK) != 0) {
				st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s: shard %s is missing",
					       ipath, map->keys[i], fn);
				free(path);
				goto out;
			}
			st = add_file(w, path, &fi);
			if (st == OCR2_OK)
				st = parse_file(w, fi);
		}
		free(path);
		if (st != OCR2_OK)
			goto out;
		shard_of[i] = fi;
	}
	st = finish(w);
	if (st != OCR2_OK)
		goto out;
	for (size_t i = 0; i < map->len; i++) {
		const entry *e = (const entry *)ocr2_weights_get(w, map->keys[i]);
		const wfile *f = &w->files[shard_of[i]];
		if (!e || e->file != shard_of[i]) {
			st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s listed in the index is not in %s",
				       ipath, map->keys[i], base_name(f->path));
			goto out;
		}
	}
out:
	free(shard_of);
	json_free(root);
	return st;
}

/* Every *.safetensors of dir, in name order. */
static ocr2_status load_all(ocr2_weights *w, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: cannot open model directory: %s", dir,
				 strerror(errno));
	char **names = NULL;
	int n = 0, cap = 0;
	ocr2_status st = OCR2_OK;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".safetensors"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if (cap > MAX_FILES) {
				st = ocr2_fail(OCR2_ERR_MODEL, "%s: too many safetensors files", dir);
				break;
			}
			char **nn = realloc(names, (size_t)cap * sizeof *nn);
			if (!nn) {
				st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
			break;
		}
		n++;
	}
	closedir(d);
	if (st == OCR2_OK && n == 0)
		st = ocr2_fail(OCR2_ERR_MODEL, "%s: no *.safetensors files", dir);
	if (st == OCR2_OK)
		qsort(names, (size_t)n, sizeof *names, str_cmp);
	for (int i = 0; i < n && st == OCR2_OK; i++) {
		char *path = ocr2_path_join(dir, names[i]);
		int fi;
		if (!path) {
			st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
			break;
		}
		st = add_file(w, path, &fi);
		if (st == OCR2_OK)
			st = parse_file(w, fi);
		free(path);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (st == OCR2_OK)
		st = finish(w);
	return st;
}

ocr2_status ocr2_weights_load(const char *dir, ocr2_weights **out)
{
	*out = NULL;
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: cannot open model directory: %s", dir,
				 strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return ocr2_fail(OCR2_ERR_MODEL, "%s: not a directory", dir);
	ocr2_weights *w = weights_new(dir);
	if (!w)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
	char *ipath = ocr2_path_join(dir, "model.safetensors.index.json");
	if (!ipath) {
		ocr2_weights_free(w);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
	}
	ocr2_status st;
	if (access(ipath, F_OK) == 0)
		st = load_indexed(w, dir, ipath);
	else
		st = load_all(w, dir);
	free(ipath);
	if (st != OCR2_OK) {
		ocr2_weights_free(w);
		return st;
	}
	*out = w;
	return OCR2_OK;
}

const ocr2_tensor *ocr2_weights_get(const ocr2_weights *w, const char *name)
{
	if (!w || !name)
		return NULL;
	int lo = 0, hi = w->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(name, w->t[mid].t.name);
		if (c == 0)
			return &w->t[mid].t;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

int ocr2_weights_count(const ocr2_weights *w)
{
	return w ? w->n : 0;
}

const ocr2_tensor *ocr2_weights_at(const ocr2_weights *w, int i)
{
	if (!w || i < 0 || i >= w->n)
		return NULL;
	return &w->t[i].t;
}

uint64_t ocr2_weights_bytes(const ocr2_weights *w)
{
	return w ? w->bytes : 0;
}

int ocr2_weights_nfiles(const ocr2_weights *w)
{
	return w ? w->n_files : 0;
}

const char *ocr2_weights_file(const ocr2_weights *w, int i, uint64_t *size)
{
	if (!w || i < 0 || i >= w->n_files)
		return NULL;
	if (size)
		*size = w->files[i].size;
	return w->files[i].path;
}

int ocr2_weights_copied(const ocr2_weights *w)
{
	return w ? w->n_copied : 0;
}

static int fmt_shape(char *buf, size_t n, const int64_t *d, int nd)
{
	size_t o = 0;
	o += (size_t)snprintf(buf + o, n - o, "[");
	for (int i = 0; i < nd && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? "," : "", (long long)d[i]);
	if (o < n)
		o += (size_t)snprintf(buf + o, n - o, "]");
	return (int)o;
}

ocr2_status ocr2_weights_expect(const ocr2_weights *w, const ocr2_tensor **out,
				const char *name, ...)
{
	int64_t want[5];
	int nd = 0;
	va_list ap;
	va_start(ap, name);
	for (;;) {
		int d = va_arg(ap, int);
		if (d < 0 || nd == 5)
			break;
		want[nd++] = d;
	}
	va_end(ap);
	if (out)
		*out = NULL;
	const char *where = w ? w->where : "(no weights)";
	if (nd > 4)
		return ocr2_fail(OCR2_ERR_INTERNAL, "%s: tensor %s: more than 4 dims expected",
				 where, name);
	const ocr2_tensor *t = ocr2_weights_get(w, name);
	if (!t)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: missing tensor %s", where, name);
	bool same = t->ndim == nd;
	for (int i = 0; same && i < nd; i++)
		same = t->shape[i] == want[i];
	if (!same) {
		char a[128], b[128];
		fmt_shape(a, sizeof a, t->shape, t->ndim);
		fmt_shape(b, sizeof b, want, nd);
		return ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s has shape %s, expected %s", where,
				 name, a, b);
	}
	if (!is_float(t->dtype))
		return ocr2_fail(OCR2_ERR_MODEL, "%s: tensor %s has dtype %s, expected a float type",
				 where, name, ocr2_dtype_name(t->dtype));
	if (out)
		*out = t;
	return OCR2_OK;
}
