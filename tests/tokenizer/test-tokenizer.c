/* test-tokenizer.c - checks lib/tokenizer/tokenizer.c against Hugging Face `tokenizers`:
 * every vector of testdata/tokenizer/vectors*.jsonl (made by make-vectors.js)
 * byte for byte, decode(encode(x)) == x, the UTF-8 and id errors, and the
 * load-time checks of tokenizer.json. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "check.h"
#include "ocr2.h"

static char *slurp(const char *path, size_t *n)
{
	char *buf;
	return ocr2_read_file(path, SIZE_MAX, OCR2_ERR_IO, &buf, n) == OCR2_OK ? buf : NULL;
}

static void print_ids(const char *what, const int32_t *ids, int n)
{
	fprintf(stderr, "  %s:", what);
	for (int i = 0; i < n && i < 40; i++)
		fprintf(stderr, " %d", (int)ids[i]);
	fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

/* Checks one vectors file; returns the number of vectors checked. */
static int check_vectors(const ocr2_tokenizer *t, const char *path, int *vocab_size, bool roundtrip)
{
	size_t n;
	char *text = slurp(path, &n);
	CHECK(text, "%s: cannot read", path);
	if (!text)
		return 0;
	int count = 0, lineno = 0, shown = 0;
	for (char *line = text, *next; line < text + n; line = next) {
		char *nl = memchr(line, '\n', (size_t)(text + n - line));
		next = nl ? nl + 1 : text + n;
		lineno++;
		size_t len = (size_t)((nl ? nl : text + n) - line);
		if (len == 0)
			continue;
		json_value *v = json_parse(line, len, path);
		CHECK(v, "%s:%d: %s", path, lineno, ocr2_errmsg());
		if (!v)
			continue;
		const json_value *meta = json_get(v, "meta");
		const json_value *jt = json_get(v, "text"), *jids = json_get(v, "ids");
		const json_value *jdec = json_get(v, "decoded");
		if (meta) {
			const json_value *vs = json_get(meta, "vocab_size");
			if (vs)
				*vocab_size = (int)vs->num;
			json_free(v);
			continue;
		}
		int nexp = jids ? (int)jids->len : 0;
		int32_t *exp = malloc(((size_t)nexp + 1) * sizeof *exp);
		for (int i = 0; i < nexp; i++)
			exp[i] = (int32_t)jids->items[i].num;
		if (jt) {
			int32_t *ids;
			int nids;
			ocr2_status st = ocr2_tokenizer_encode(t, jt->str, jt->len, &ids, &nids);
			CHECK(st == OCR2_OK, "%s:%d: encode: %s", path, lineno, ocr2_errmsg());
			if (st == OCR2_OK) {
				bool same = nids == nexp && memcmp(ids, exp, (size_t)nids * sizeof *ids) == 0;
				CHECK(same, "%s:%d: encode differs from tokenizers", path, lineno);
				if (!same && shown++ < 5) {
					print_ids("expected", exp, nexp);
					print_ids("got     ", ids, nids);
				}
				char *back;
				size_t blen;
				st = ocr2_tokenizer_decode(t, ids, nids, &back, &blen);
				CHECK(st == OCR2_OK, "%s:%d: decode: %s", path, lineno, ocr2_errmsg());
				if (st == OCR2_OK) {
					CHECK(!roundtrip || (blen == jt->len && memcmp(back, jt->str, blen) == 0),
					      "%s:%d: decode(encode(text)) != text", path, lineno);
					free(back);
				}
				free(ids);
			}
			count++;
		} else if (jdec && jids) {
			char *out;
			size_t olen;
			ocr2_status st = ocr2_tokenizer_decode(t, exp, nexp, &out, &olen);
			CHECK(st == OCR2_OK && olen == jdec->len && memcmp(out, jdec->str, olen) == 0,
			      "%s:%d: decode differs from tokenizers", path, lineno);
			if (st == OCR2_OK)
				free(out);
			count++;
		} else {
			FAIL("%s:%d: neither an encode nor a decode vector", path, lineno);
		}
		free(exp);
		json_free(v);
	}
	free(text);
	return count;
}

/* The ten ground-truth vectors of MODEL.md §6/§7: Hugging Face tokenizers
 * on DeepSeek-OCR's tokenizer.json, as a third-party test lists them. */
static void check_ground_truth(const ocr2_tokenizer *t)
{
	static const struct {
		const char *text;
		int n;
		int32_t ids[12];
	} gt[] = {
		{"Hello", 1, {19923}},
		{"The capital of France is", 5, {671, 6102, 294, 8760, 344}},
		{"\n<|grounding|>Convert the document to markdown.", 9,
		 {201, 128820, 21842, 270, 4940, 304, 2121, 7919, 16}},
		{"\nFree OCR.", 4, {201, 21431, 126041, 16}},
		{"<image>\n<|grounding|>Convert the document to markdown.", 10,
		 {128815, 201, 128820, 21842, 270, 4940, 304, 2121, 7919, 16}},
		{"12345", 2, {6895, 1883}},
		{"year 2026, price $1299.99", 11,
		 {24821, 223, 939, 24, 14, 5220, 957, 9603, 27, 16, 1977}},
		{"日本語のテキスト", 5, {88768, 1576, 17383, 20367, 24552}},
		{"  spaced", 2, {223, 48914}},
		{"def main():\n\tpass", 5, {3465, 1840, 15536, 200, 9762}},
	};
	for (size_t i = 0; i < sizeof gt / sizeof *gt; i++) {
		int32_t *ids;
		int n;
		ocr2_status st = ocr2_tokenizer_encode(t, gt[i].text, strlen(gt[i].text), &ids, &n);
		CHECK(st == OCR2_OK && n == gt[i].n && !memcmp(ids, gt[i].ids, (size_t)n * sizeof *ids),
		      "ground truth '%s'", gt[i].text);
		if (st == OCR2_OK)
			free(ids);
	}
}

static void check_errors(const ocr2_tokenizer *t)
{
	static const struct {
		const char *s;
		size_t len, bad;
	} cases[] = {
		{"\xff", 1, 0},
		{"ab\xc3", 3, 2},           /* truncated */
		{"ok \xc0\x80", 5, 3},      /* overlong NUL */
		{"x\xed\xa0\x80y", 5, 1},   /* surrogate */
		{"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
		{"<image>\x80", 8, 7},      /* lone continuation byte */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int32_t *ids = (int32_t *)1;
		int n = -1;
		ocr2_status st = ocr2_tokenizer_encode(t, cases[i].s, cases[i].len, &ids, &n);
		char want[64];
		snprintf(want, sizeof want, "byte %zu", cases[i].bad);
		CHECK(st == OCR2_ERR_UTF8 && strstr(ocr2_errmsg(), want) && ids == NULL && n == 0,
		      "invalid UTF-8 case %zu: status %d, message '%s'", i, st, ocr2_errmsg());
	}
	/* ids with no token are dropped, as tokenizers' decode drops them: the
	 * model's 129280 rows against the tokenizer's 128827 tokens */
	int32_t good[2] = {19923, 0}, bad[3] = {19923, -1, 0};
	char *out, *want;
	size_t len, wlen;
	CHECK(ocr2_tokenizer_decode(t, good, 2, &want, &wlen) == OCR2_OK && wlen > 0, "decode");
	int32_t unknown[] = {-1, ocr2_tokenizer_vocab_size(t), 128900, 129279, INT32_MAX};
	for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
		bad[1] = unknown[i];
		CHECK(ocr2_tokenizer_decode(t, bad, 3, &out, &len) == OCR2_OK && len == wlen &&
			      !memcmp(out, want, len),
		      "decode drops id %d", (int)unknown[i]);
		free(out);
	}
	int32_t only[2] = {128900, 129000};
	CHECK(ocr2_tokenizer_decode(t, only, 2, &out, &len) == OCR2_OK && len == 0 && out[0] == 0,
	      "only unknown ids: empty text");
	free(out);
	free(want);
	/* empty input */
	int32_t *ids;
	int n;
	CHECK(ocr2_tokenizer_encode(t, "", 0, &ids, &n) == OCR2_OK && n == 0, "empty encode");
	free(ids);
	CHECK(ocr2_tokenizer_decode(t, NULL, 0, &out, &len) == OCR2_OK && len == 0 && out[0] == 0,
	      "empty decode");
	free(out);
	/* the special ids MODEL.md §6/§7 lists, looked up by text */
	static const struct {
		const char *s;
		int id;
	} special[] = {
		{"<｜begin▁of▁sentence｜>", 0}, {"<｜end▁of▁sentence｜>", 1}, {"<image>", 128815},
		{"<|ref|>", 128816}, {"<|/ref|>", 128817}, {"<|det|>", 128818}, {"<|/det|>", 128819},
		{"<|grounding|>", 128820}, {"<td>", 128821}, {"</td>", 128822}, {"<tr>", 128823},
		{"</tr>", 128824}, {"<|User|>", 128825}, {"<|Assistant|>", 128826},
		{"\xc4\xa0the", 270}, /* "Ġthe": a vocabulary token, byte-level form */
		{"no such token", -1},
	};
	for (size_t i = 0; i < sizeof special / sizeof *special; i++)
		CHECK(ocr2_tokenizer_token_id(t, special[i].s) == special[i].id, "token_id(%s) = %d",
		      special[i].s, ocr2_tokenizer_token_id(t, special[i].s));
}

/* Writes text to a temporary file and tries to load it. */
static ocr2_status load_text(const char *text, size_t n, ocr2_tokenizer **t, const char *tmpl)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/tmp", tmpl);
	int fd = mkstemp(path);
	if (fd < 0)
		return OCR2_ERR_IO;
	FILE *f = fdopen(fd, "wb");
	fwrite(text, 1, n, f);
	fclose(f);
	ocr2_status st = ocr2_tokenizer_load(path, t);
	unlink(path);
	return st;
}

/* Replaces the first occurrence of from by to; returns a malloc'd copy. */
static char *replace(const char *text, size_t n, const char *from, const char *to, size_t *outn)
{
	const char *p = memmem(text, n, from, strlen(from));
	if (!p)
		return NULL;
	size_t a = (size_t)(p - text), fl = strlen(from), tl = strlen(to);
	char *out = malloc(n - fl + tl + 1);
	memcpy(out, text, a);
	memcpy(out + a, to, tl);
	memcpy(out + a + tl, p + fl, n - a - fl);
	*outn = n - fl + tl;
	out[*outn] = 0;
	return out;
}

/* The merges rewritten from "a b" strings to ["a", "b"] pairs. */
static char *pair_merges(const char *text, size_t n, size_t *outn)
{
	const char *m = memmem(text, n, "\"merges\":", 9);
	if (!m)
		return NULL;
	const char *open = memchr(m, '[', (size_t)(text + n - m));
	char *out = malloc(2 * n + 16);
	size_t o = (size_t)(open + 1 - text);
	memcpy(out, text, o);
	const char *p = open + 1;
	for (;;) {
		while (*p == ' ' || *p == '\n' || *p == ',' || *p == '\t' || *p == '\r') {
			out[o++] = *p;
			p++;
		}
		if (*p != '"')
			break;
		out[o++] = '[';
		out[o++] = '"';
		for (p++; *p != '"'; p++) {
			if (*p == '\\') {
				out[o++] = *p++;
				out[o++] = *p;
			} else if (*p == ' ') {
				memcpy(out + o, "\", \"", 4);
				o += 4;
			} else
				out[o++] = *p;
		}
		out[o++] = '"';
		out[o++] = ']';
		p++;
	}
	size_t rest = (size_t)(text + n - p);
	memcpy(out + o, p, rest);
	*outn = o + rest;
	out[*outn] = 0;
	return out;
}

static void check_load(const char *path, const ocr2_tokenizer *ref)
{
	ocr2_tokenizer *t = NULL;
	CHECK(ocr2_tokenizer_load("/nonexistent/tokenizer.json", &t) == OCR2_ERR_IO && !t,
	      "missing file");
	size_t n, m;
	char *text = slurp(path, &n);
	if (!text)
		return;
	static const struct {
		const char *from, *to;
	} bad[] = {
		{"\\\\p{N}{1,3}", "\\\\p{N}{1,4}"},
		{"\"Isolated\"", "\"Removed\""},
		{"(?!\\\\S)", "(?=\\\\S)"},
		{"\"type\": \"BPE\"", "\"type\": \"WordPiece\""},
		{"\"byte_fallback\": false", "\"byte_fallback\": true"},
		{"\"normalizers\": []", "\"normalizers\": [{\"type\": \"NFC\"}]"},
		{"\"id\": 128815,", "\"id\": 128816,"},
		{"\"merges\": [", "\"merges\": [\"notatoken x\", "},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *mod = replace(text, n, bad[i].from, bad[i].to, &m);
		CHECK(mod, "tokenizer.json has no '%s' to alter", bad[i].from);
		if (!mod)
			continue;
		ocr2_status st = load_text(mod, m, &t, "ocr2-tok-XXXXXX");
		CHECK(st == OCR2_ERR_FORMAT && !t, "altered (%s) loads with status %d", bad[i].to, st);
		ocr2_tokenizer_free(t);
		t = NULL;
		free(mod);
	}
	/* truncated JSON */
	CHECK(load_text(text, n / 2, &t, "ocr2-tok-XXXXXX") == OCR2_ERR_FORMAT,
	      "truncated tokenizer.json");
	ocr2_tokenizer_free(t);
	t = NULL;
	/* merges as [a, b] pairs: the same tokenizer */
	char *pairs = pair_merges(text, n, &m);
	CHECK(pairs, "no merges array");
	if (pairs) {
		ocr2_status st = load_text(pairs, m, &t, "ocr2-tok-XXXXXX");
		CHECK(st == OCR2_OK, "merges as pairs: %s", ocr2_errmsg());
		if (st == OCR2_OK) {
			static const char *const texts[] = {"Hello world", "日本語のテキスト 12345",
							    "<image>\n<|grounding|>Convert"};
			for (size_t i = 0; i < 3; i++) {
				int32_t *a, *b;
				int na, nb;
				ocr2_tokenizer_encode(ref, texts[i], strlen(texts[i]), &a, &na);
				ocr2_tokenizer_encode(t, texts[i], strlen(texts[i]), &b, &nb);
				CHECK(na == nb && !memcmp(a, b, (size_t)na * sizeof *a),
				      "merges as pairs encode '%s' differently", texts[i]);
				free(a);
				free(b);
			}
		}
		ocr2_tokenizer_free(t);
		free(pairs);
	}
	free(text);
}

/* The tokenizer with the flags of testdata/tokenizer/flags.json set, against
 * vectors-flags.jsonl (lstrip/rstrip drop spaces: no round trip there). */
static int check_flags(const char *path, const char *data)
{
	char fpath[4096], vec[4096];
	snprintf(fpath, sizeof fpath, "%s/tokenizer/flags.json", data);
	snprintf(vec, sizeof vec, "%s/tokenizer/vectors-flags.jsonl", data);
	size_t n, fn;
	char *text = slurp(path, &n), *ftext = slurp(fpath, &fn);
	json_value *repl = ftext ? json_parse(ftext, fn, fpath) : NULL;
	CHECK(text && repl && repl->type == JSON_ARRAY, "%s: cannot read", fpath);
	int count = 0;
	for (size_t i = 0; repl && text && i < repl->len; i++) {
		const json_value *r = &repl->items[i];
		size_t m;
		char *mod = replace(text, n, r->items[0].str, r->items[1].str, &m);
		CHECK(mod, "tokenizer.json has no '%s'", r->items[0].str);
		if (mod) {
			free(text);
			text = mod;
			n = m;
		}
	}
	ocr2_tokenizer *t = NULL;
	if (text && repl) {
		ocr2_status st = load_text(text, n, &t, "ocr2-tok-XXXXXX");
		CHECK(st == OCR2_OK, "tokenizer with flags: %s", ocr2_errmsg());
		int vs;
		if (st == OCR2_OK)
			count = check_vectors(t, vec, &vs, false);
		CHECK(count >= 1000, "%s: only %d vectors", vec, count);
	}
	ocr2_tokenizer_free(t);
	json_free(repl);
	free(ftext);
	free(text);
	return count;
}

int main(void)
{
	const char *cache = getenv("TESTCACHE"), *data = getenv("TESTDATA");
	if (!cache || !data) {
		fprintf(stderr, "TESTCACHE and TESTDATA must be set (meson test sets them)\n");
		return 1;
	}
	char path[4096], vec[4096];
	snprintf(path, sizeof path, "%s/tokenizer.json", cache);
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "FAIL: %s is missing: run 'bash testdata/fetch.sh' first\n", path);
		return 1;
	}
	ocr2_tokenizer *t;
	if (ocr2_tokenizer_load(path, &t) != OCR2_OK) {
		fprintf(stderr, "FAIL: %s\n", ocr2_errmsg());
		return 1;
	}
	int vocab_size = -1;
	snprintf(vec, sizeof vec, "%s/tokenizer/vectors.jsonl", data);
	int nmain = check_vectors(t, vec, &vocab_size, true);
	CHECK(nmain >= 3000, "%s: only %d vectors", vec, nmain);
	CHECK(ocr2_tokenizer_vocab_size(t) == vocab_size, "vocab_size %d, tokenizers says %d",
	      ocr2_tokenizer_vocab_size(t), vocab_size);
	snprintf(vec, sizeof vec, "%s/tokenizer/vectors-unicode14.jsonl", data);
	int nu14 = check_vectors(t, vec, &vocab_size, true);
	CHECK(nu14 >= 100, "%s: only %d vectors", vec, nu14);
	int nflags = check_flags(path, data);
	check_ground_truth(t);
	check_errors(t);
	check_load(path, t);
	ocr2_tokenizer_free(t);
	printf("%d + %d + %d vectors checked\n", nmain, nu14, nflags);
	return check_done();
}
