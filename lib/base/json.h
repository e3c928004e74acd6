/* json.h - the JSON parser behind config.json, tokenizer.json and the
 * safetensors headers, and the JSON string writer (lib/base/json.c). */
#ifndef OCR2_BASE_JSON_H
#define OCR2_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A DOM parser for config.json, tokenizer.json and safetensors headers.
 * Strict RFC 8259; depth-limited; strings are NUL-terminated UTF-8 (may
 * contain NUL bytes from \u0000: use .len). */

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
	json_type type;
	bool b;
	double num;
	char *str;       /* JSON_STRING */
	size_t len;      /* string length, or number of items/members */
	json_value *items;  /* JSON_ARRAY: len items; JSON_OBJECT: len values */
	char **keys;        /* JSON_OBJECT: len keys (NUL-terminated) */
	size_t *key_lens;
};

/* Parses text[0..n). On error returns NULL and sets ocr2_errmsg to
 * "<what>: <problem> at byte N" with `what` naming the file. */
json_value *json_parse(const char *text, size_t n, const char *what);
void json_free(json_value *v);
/* Member lookup (first match), NULL if v is not an object or key absent. */
const json_value *json_get(const json_value *v, const char *key);
/* Nested lookup with a dotted path is NOT provided: keys contain dots. */
const json_value *json_at(const json_value *v, size_t i); /* array item or NULL */
/* Typed getters with defaults; *ok (may be NULL) is cleared on a type mismatch. */
double json_num(const json_value *v, double dflt, bool *ok);
const char *json_str(const json_value *v, const char *dflt);

/* Writes str (NULL: "") as a JSON string: quotes, backslashes and control
 * characters escaped (\b \f \n \r \t, the others as \u00XX), valid UTF-8
 * passed through as it is, each byte of invalid UTF-8 replaced by U+FFFD. */
void ocr2_json_write_string(FILE *f, const char *str);

#endif
