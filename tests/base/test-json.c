/* test-json.c - the JSON parser on valid documents, every escape form, and
 * malformed input that must fail cleanly with a position. */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "check.h"
#include "ocr2.h"

static json_value *parse(const char *s)
{
	return json_parse(s, strlen(s), "test.json");
}

int main(void)
{
	json_value *v = parse(" {\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"d\"},"
			      " \"k.with.dots\": 0} ");
	CHECK(v && v->type == JSON_OBJECT && v->len == 3, "an object of three members");
	const json_value *a = json_get(v, "a");
	CHECK(a && a->type == JSON_ARRAY && a->len == 5, "\"a\": an array of five");
	CHECK(json_num(json_at(a, 0), 0, NULL) == 1, "a[0] == 1");
	CHECK(json_num(json_at(a, 1), 0, NULL) == -2500, "a[1] == -2.5e3");
	CHECK(json_at(a, 2)->type == JSON_BOOL && json_at(a, 2)->b, "a[2] is true");
	CHECK(json_at(a, 4)->type == JSON_NULL, "a[4] is null");
	CHECK(json_at(a, 5) == NULL, "a[5] past the end");
	CHECK(!strcmp(json_str(json_get(json_get(v, "b"), "c"), ""), "d"), "b.c == \"d\"");
	CHECK(json_get(v, "k.with.dots") != NULL, "a key with dots");
	CHECK(json_get(v, "missing") == NULL, "a missing key");
	bool ok = true;
	CHECK(json_num(json_get(v, "b"), 7, &ok) == 7 && !ok, "json_num of an object: the default, !ok");
	json_free(v);

	/* escapes: \u BMP, surrogate pair, lone surrogates -> U+FFFD, \u0000 */
	v = parse("\"a\\n\\t\\\"\\\\\\/\\u00e9\\u4e2d\\ud83d\\ude00\\ud800x\\u0000z\"");
	CHECK(v && v->type == JSON_STRING, "escapes: a string");
	const char want[] = "a\n\t\"\\/\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xef\xbf\xbdx\0z";
	CHECK(v && v->len == sizeof want - 1 && !memcmp(v->str, want, sizeof want - 1),
	      "escapes decode to the expected bytes");
	json_free(v);

	/* malformed: each must fail with a message naming the file */
	const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":}", "\"abc", "\"\\x\"",
			     "\"\\u12\"", "01", "1.", "1e", "-", "tru", "nul", "[1 2]",
			     "{\"a\":1,}", "\"a\x01\"", "[] []", "{1:2}"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_value *b = parse(bad[i]);
		CHECK(!b, "accepted '%s'", bad[i]);
		if (b)
			json_free(b);
		else
			CHECK(strstr(ocr2_errmsg(), "test.json"), "message without file name: %s",
			      ocr2_errmsg());
	}
	/* nesting beyond the depth limit fails instead of overflowing the stack */
	static char deep[100001];
	memset(deep, '[', 100000);
	CHECK(json_parse(deep, 100000, "deep.json") == NULL, "nesting 100000 deep accepted");
	CHECK(strstr(ocr2_errmsg(), "too deep") != NULL, "message without \"too deep\": %s", ocr2_errmsg());
	return check_done();
}
