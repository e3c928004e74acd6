/* json.c - a strict, depth-limited JSON DOM parser for the model's own files
 * (config.json, tokenizer.json, safetensors headers, the hub's API answers),
 * and the one writer of JSON strings (scan's output, the fetch record).
 *
 * The whole tree lives in one arena freed by json_free(root): strings and
 * exactly-sized item arrays are carved from large blocks (advised as huge
 * pages when big), and a container's children are gathered on a scratch
 * stack until it closes. A 4.7 MB tokenizer.json (256k values) thus costs a
 * few large allocations instead of a quarter million small ones. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/error.h"
#include "base/json.h"
#include "base/unicode.h"

#define JSON_MAX_DEPTH 128

typedef struct block {
	struct block *next;
	size_t used, cap;
	max_align_t data[]; /* cap bytes */
} block;

/* What json_parse returns points into this, at root. */
typedef struct {
	block *blocks;
	json_value root;
} tree;

typedef struct {
	const char *s, *end, *start;
	const char *what;
	const char *err;
	block *blocks;      /* the arena, newest first */
	size_t next_block;  /* size of the next block */
	json_value *stack;  /* children of the open containers */
	size_t sp, scap;
	char **kstack;      /* their keys, for objects */
	size_t *lstack;
	size_t kcap;
} parser;

static void free_blocks(block *b)
{
	while (b) {
		block *n = b->next;
		free(b);
		b = n;
	}
}

/* n bytes from the arena, aligned for any type; NULL when out of memory. */
static void *arena_alloc(parser *p, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	block *b = p->blocks;
	if (!b || b->cap - b->used < n) {
		size_t cap = p->next_block;
		if (cap < n)
			cap = n;
		b = malloc(sizeof *b + cap);
		if (!b)
			return NULL;
#ifdef MADV_HUGEPAGE
		/* big blocks: fewer page faults when the tree is first written */
		const uintptr_t huge = (uintptr_t)2 << 20;
		if (cap >= 2 * huge) {
			uintptr_t lo = ((uintptr_t)b->data + huge - 1) & ~(huge - 1);
			uintptr_t hi = ((uintptr_t)b->data + cap) & ~(huge - 1);
			if (hi > lo)
				madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
		}
#endif
		b->next = p->blocks;
		b->used = 0;
		b->cap = cap;
		p->blocks = b;
		if (p->next_block < ((size_t)64 << 20))
			p->next_block *= 2;
	}
	void *r = (char *)b->data + b->used;
	b->used += n;
	return r;
}

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
	char *buf = arena_alloc(p, cap + 1);
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
						n += ocr2_utf8_put(buf + n, 0xFFFD);
						cp = (lo >= 0xD800 && lo < 0xE000) ? 0xFFFD : lo;
					}
				} else
					cp = 0xFFFD;
			} else if (cp >= 0xDC00 && cp < 0xE000)
				cp = 0xFFFD;
			/* An escape is 6 bytes and encodes at most 3 bytes (or 12 -> 4): fits. */
			n += ocr2_utf8_put(buf + n, cp);
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
	return false; /* buf stays in the arena, freed with it */
}

static bool parse_value(parser *p, json_value *v, int depth);

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *na = realloc(*arr, nc * elem);
	if (!na)
		return false;
	*arr = na;
	*cap = nc;
	return true;
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
	const char *int_end = q;
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
	size_t n = (size_t)(q - p->s);
	double d;
	bool neg = *p->s == '-';
	const char *digits = p->s + neg;
	if (int_end == q && q - digits <= 15) {
		/* an integer of at most 15 digits is exact as a double: no strtod */
		int64_t iv = 0;
		for (const char *c = digits; c < q; c++)
			iv = iv * 10 + (*c - '0');
		d = neg ? -(double)iv : (double)iv;
		if (neg && iv == 0)
			d = -0.0;
	} else if (n < 64) {
		char tmp[64];
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
	size_t base = p->sp, n = 0;
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
			if (p->s >= p->end || *p->s != '"')
				return fail(p, "expected string key");
			p->s++;
			if (!parse_string(p, &key, &klen))
				return false;
			skip_ws(p);
			if (p->s >= p->end || *p->s != ':')
				return fail(p, "expected ':'");
			p->s++;
		}
		/* the child is parsed aside: its own children move the stack */
		json_value child = {0};
		if (!parse_value(p, &child, depth + 1))
			return false;
		if (!grow((void **)&p->stack, &p->scap, p->sp + 1, sizeof *p->stack))
			return fail(p, "out of memory");
		if (object) {
			if (p->sp + 1 > p->kcap) { /* kstack and lstack share kcap */
				/* arrays move sp too, so one doubling may not reach it */
				size_t nc = p->kcap ? p->kcap * 2 : 64;
				while (nc < p->sp + 1)
					nc *= 2;
				char **nk = realloc(p->kstack, nc * sizeof *nk);
				if (!nk)
					return fail(p, "out of memory");
				p->kstack = nk;
				size_t *nl = realloc(p->lstack, nc * sizeof *nl);
				if (!nl)
					return fail(p, "out of memory");
				p->lstack = nl;
				p->kcap = nc;
			}
			p->kstack[p->sp] = key;
			p->lstack[p->sp] = klen;
		}
		p->stack[p->sp++] = child;
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
		return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
done:
	v->type = object ? JSON_OBJECT : JSON_ARRAY;
	v->len = n;
	if (n) {
		v->items = arena_alloc(p, n * sizeof *v->items);
		if (!v->items)
			return fail(p, "out of memory");
		memcpy(v->items, p->stack + base, n * sizeof *v->items);
		if (object) {
			v->keys = arena_alloc(p, n * sizeof *v->keys);
			v->key_lens = arena_alloc(p, n * sizeof *v->key_lens);
			if (!v->keys || !v->key_lens)
				return fail(p, "out of memory");
			memcpy(v->keys, p->kstack + base, n * sizeof *v->keys);
			memcpy(v->key_lens, p->lstack + base, n * sizeof *v->key_lens);
		}
	}
	p->sp = base;
	return true;
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
	/* the tree takes a few times the text: start with twice it (pages
	 * never written are never faulted in) */
	p.next_block = 2 * n > ((size_t)1 << 14) ? 2 * n : ((size_t)1 << 14);
	tree *t = arena_alloc(&p, sizeof *t);
	if (!t) {
		ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", what);
		return NULL;
	}
	memset(t, 0, sizeof *t);
	bool ok = parse_value(&p, &t->root, 0);
	if (ok) {
		skip_ws(&p);
		if (p.s != p.end)
			ok = fail(&p, "trailing characters");
	}
	free(p.stack);
	free(p.kstack);
	free(p.lstack);
	if (ok) {
		t->blocks = p.blocks;
		return &t->root;
	}
	free_blocks(p.blocks);
	ocr2_fail(OCR2_ERR_FORMAT, "%s: invalid JSON: %s at byte %zu", what,
		  p.err ? p.err : "syntax error", (size_t)(p.s - text));
	return NULL;
}

void json_free(json_value *v)
{
	if (!v)
		return;
	tree *t = (tree *)(void *)((char *)v - offsetof(tree, root));
	free_blocks(t->blocks);
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

/* ---- writing ------------------------------------------------------------------ */

void ocr2_json_write_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	const unsigned char *end = s + strlen((const char *)s);
	fputc('"', f);
	while (s < end) {
		unsigned c = *s;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			s++;
		} else if (c < 0x20) {
			switch (c) {
			case '\b': fputs("\\b", f); break;
			case '\f': fputs("\\f", f); break;
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			default: fprintf(f, "\\u%04x", c);
			}
			s++;
		} else {
			uint32_t cp;
			int n = ocr2_utf8_next(s, (size_t)(end - s), &cp);
			if (n) {
				fwrite(s, 1, (size_t)n, f);
				s += n;
			} else {
				fputs("\xef\xbf\xbd", f); /* U+FFFD for each invalid byte */
				s++;
			}
		}
	}
	fputc('"', f);
}
