/* json.c - a strict, depth-limited JSON DOM parser for the model's own files
 * (config.json, tokenizer.json, safetensors headers, the hub's API answers). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define JSON_MAX_DEPTH 128

typedef struct {
	const char *s, *end, *start;
	const char *what;
	const char *err;
} parser;

static void skip_ws(parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static bool fail(parser *p, const char *msg)
{
	if (!p->err)
		p->err = msg;
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool read_hex4(parser *p, unsigned *out)
{
	if (p->end - p->s < 4)
		return fail(p, "truncated \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p->s[i]);
		if (h < 0)
			return fail(p, "bad \\u escape");
		v = v << 4 | (unsigned)h;
	}
	p->s += 4;
	*out = v;
	return true;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Parses a string starting after the opening quote. */
static bool parse_string(parser *p, char **out, size_t *outlen)
{
	/* First pass: find the end and whether escapes occur. */
	const char *q = p->s;
	bool esc = false;
	while (q < p->end && *q != '"') {
		if ((unsigned char)*q < 0x20)
			return fail(p, "control character in string");
		if (*q == '\\') {
			esc = true;
			q++;
		}
		q++;
	}
	if (q >= p->end)
		return fail(p, "unterminated string");
	size_t cap = (size_t)(q - p->s);
	char *buf = malloc(cap + 1);
	if (!buf)
		return fail(p, "out of memory");
	if (!esc) {
		memcpy(buf, p->s, cap);
		buf[cap] = 0;
		*out = buf;
		*outlen = cap;
		p->s = q + 1;
		return true;
	}
	size_t n = 0;
	while (*p->s != '"') {
		char c = *p->s++;
		if (c != '\\') {
			buf[n++] = c;
			continue;
		}
		c = *p->s++;
		switch (c) {
		case '"': buf[n++] = '"'; break;
		case '\\': buf[n++] = '\\'; break;
		case '/': buf[n++] = '/'; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u': {
			unsigned cp;
			if (!read_hex4(p, &cp))
				goto bad;
			if (cp >= 0xD800 && cp < 0xDC00) {
				unsigned lo;
				if (p->end - p->s >= 2 && p->s[0] == '\\' && p->s[1] == 'u') {
					p->s += 2;
					if (!read_hex4(p, &lo))
						goto bad;
					if (lo >= 0xDC00 && lo < 0xE000)
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					else {
						/* lone high surrogate: replacement char, keep lo */
						n += put_utf8(buf + n, 0xFFFD);
						cp = (lo >= 0xD800 && lo < 0xE000) ? 0xFFFD : lo;
					}
				} else
					cp = 0xFFFD;
			} else if (cp >= 0xDC00 && cp < 0xE000)
				cp = 0xFFFD;
			/* An escape is 6 bytes and encodes at most 3 bytes (or 12 -> 4): fits. */
			n += put_utf8(buf + n, cp);
			break;
		}
		default:
			fail(p, "bad escape in string");
			goto bad;
		}
	}
	p->s++;
	buf[n] = 0;
	*out = buf;
	*outlen = n;
	return true;
bad:
	free(buf);
	return false;
}

static bool parse_value(parser *p, json_value *v, int depth);

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 8;
	while (nc < need)
		nc *= 2;
	void *na = realloc(*arr, nc * elem);
	if (!na)
		return false;
	*arr = na;
	*cap = nc;
	return true;
}

static void free_inner(json_value *v)
{
	if (v->type == JSON_STRING)
		free(v->str);
	else if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
		for (size_t i = 0; i < v->len; i++) {
			free_inner(&v->items[i]);
			if (v->keys)
				free(v->keys[i]);
		}
		free(v->items);
		free(v->keys);
		free(v->key_lens);
	}
	memset(v, 0, sizeof *v);
}

static bool parse_number(parser *p, json_value *v)
{
	const char *q = p->s;
	if (q < p->end && *q == '-')
		q++;
	if (q >= p->end)
		return fail(p, "bad number");
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (q < p->end && *q >= '0' && *q <= '9')
			q++;
	else
		return fail(p, "bad number");
	if (q < p->end && *q == '.') {
		q++;
		if (q >= p->end || *q < '0' || *q > '9')
			return fail(p, "bad number");
		while (q < p->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < p->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < p->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= p->end || *q < '0' || *q > '9')
			return fail(p, "bad number");
		while (q < p->end && *q >= '0' && *q <= '9')
			q++;
	}
	char tmp[64];
	size_t n = (size_t)(q - p->s);
	double d;
	if (n < sizeof tmp) {
		memcpy(tmp, p->s, n);
		tmp[n] = 0;
		d = strtod(tmp, NULL);
	} else {
		char *big = malloc(n + 1);
		if (!big)
			return fail(p, "out of memory");
		memcpy(big, p->s, n);
		big[n] = 0;
		d = strtod(big, NULL);
		free(big);
	}
	v->type = JSON_NUMBER;
	v->num = d;
	p->s = q;
	return true;
}

static bool match_lit(parser *p, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(p->end - p->s) < n || memcmp(p->s, lit, n) != 0)
		return fail(p, "unexpected character");
	p->s += n;
	return true;
}

static bool parse_container(parser *p, json_value *v, int depth, bool object)
{
	size_t cap = 0, kcap = 0, lcap = 0, n = 0;
	json_value *items = NULL;
	char **keys = NULL;
	size_t *klens = NULL;
	char close = object ? '}' : ']';
	p->s++; /* [ or { */
	skip_ws(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		goto done;
	}
	for (;;) {
		char *key = NULL;
		size_t klen = 0;
		skip_ws(p);
		if (object) {
			if (p->s >= p->end || *p->s != '"') {
				fail(p, "expected string key");
				goto bad;
			}
			p->s++;
			if (!parse_string(p, &key, &klen))
				goto bad;
			skip_ws(p);
			if (p->s >= p->end || *p->s != ':') {
				free(key);
				fail(p, "expected ':'");
				goto bad;
			}
			p->s++;
		}
		if (!grow((void **)&items, &cap, n + 1, sizeof *items) ||
		    (object && (!grow((void **)&keys, &kcap, n + 1, sizeof *keys) ||
				!grow((void **)&klens, &lcap, n + 1, sizeof *klens)))) {
			free(key);
			fail(p, "out of memory");
			goto bad;
		}
		memset(&items[n], 0, sizeof items[n]);
		if (object) {
			keys[n] = key;
			klens[n] = klen;
		}
		if (!parse_value(p, &items[n], depth + 1)) {
			free_inner(&items[n]);
			if (object)
				free(keys[n]);
			goto bad;
		}
		n++;
		skip_ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == close) {
			p->s++;
			break;
		}
		fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
done:
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	v->items = items;
	v->len = n;
	if (object) {
		v->keys = keys;
		v->key_lens = klens;
	}
	return true;
bad:
	for (size_t i = 0; i < n; i++) {
		free_inner(&items[i]);
		if (object)
			free(keys[i]);
	}
	free(items);
	free(keys);
	free(klens);
	return false;
}

static bool parse_value(parser *p, json_value *v, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return fail(p, "nesting too deep");
	skip_ws(p);
	if (p->s >= p->end)
		return fail(p, "unexpected end of input");
	switch (*p->s) {
	case '{':
		return parse_container(p, v, depth, true);
	case '[':
		return parse_container(p, v, depth, false);
	case '"':
		p->s++;
		v->type = JSON_STRING;
		return parse_string(p, &v->str, &v->len);
	case 't':
		v->type = JSON_BOOL;
		v->b = true;
		return match_lit(p, "true");
	case 'f':
		v->type = JSON_BOOL;
		v->b = false;
		return match_lit(p, "false");
	case 'n':
		v->type = JSON_NULL;
		return match_lit(p, "null");
	default:
		return parse_number(p, v);
	}
}

json_value *json_parse(const char *text, size_t n, const char *what)
{
	parser p = {.s = text, .end = text + n, .start = text, .what = what};
	json_value *v = calloc(1, sizeof *v);
	if (!v) {
		ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", what);
		return NULL;
	}
	if (parse_value(&p, v, 0)) {
		skip_ws(&p);
		if (p.s == p.end)
			return v;
		fail(&p, "trailing characters");
	}
	ocr2_fail(OCR2_ERR_FORMAT, "%s: invalid JSON: %s at byte %zu", what,
		  p.err ? p.err : "syntax error", (size_t)(p.s - text));
	json_free(v);
	return NULL;
}

void json_free(json_value *v)
{
	if (!v)
		return;
	free_inner(v);
	free(v);
}

const json_value *json_get(const json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; i < v->len; i++)
		if (v->key_lens[i] == kl && memcmp(v->keys[i], key, kl) == 0)
			return &v->items[i];
	return NULL;
}

const json_value *json_at(const json_value *v, size_t i)
{
	if (!v || v->type != JSON_ARRAY || i >= v->len)
		return NULL;
	return &v->items[i];
}

double json_num(const json_value *v, double dflt, bool *ok)
{
	if (!v || v->type == JSON_NULL)
		return dflt;
	if (v->type != JSON_NUMBER) {
		if (ok)
			*ok = false;
		return dflt;
	}
	return v->num;
}

const char *json_str(const json_value *v, const char *dflt)
{
	if (!v || v->type != JSON_STRING)
		return dflt;
	return v->str;
}
