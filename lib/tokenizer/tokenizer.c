/* tokenizer.c - the DeepSeek byte-level BPE tokenizer (MODEL.md §7), read from
 * tokenizer.json and reproducing Hugging Face `tokenizers` id for id.
 *
 *   text ──added tokens──► segments: [added id] or [plain text]
 *        (verbatim, leftmost-longest; non-normalized tokens first, then the
 *         normalized ones inside what is left; the normalizer is empty)
 *   plain text ──Split \p{N}{1,3}──► ──Split [一-龥぀-ゟ゠-ヿ]+──►
 *        ──Split <the long pattern>──► pieces   (all Isolated: the matches and
 *         the gaps between them are pieces; each regex sees one piece only)
 *   piece ──ByteLevel──► one symbol per byte (GPT-2 byte↔char table)
 *         ──BPE──► merge the pair of lowest rank, leftmost first, until none
 *
 * The three regexes are hand-written matchers with the leftmost-first
 * alternation and backtracking of the Oniguruma engine tokenizers uses; the
 * load checks the file carries exactly these patterns.
 * Decoding: each id's string, ByteLevel-mapped back to bytes when every
 * char is in the table (else its raw UTF-8), concatenated, then invalid UTF-8
 * replaced by U+FFFD as Rust's from_utf8_lossy does; an id with no token is
 * dropped, as tokenizers drops it.
 *
 * Over 1000 lines, the file stays whole: it is one tokenizer and reads top to
 * bottom as such, its tables, the load that checks tokenizer.json, encoding
 * in the stages above (each function before its caller), then decoding. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/unicode.h"

#define MAX_ID (1 << 22) /* ids beyond this are a corrupt file, not a vocabulary */

/* ---- string -> id hash ------------------------------------------------------- */

typedef struct {
	const char *s;
	uint32_t len, hash;
	int32_t id;
} hslot;

typedef struct {
	hslot *slots;
	size_t mask;
	size_t n;
} strmap;

#define FNV_INIT 0xcbf29ce484222325ULL

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint32_t fnv_final(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 29));
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	return fnv_final(fnv(FNV_INIT, s, n));
}

static bool strmap_init(strmap *m, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n + 2)
		cap *= 2;
	m->slots = calloc(cap, sizeof *m->slots);
	m->mask = cap - 1;
	m->n = 0;
	return m->slots != NULL;
}

static hslot *strmap_find(const strmap *m, const char *s, size_t len, uint32_t hash)
{
	size_t i = hash & m->mask;
	for (;;) {
		hslot *h = &m->slots[i];
		if (!h->s || (h->hash == hash && h->len == len && memcmp(h->s, s, len) == 0))
			return h;
		i = (i + 1) & m->mask;
	}
}

/* The id of the concatenation a + b, whose hash is given, or -1. */
static int32_t strmap_get2(const strmap *m, const char *a, size_t alen, const char *b, size_t blen,
			   uint32_t hash)
{
	size_t i = hash & m->mask;
	for (;;) {
		const hslot *h = &m->slots[i];
		if (!h->s)
			return -1;
		if (h->hash == hash && h->len == alen + blen && memcmp(h->s, a, alen) == 0 &&
		    memcmp(h->s + alen, b, blen) == 0)
			return h->id;
		i = (i + 1) & m->mask;
	}
}

static int32_t strmap_get(const strmap *m, const char *s, size_t len)
{
	if (!m->slots)
		return -1;
	hslot *h = strmap_find(m, s, len, (uint32_t)hash_bytes(s, len));
	return h->s ? h->id : -1;
}

/* Inserts or overwrites (a JSON object with a repeated key: the last wins, as
 * with serde into a HashMap). The table is sized for every insert at init. */
static void strmap_put_hashed(strmap *m, const char *s, size_t len, uint32_t hash, int32_t id)
{
	hslot *h = strmap_find(m, s, len, hash);
	if (!h->s) {
		h->s = s;
		h->len = (uint32_t)len;
		h->hash = hash;
		m->n++;
	}
	h->id = id;
}

static void strmap_put(strmap *m, const char *s, size_t len, int32_t id)
{
	strmap_put_hashed(m, s, len, (uint32_t)hash_bytes(s, len), id);
}

/* ---- (left id, right id) -> (rank, merged id) hash ----------------------- */

typedef struct {
	uint64_t key; /* left << 32 | right, + 1 so that 0 means empty */
	int32_t rank, id;
} mslot;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* ---- added tokens ------------------------------------------------------------ */

typedef struct {
	char *content;
	size_t len;
	int32_t id;
	bool single_word, lstrip, rstrip, normalized, special;
} added_token;

/* A byte trie over the contents of one group of added tokens. */
typedef struct {
	int32_t child, sibling; /* node indices, -1 = none */
	int32_t token;          /* index into t->added, -1 = no token ends here */
	unsigned char byte;
} trie_node;

typedef struct {
	trie_node *nodes;
	int n, cap;
	bool first[256]; /* bytes some token starts with */
} trie;

struct ocr2_tokenizer {
	char *path;
	/* model vocabulary */
	strmap vocab;
	size_t model_vocab_size; /* entries in model.vocab */
	char *arena;             /* every vocab and added-token string */
	/* merges */
	mslot *merges;
	size_t merges_mask;
	bool ignore_merges;
	/* byte b's initial BPE symbol: the vocab id of its GPT-2 char, or -1 */
	int32_t byte_id[256];
	/* added tokens (AddedVocabulary) */
	added_token *added;
	int n_added;
	strmap added_map; /* content -> id */
	trie tries[2];    /* [0] normalized = false, [1] normalized = true */
	/* decoding: the bytes every id decodes to */
	int n_ids; /* one more than the largest id */
	const char **dec;
	uint32_t *dec_len;
	char *dec_arena;
};

/* ---- GPT-2 byte <-> char table ----------------------------------------------- */

/* Bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves; the other
 * 68 (0x00..0x20, 0x7F..0xA0, 0xAD), in increasing order, for U+0100.. U+0143. */
static uint32_t byte_to_cp(unsigned b)
{
	if (b <= 0x20)
		return 0x100 + b;
	if (b >= 0x7F && b <= 0xA0)
		return 0x100 + 33 + (b - 0x7F);
	if (b == 0xAD)
		return 0x100 + 67;
	return b;
}

/* The byte a char stands for, or -1 when it is not in the table. */
static int cp_to_byte(uint32_t cp)
{
	if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
		return (int)cp;
	if (cp < 0x100 || cp > 0x143)
		return -1;
	unsigned n = cp - 0x100;
	return n < 33 ? (int)n : n < 67 ? (int)(0x7F + n - 33) : 0xAD;
}


/* ---- loading ------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *n, ocr2_status *st)
{
	*st = OCR2_ERR_IO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ocr2_fail(OCR2_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		ocr2_fail(OCR2_ERR_IO, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	char *buf;
	if (ocr2_read_fd(fd, (size_t)1 << 31, &buf, n) != 0) {
		if (errno == EFBIG)
			*st = ocr2_fail(OCR2_ERR_FORMAT, "%s: too large for a tokenizer.json",
					path);
		else if (errno == ENOMEM)
			*st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
		else
			ocr2_fail(OCR2_ERR_IO, "%s: read error", path);
		close(fd);
		return NULL;
	}
	close(fd);
	return buf;
}

static bool is_str(const json_value *v, const char *s)
{
	return v && v->type == JSON_STRING && strlen(s) == v->len && memcmp(v->str, s, v->len) == 0;
}

static bool is_null_or(const json_value *v, json_type t)
{
	return !v || v->type == JSON_NULL || v->type == t;
}

static bool is_false(const json_value *v)
{
	return !v || v->type == JSON_NULL || (v->type == JSON_BOOL && !v->b);
}

static bool get_id(const json_value *v, int32_t *id)
{
	if (!v || v->type != JSON_NUMBER || !(v->num >= 0) || v->num >= MAX_ID ||
	    v->num != (double)(int32_t)v->num)
		return false;
	*id = (int32_t)v->num;
	return true;
}

/* The pre-tokenizer this file implements, as tokenizer.json spells it. */
static const char *const SPLIT_PATTERNS[3] = {
	"\\p{N}{1,3}",
	"[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]+",
	"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
	" ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};

static ocr2_status check_pipeline(const json_value *root, const char *path)
{
	const json_value *norm = json_get(root, "normalizer");
	if (norm && norm->type != JSON_NULL) {
		const json_value *list = json_get(norm, "normalizers");
		if (!is_str(json_get(norm, "type"), "Sequence") || !list ||
		    list->type != JSON_ARRAY || list->len != 0)
			return ocr2_fail(OCR2_ERR_FORMAT,
					 "%s: unsupported normalizer (only none or an empty Sequence)",
					 path);
	}
	const json_value *pt = json_get(root, "pre_tokenizer");
	const json_value *seq = json_get(pt, "pretokenizers");
	if (!is_str(json_get(pt, "type"), "Sequence") || !seq || seq->type != JSON_ARRAY ||
	    seq->len != 4)
		goto bad_pt;
	for (int i = 0; i < 3; i++) {
		const json_value *s = json_at(seq, (size_t)i);
		if (!is_str(json_get(s, "type"), "Split") ||
		    !is_str(json_get(json_get(s, "pattern"), "Regex"), SPLIT_PATTERNS[i]) ||
		    !is_str(json_get(s, "behavior"), "Isolated") || !is_false(json_get(s, "invert")))
			goto bad_pt;
	}
	const json_value *bl = json_at(seq, 3);
	if (!is_str(json_get(bl, "type"), "ByteLevel") || !is_false(json_get(bl, "add_prefix_space")) ||
	    !(json_get(bl, "use_regex") && json_get(bl, "use_regex")->type == JSON_BOOL &&
	      !json_get(bl, "use_regex")->b))
		goto bad_pt;
	const json_value *dec = json_get(root, "decoder");
	if (!is_str(json_get(dec, "type"), "ByteLevel"))
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: unsupported decoder (only ByteLevel)", path);
	return OCR2_OK;
bad_pt:
	return ocr2_fail(OCR2_ERR_FORMAT,
			 "%s: unsupported pre_tokenizer (expected DeepSeek's Sequence of three "
			 "Split regexes and ByteLevel, MODEL.md §7)", path);
}

static int trie_new_node(trie *tr, unsigned char byte)
{
	if (tr->n == tr->cap) {
		int nc = tr->cap ? tr->cap * 2 : 256;
		trie_node *nn = realloc(tr->nodes, (size_t)nc * sizeof *nn);
		if (!nn)
			return -1;
		tr->nodes = nn;
		tr->cap = nc;
	}
	tr->nodes[tr->n] = (trie_node){.child = -1, .sibling = -1, .token = -1, .byte = byte};
	return tr->n++;
}

static bool trie_add(trie *tr, const char *s, size_t len, int token)
{
	if (tr->n == 0 && trie_new_node(tr, 0) < 0)
		return false;
	int node = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)s[i];
		int c = tr->nodes[node].child;
		while (c >= 0 && tr->nodes[c].byte != b)
			c = tr->nodes[c].sibling;
		if (c < 0) {
			c = trie_new_node(tr, b);
			if (c < 0)
				return false;
			tr->nodes[c].sibling = tr->nodes[node].child;
			tr->nodes[node].child = c;
		}
		node = c;
	}
	tr->nodes[node].token = token;
	tr->first[(unsigned char)s[0]] = true;
	return true;
}

/* AddedVocabulary::add_tokens as tokenizers runs it on load: ids come from
 * the model vocabulary when the content is there, else are handed out from
 * the model's vocabulary size upward; the file's ids must agree. */
static ocr2_status load_added(ocr2_tokenizer *t, const json_value *list, const char *path,
			      char **arena_pos)
{
	if (!list || list->type == JSON_NULL)
		return OCR2_OK;
	if (list->type != JSON_ARRAY)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: added_tokens is not an array", path);
	t->added = calloc(list->len + 1, sizeof *t->added);
	if (!t->added || !strmap_init(&t->added_map, list->len))
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	int32_t next_id = (int32_t)t->model_vocab_size;
	for (size_t i = 0; i < list->len; i++) {
		const json_value *a = &list->items[i];
		const json_value *c = json_get(a, "content");
		int32_t file_id;
		if (!c || c->type != JSON_STRING || !get_id(json_get(a, "id"), &file_id))
			return ocr2_fail(OCR2_ERR_FORMAT,
					 "%s: added_tokens[%zu]: needs a string content and an id",
					 path, i);
		if (c->len == 0)
			continue;
		bool flags[5];
		static const char *const names[5] = {"single_word", "lstrip", "rstrip",
						     "normalized", "special"};
		static const bool dflt[5] = {false, false, false, true, false};
		for (int k = 0; k < 5; k++) {
			const json_value *f = json_get(a, names[k]);
			if (f && f->type != JSON_BOOL)
				return ocr2_fail(OCR2_ERR_FORMAT, "%s: added_tokens[%zu]: %s is not a boolean",
						 path, i, names[k]);
			flags[k] = f ? f->b : dflt[k];
		}
		int32_t id = strmap_get(&t->added_map, c->str, c->len);
		int idx = -1;
		if (id >= 0) {
			for (int k = 0; k < t->n_added; k++)
				if (t->added[k].id == id)
					idx = k;
		} else {
			id = strmap_get(&t->vocab, c->str, c->len);
			if (id < 0)
				id = next_id++;
		}
		if (id != file_id)
			return ocr2_fail(OCR2_ERR_FORMAT,
					 "%s: added token \"%s\" has id %d, but tokenizers assigns it %d",
					 path, c->str, file_id, id);
		if (idx < 0) {
			idx = t->n_added++;
			memcpy(*arena_pos, c->str, c->len + 1);
			t->added[idx].content = *arena_pos;
			t->added[idx].len = c->len;
			*arena_pos += c->len + 1;
			strmap_put(&t->added_map, t->added[idx].content, c->len, id);
		}
		added_token *at = &t->added[idx];
		at->id = id;
		at->single_word = flags[0];
		at->lstrip = flags[1];
		at->rstrip = flags[2];
		at->normalized = flags[3];
		at->special = flags[4];
	}
	for (int k = 0; k < t->n_added; k++) {
		added_token *at = &t->added[k];
		if (!trie_add(&t->tries[at->normalized ? 1 : 0], at->content, at->len, k))
			return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	}
	return OCR2_OK;
}

/* One merge as read from the file: "a b" or [a, b]. Returns false on a bad
 * entry; *skip is set for a "#version" comment line. */
static bool parse_merge(const json_value *m, const char **a, size_t *alen, const char **b,
			size_t *blen, bool *skip)
{
	*skip = false;
	if (m->type == JSON_STRING) {
		/* "a b": exactly one space; "#version" lines are comments */
		if (m->len >= 8 && memcmp(m->str, "#version", 8) == 0) {
			*skip = true;
			return true;
		}
		const char *sp = memchr(m->str, ' ', m->len);
		if (!sp || memchr(sp + 1, ' ', m->len - (size_t)(sp + 1 - m->str)))
			return false;
		*a = m->str;
		*alen = (size_t)(sp - m->str);
		*b = sp + 1;
		*blen = m->len - *alen - 1;
		return true;
	}
	if (m->type == JSON_ARRAY && m->len == 2 && m->items[0].type == JSON_STRING &&
	    m->items[1].type == JSON_STRING) {
		*a = m->items[0].str;
		*alen = m->items[0].len;
		*b = m->items[1].str;
		*blen = m->items[1].len;
		return true;
	}
	return false;
}

static ocr2_status load_merges(ocr2_tokenizer *t, const json_value *merges, const char *path)
{
	size_t cap = 16;
	while (cap < 2 * merges->len + 2)
		cap *= 2;
	t->merges = calloc(cap, sizeof *t->merges);
	if (!t->merges)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	t->merges_mask = cap - 1;
	int32_t rank = 0;
	/* In batches: hash and prefetch the three vocabulary lookups of each
	 * merge first, so that their cache misses overlap. */
	enum { BATCH = 32 };
	struct {
		const char *a, *b;
		size_t alen, blen;
		uint32_t ha, hb, hc;
		bool skip;
	} q[BATCH];
	for (size_t i0 = 0; i0 < merges->len; i0 += BATCH) {
		size_t nb = merges->len - i0 < BATCH ? merges->len - i0 : BATCH;
		for (size_t k = 0; k < nb; k++) {
			if (!parse_merge(&merges->items[i0 + k], &q[k].a, &q[k].alen, &q[k].b, &q[k].blen,
					 &q[k].skip))
				return ocr2_fail(OCR2_ERR_FORMAT,
						 "%s: merges[%zu] is neither \"a b\" nor [a, b]", path,
						 i0 + k);
			if (q[k].skip)
				continue;
			uint64_t ha = fnv(FNV_INIT, q[k].a, q[k].alen);
			q[k].ha = fnv_final(ha);
			q[k].hb = (uint32_t)hash_bytes(q[k].b, q[k].blen);
			q[k].hc = fnv_final(fnv(ha, q[k].b, q[k].blen));
			__builtin_prefetch(&t->vocab.slots[q[k].ha & t->vocab.mask]);
			__builtin_prefetch(&t->vocab.slots[q[k].hb & t->vocab.mask]);
			__builtin_prefetch(&t->vocab.slots[q[k].hc & t->vocab.mask]);
		}
		for (size_t k = 0; k < nb; k++) {
			if (q[k].skip)
				continue;
			int32_t ia = strmap_get2(&t->vocab, q[k].a, q[k].alen, "", 0, q[k].ha);
			int32_t ib = strmap_get2(&t->vocab, q[k].b, q[k].blen, "", 0, q[k].hb);
			int32_t ic = strmap_get2(&t->vocab, q[k].a, q[k].alen, q[k].b, q[k].blen, q[k].hc);
			if (ia < 0 || ib < 0 || ic < 0)
				return ocr2_fail(OCR2_ERR_FORMAT,
						 "%s: merges[%zu]: a token is not in the vocabulary", path,
						 i0 + k);
			uint64_t key = ((uint64_t)(uint32_t)ia << 32 | (uint32_t)ib) + 1;
			size_t h = mix64(key) & t->merges_mask;
			while (t->merges[h].key && t->merges[h].key != key)
				h = (h + 1) & t->merges_mask;
			/* a repeated pair keeps its last rank, as the HashMap it is collected into */
			t->merges[h] = (mslot){.key = key, .rank = rank, .id = ic};
			rank++;
		}
	}
	return OCR2_OK;
}

/* The bytes an id decodes to (ByteLevel decoder, one token at a time). */
static size_t decode_token(const char *s, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = 0;
	while (i < len) {
		uint32_t cp;
		int k = ocr2_utf8_next(u + i, len - i, &cp);
		int b = k ? cp_to_byte(cp) : -1;
		if (b < 0) {
			memcpy(out, s, len);
			return len;
		}
		out[n++] = (char)b;
		i += (size_t)k;
	}
	return n;
}

static ocr2_status build_decoder(ocr2_tokenizer *t, const json_value *vocab, const char *path)
{
	int32_t max_id = -1;
	for (size_t i = 0; i < vocab->len; i++) {
		int32_t id = (int32_t)vocab->items[i].num;
		if (id > max_id)
			max_id = id;
	}
	for (int k = 0; k < t->n_added; k++)
		if (t->added[k].id > max_id)
			max_id = t->added[k].id;
	t->n_ids = max_id + 1;
	t->dec = calloc((size_t)t->n_ids + 1, sizeof *t->dec);
	t->dec_len = calloc((size_t)t->n_ids + 1, sizeof *t->dec_len);
	size_t total = 1;
	for (size_t i = 0; i < vocab->len; i++)
		total += vocab->key_lens[i];
	for (int k = 0; k < t->n_added; k++)
		total += t->added[k].len;
	t->dec_arena = malloc(total);
	if (!t->dec || !t->dec_len || !t->dec_arena)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	char *p = t->dec_arena;
	/* the model's token for an id; an added token with the same id wins
	 * (simple_id_to_token before model.id_to_token) */
	for (size_t i = 0; i < vocab->len; i++) {
		int32_t id = (int32_t)vocab->items[i].num;
		const char *s = vocab->keys[i];
		size_t len = vocab->key_lens[i];
		/* vocab_r keeps one token per id; which one is moot without duplicates */
		if (t->dec[id])
			continue;
		size_t n = decode_token(s, len, p);
		t->dec[id] = p;
		t->dec_len[id] = (uint32_t)n;
		p += n;
	}
	for (int k = 0; k < t->n_added; k++) {
		size_t n = decode_token(t->added[k].content, t->added[k].len, p);
		t->dec[t->added[k].id] = p;
		t->dec_len[t->added[k].id] = (uint32_t)n;
		p += n;
	}
	return OCR2_OK;
}

static ocr2_status load_model(ocr2_tokenizer *t, const json_value *root, const char *path)
{
	const json_value *model = json_get(root, "model");
	if (!model || model->type != JSON_OBJECT)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: no model object", path);
	const json_value *type = json_get(model, "type");
	if (type && !is_str(type, "BPE"))
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: model type %s is not BPE", path,
				 json_str(type, "?"));
	const json_value *drop = json_get(model, "dropout");
	if (!is_null_or(drop, JSON_NUMBER) || (drop && drop->type == JSON_NUMBER && drop->num != 0) ||
	    !is_null_or(json_get(model, "unk_token"), JSON_NULL) ||
	    !is_null_or(json_get(model, "continuing_subword_prefix"), JSON_NULL) ||
	    !is_null_or(json_get(model, "end_of_word_suffix"), JSON_NULL) ||
	    !is_false(json_get(model, "byte_fallback")))
		return ocr2_fail(OCR2_ERR_FORMAT,
				 "%s: unsupported BPE options (dropout, unk_token, subword prefix or "
				 "suffix, byte_fallback)", path);
	const json_value *im = json_get(model, "ignore_merges");
	if (!is_null_or(im, JSON_BOOL))
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: ignore_merges is not a boolean", path);
	t->ignore_merges = im && im->type == JSON_BOOL && im->b;

	const json_value *vocab = json_get(model, "vocab");
	const json_value *merges = json_get(model, "merges");
	if (!vocab || vocab->type != JSON_OBJECT || !merges || merges->type != JSON_ARRAY)
		return ocr2_fail(OCR2_ERR_FORMAT, "%s: model needs a vocab object and a merges array",
				 path);
	const json_value *added = json_get(root, "added_tokens");
	size_t total = 1;
	for (size_t i = 0; i < vocab->len; i++) {
		int32_t id;
		if (!get_id(&vocab->items[i], &id))
			return ocr2_fail(OCR2_ERR_FORMAT, "%s: vocab entry %zu has no valid id", path, i);
		total += vocab->key_lens[i] + 1;
	}
	if (added && added->type == JSON_ARRAY)
		for (size_t i = 0; i < added->len; i++) {
			const json_value *c = json_get(&added->items[i], "content");
			if (c && c->type == JSON_STRING)
				total += c->len + 1;
		}
	t->arena = malloc(total);
	if (!t->arena || !strmap_init(&t->vocab, vocab->len))
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	char *p = t->arena;
	/* hashes first, then inserts with the slots prefetched ahead */
	uint32_t *hashes = malloc((vocab->len + 1) * sizeof *hashes);
	if (!hashes)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
	for (size_t i = 0; i < vocab->len; i++)
		hashes[i] = (uint32_t)hash_bytes(vocab->keys[i], vocab->key_lens[i]);
	for (size_t i = 0; i < vocab->len; i++) {
		if (i + 16 < vocab->len)
			__builtin_prefetch(&t->vocab.slots[hashes[i + 16] & t->vocab.mask]);
		size_t len = vocab->key_lens[i];
		memcpy(p, vocab->keys[i], len + 1);
		strmap_put_hashed(&t->vocab, p, len, hashes[i], (int32_t)vocab->items[i].num);
		p += len + 1;
	}
	free(hashes);
	t->model_vocab_size = t->vocab.n;
	for (unsigned b = 0; b < 256; b++) {
		char s[4];
		size_t n = ocr2_utf8_put(s, byte_to_cp(b));
		t->byte_id[b] = strmap_get(&t->vocab, s, n);
	}
	ocr2_status st = load_merges(t, merges, path);
	if (st)
		return st;
	if ((st = load_added(t, added, path, &p)))
		return st;
	return build_decoder(t, vocab, path);
}

ocr2_status ocr2_tokenizer_load(const char *path, ocr2_tokenizer **out)
{
	*out = NULL;
	size_t n;
	ocr2_status st;
	char *text = read_all(path, &n, &st);
	if (!text)
		return st;
	json_value *root = json_parse(text, n, path);
	free(text);
	if (!root)
		return OCR2_ERR_FORMAT;
	ocr2_tokenizer *t = calloc(1, sizeof *t);
	if (!t) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
		goto done;
	}
	if (root->type != JSON_OBJECT) {
		st = ocr2_fail(OCR2_ERR_FORMAT, "%s: not a tokenizer.json object", path);
		goto done;
	}
	if ((st = check_pipeline(root, path)) || (st = load_model(t, root, path)))
		goto done;
	t->path = strdup(path);
	if (!t->path)
		st = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
done:
	json_free(root);
	if (st) {
		ocr2_tokenizer_free(t);
		return st;
	}
	*out = t;
	return OCR2_OK;
}

void ocr2_tokenizer_free(ocr2_tokenizer *t)
{
	if (!t)
		return;
	free(t->path);
	free(t->vocab.slots);
	free(t->arena);
	free(t->merges);
	free(t->added);
	free(t->added_map.slots);
	free(t->tries[0].nodes);
	free(t->tries[1].nodes);
	free(t->dec);
	free(t->dec_len);
	free(t->dec_arena);
	free(t);
}

int ocr2_tokenizer_vocab_size(const ocr2_tokenizer *t)
{
	return t->n_ids;
}

int ocr2_tokenizer_token_id(const ocr2_tokenizer *t, const char *token)
{
	size_t len = strlen(token);
	int32_t id = strmap_get(&t->added_map, token, len);
	return id >= 0 ? id : strmap_get(&t->vocab, token, len);
}

/* ---- encoding ---------------------------------------------------------------- */

/* Per-call scratch: the plain text decoded to code points with their class. */
typedef struct {
	const ocr2_tokenizer *t;
	const unsigned char *text;
	uint32_t *cp;   /* [nchar] */
	uint8_t *cls;   /* [nchar] */
	size_t *off;    /* [nchar + 1] byte offset of each char */
	/* BPE scratch */
	struct sym { int32_t c, prev, next, len; } *sym;
	struct merge { int32_t pos, rank, id; } *heap;
	int32_t *ids;
	int n;
} enc;

static bool is_lm(int c)
{
	return c == OCR2_UC_L || c == OCR2_UC_M;
}

static bool is_ps(int c)
{
	return c == OCR2_UC_P || c == OCR2_UC_PC || c == OCR2_UC_S;
}

static bool is_n(int c)
{
	return c == OCR2_UC_ND || c == OCR2_UC_NL || c == OCR2_UC_NO;
}

static bool is_ascii_alpha(uint32_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_crlf(uint32_t c)
{
	return c == '\r' || c == '\n';
}

/* Regex 1, \p{N}{1,3}: the end of the match starting at char i, or i. */
static size_t match_digits(const enc *e, size_t i, size_t end)
{
	size_t j = i;
	while (j < end && j - i < 3 && is_n(e->cls[j]))
		j++;
	return j;
}

/* Regex 2, [一-龥぀-ゟ゠-ヿ]+ */
static bool is_cjk(uint32_t c)
{
	return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) ||
	       (c >= 0x30A0 && c <= 0x30FF);
}

static size_t match_cjk(const enc *e, size_t i, size_t end)
{
	size_t j = i;
	while (j < end && is_cjk(e->cp[j]))
		j++;
	return j;
}

/* Regex 3, alternatives tried in order, the first that matches wins:
 *   1 [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
 *   2 [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
 *   3  ?[\p{P}\p{S}]+[\r\n]*
 *   4 \s*[\r\n]+
 *   5 \s+(?!\S)
 *   6 \s+
 * `end` is the end of the piece: the regex sees nothing beyond it. */
static size_t match_main(const enc *e, size_t i, size_t end)
{
	const uint32_t *cp = e->cp;
	const uint8_t *cl = e->cls;
	size_t j;
	/* 1: an ASCII punctuation mark then ASCII letters */
	if (cp[i] < 0x80 && cp[i] > 0x20 && cp[i] != 0x7F && !is_ascii_alpha(cp[i]) &&
	    !(cp[i] >= '0' && cp[i] <= '9') && i + 1 < end && is_ascii_alpha(cp[i + 1])) {
		j = i + 2;
		while (j < end && is_ascii_alpha(cp[j]))
			j++;
		return j;
	}
	/* 2: the optional prefix taken, else backtracked */
	if (!is_crlf(cp[i]) && cl[i] != OCR2_UC_L && !is_ps(cl[i]) && i + 1 < end &&
	    is_lm(cl[i + 1])) {
		j = i + 2;
		while (j < end && is_lm(cl[j]))
			j++;
		return j;
	}
	if (is_lm(cl[i])) {
		j = i + 1;
		while (j < end && is_lm(cl[j]))
			j++;
		return j;
	}
	/* 3 */
	j = i;
	if (cp[j] == ' ' && j + 1 < end && is_ps(cl[j + 1]))
		j++;
	if (is_ps(cl[j])) {
		while (j < end && is_ps(cl[j]))
			j++;
		while (j < end && is_crlf(cp[j]))
			j++;
		return j;
	}
	/* 4, 5, 6 share the whitespace run [i, r) */
	size_t r = i;
	while (r < end && cl[r] == OCR2_UC_WS)
		r++;
	if (r == i)
		return i;
	/* 4: \s* backtracks to the last CR or LF of the run; [\r\n]+ ends there */
	for (j = r; j > i; j--)
		if (is_crlf(cp[j - 1]))
			return j;
	/* 5: (?!\S) holds at the end of the piece, or one char before a \S */
	if (r == end)
		return r;
	if (r - i >= 2)
		return r - 1;
	/* 6 */
	return r;
}

static bool bpe_push(enc *e, size_t *nheap, int32_t pos);

/* The min-heap of candidate merges, ordered by (rank, pos) as tokenizers'. */
static bool merge_less(const struct merge *a, const struct merge *b)
{
	return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(struct merge *h, size_t *n, struct merge m)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!merge_less(&m, &h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = m;
}

static struct merge heap_pop(struct merge *h, size_t *n)
{
	struct merge top = h[0], last = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && merge_less(&h[c + 1], &h[c]))
			c++;
		if (!merge_less(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
	return top;
}

static const mslot *find_merge(const ocr2_tokenizer *t, int32_t a, int32_t b)
{
	uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
	size_t h = mix64(key) & t->merges_mask;
	while (t->merges[h].key) {
		if (t->merges[h].key == key)
			return &t->merges[h];
		h = (h + 1) & t->merges_mask;
	}
	return NULL;
}

/* Queues the merge of symbol pos with its right neighbour, if there is one. */
static bool bpe_push(enc *e, size_t *nheap, int32_t pos)
{
	int32_t next = e->sym[pos].next;
	if (next < 0)
		return false;
	const mslot *m = find_merge(e->t, e->sym[pos].c, e->sym[next].c);
	if (!m)
		return false;
	heap_push(e->heap, nheap, (struct merge){.pos = pos, .rank = m->rank, .id = m->id});
	return true;
}

/* BPE on the bytes [a, b) of the text (Word::merge_all). */
static void bpe(enc *e, size_t a, size_t b)
{
	const ocr2_tokenizer *t = e->t;
	if (t->ignore_merges) {
		/* the vocab holds byte-level strings: map the piece first */
		char *s = malloc(2 * (b - a) + 1);
		if (s) {
			size_t n = 0;
			for (size_t i = a; i < b; i++)
				n += ocr2_utf8_put(s + n, byte_to_cp(e->text[i]));
			int32_t id = strmap_get(&t->vocab, s, n);
			free(s);
			if (id >= 0) {
				e->ids[e->n++] = id;
				return;
			}
		}
	}
	int32_t n = 0;
	for (size_t i = a; i < b; i++) {
		int32_t id = t->byte_id[e->text[i]];
		if (id < 0)
			continue; /* a char missing from the vocabulary, no unk: dropped */
		e->sym[n] = (struct sym){.c = id, .prev = n - 1, .next = n + 1, .len = 1};
		n++;
	}
	if (n == 0)
		return;
	e->sym[n - 1].next = -1;
	size_t nheap = 0;
	for (int32_t i = 0; i + 1 < n; i++)
		bpe_push(e, &nheap, i);
	while (nheap) {
		struct merge top = heap_pop(e->heap, &nheap);
		struct sym *s = &e->sym[top.pos];
		if (s->len == 0 || s->next < 0)
			continue;
		struct sym *r = &e->sym[s->next];
		const mslot *m = find_merge(t, s->c, r->c);
		if (!m || m->id != top.id)
			continue; /* stale entry */
		int32_t rnext = r->next;
		s->c = top.id;
		s->len += r->len;
		s->next = rnext;
		r->len = 0;
		if (rnext >= 0)
			e->sym[rnext].prev = top.pos;
		if (s->prev >= 0)
			bpe_push(e, &nheap, s->prev);
		bpe_push(e, &nheap, top.pos);
	}
	for (int32_t i = 0; i >= 0; i = e->sym[i].next)
		e->ids[e->n++] = e->sym[i].c;
}

/* Splits chars [a, b) with regex `level` (Isolated) and hands each piece to
 * the next level; after the last regex, to BPE. */
static void split(enc *e, int level, size_t a, size_t b)
{
	if (level == 3) {
		bpe(e, e->off[a], e->off[b]);
		return;
	}
	size_t pos = a;
	for (size_t i = a; i < b;) {
		size_t m = level == 0 ? match_digits(e, i, b) :
			   level == 1 ? match_cjk(e, i, b) : match_main(e, i, b);
		if (m == i) {
			i++;
			continue;
		}
		if (pos < i)
			split(e, level + 1, pos, i);
		split(e, level + 1, i, m);
		pos = i = m;
	}
	if (pos < b)
		split(e, level + 1, pos, b);
}

/* Pre-tokenizes and encodes the plain text bytes [a, b). */
static void encode_plain(enc *e, size_t a, size_t b)
{
	if (a == b)
		return;
	size_t nc = 0;
	for (size_t i = a; i < b; nc++) {
		uint32_t c;
		int k = ocr2_utf8_next(e->text + i, b - i, &c); /* validated before */
		e->cp[nc] = c;
		e->cls[nc] = (uint8_t)ocr2_uclass(c);
		e->off[nc] = i;
		i += (size_t)k;
	}
	e->off[nc] = b;
	split(e, 0, 0, nc);
}

/* Rust regex \s (White_Space): our WS class. */
static bool ws_at(const unsigned char *s, size_t n, size_t i, uint32_t *cp, int *k)
{
	*k = ocr2_utf8_next(s + i, n - i, cp);
	return *k && ocr2_uclass(*cp) == OCR2_UC_WS;
}

/* Code point ending at byte i (i > 0) of valid UTF-8, and its start. */
static uint32_t cp_before(const unsigned char *s, size_t i, size_t *start)
{
	size_t j = i - 1;
	while (j > 0 && (s[j] & 0xC0) == 0x80)
		j--;
	uint32_t cp = 0;
	ocr2_utf8_next(s + j, i - j, &cp);
	*start = j;
	return cp;
}

/* AddedVocabulary::find_matches on the bytes [a, b), then the next stage on
 * each piece: stage 0 looks for the non-normalized tokens, stage 1 for the
 * normalized ones (the normalizer is empty), stage 2 pre-tokenizes. */
static void find_added(enc *e, int stage, size_t a, size_t b)
{
	if (stage == 2) {
		encode_plain(e, a, b);
		return;
	}
	const ocr2_tokenizer *t = e->t;
	const trie *tr = &t->tries[stage];
	const unsigned char *s = e->text;
	size_t start_offset = a;
	if (tr->n == 0) {
		find_added(e, stage + 1, a, b);
		return;
	}
	size_t i = a;
	while (i < b) {
		if (!tr->first[s[i]]) {
			i++;
			continue;
		}
		/* longest token starting at i */
		int node = 0, best = -1;
		size_t best_end = i;
		for (size_t j = i; j < b; j++) {
			int c = tr->nodes[node].child;
			while (c >= 0 && tr->nodes[c].byte != s[j])
				c = tr->nodes[c].sibling;
			if (c < 0)
				break;
			node = c;
			if (tr->nodes[c].token >= 0) {
				best = tr->nodes[c].token;
				best_end = j + 1;
			}
		}
		if (best < 0) {
			i++;
			continue;
		}
		const added_token *at = &t->added[best];
		size_t start = i, stop = best_end;
		i = best_end; /* the next match starts after this one, kept or not */
		if (at->single_word) {
			size_t ps;
			uint32_t c;
			bool start_space = start == a || !ocr2_uclass_is_word(cp_before(s, start, &ps));
			bool stop_space = stop == b ||
					  !(ocr2_utf8_next(s + stop, b - stop, &c) &&
					    ocr2_uclass_is_word(c));
			if (!start_space || !stop_space)
				continue;
		}
		if (at->lstrip) {
			size_t ns = start, ps;
			while (ns > a) {
				uint32_t c = cp_before(s, ns, &ps);
				if (ocr2_uclass(c) != OCR2_UC_WS || ps < a)
					break;
				ns = ps;
			}
			start = ns > start_offset ? ns : start_offset;
		}
		if (at->rstrip) {
			uint32_t c;
			int k;
			while (stop < b && ws_at(s, b, stop, &c, &k))
				stop += (size_t)k;
		}
		if (start_offset < start)
			find_added(e, stage + 1, start_offset, start);
		e->ids[e->n++] = at->id;
		start_offset = stop;
	}
	if (start_offset < b)
		find_added(e, stage + 1, start_offset, b);
}

ocr2_status ocr2_tokenizer_encode(const ocr2_tokenizer *t, const char *text, size_t len,
				  int32_t **ids, int *n)
{
	*ids = NULL;
	*n = 0;
	size_t bad = ocr2_utf8_check(text, len);
	if (bad < len)
		return ocr2_fail(OCR2_ERR_UTF8, "invalid UTF-8 at byte %zu", bad);
	if (len >= (size_t)1 << 30)
		return ocr2_fail(OCR2_ERR_TOO_LARGE, "text of %zu bytes is too long to tokenize", len);
	enc e = {.t = t, .text = (const unsigned char *)text};
	/* every token covers at least one byte, except rstrip/lstrip oddities that
	 * still cover the token itself: at most len ids */
	e.ids = malloc((len + 1) * sizeof *e.ids);
	e.cp = malloc((len + 1) * sizeof *e.cp);
	e.cls = malloc(len + 1);
	e.off = malloc((len + 1) * sizeof *e.off);
	e.sym = malloc((len + 1) * sizeof *e.sym);
	e.heap = malloc((3 * len + 1) * sizeof *e.heap);
	ocr2_status st = OCR2_OK;
	if (!e.ids || !e.cp || !e.cls || !e.off || !e.sym || !e.heap) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory tokenizing %zu bytes", len);
		free(e.ids);
	} else {
		find_added(&e, 0, 0, len);
		*ids = e.ids;
		*n = e.n;
	}
	free(e.cp);
	free(e.cls);
	free(e.off);
	free(e.sym);
	free(e.heap);
	return st;
}

/* ---- decoding ---------------------------------------------------------------- */

static bool known(const ocr2_tokenizer *t, int32_t id)
{
	return id >= 0 && id < t->n_ids && t->dec[id];
}

ocr2_status ocr2_tokenizer_decode(const ocr2_tokenizer *t, const int32_t *ids, int n,
				  char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	/* An id with no token (past the end of tokenizer.json, or a gap in it;
	 * the model's embedding has more rows than the tokenizer has tokens) is
	 * dropped, as tokenizers' decode drops it (filter_map over id_to_token). */
	size_t total = 0;
	for (int i = 0; i < n; i++)
		if (known(t, ids[i]))
			total += t->dec_len[ids[i]];
	/* each invalid byte may grow to U+FFFD's three bytes */
	char *raw = malloc(total + 1), *out = malloc(3 * total + 1);
	if (!raw || !out) {
		free(raw);
		free(out);
		return ocr2_fail(OCR2_ERR_NOMEM, "out of memory decoding %d tokens", n);
	}
	size_t m = 0;
	for (int i = 0; i < n; i++) {
		if (!known(t, ids[i]))
			continue;
		memcpy(raw + m, t->dec[ids[i]], t->dec_len[ids[i]]);
		m += t->dec_len[ids[i]];
	}
	const unsigned char *u = (const unsigned char *)raw;
	size_t o = 0;
	for (size_t i = 0; i < m;) {
		uint32_t cp;
		int k = ocr2_utf8_next(u + i, m - i, &cp);
		if (k) {
			memcpy(out + o, raw + i, (size_t)k);
			o += (size_t)k;
			i += (size_t)k;
		} else {
			o += ocr2_utf8_put(out + o, 0xFFFD);
			i += (size_t)ocr2_utf8_invalid_len(u + i, m - i);
		}
	}
	out[o] = 0;
	free(raw);
	*text = out;
	*len = o;
	return OCR2_OK;
}
