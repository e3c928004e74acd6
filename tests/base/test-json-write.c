/* test-json-write.c - ocr2_json_write_string: the escapes it writes, byte for
 * byte (scan's outputs are compared with goldens), invalid UTF-8 replaced,
 * and every string read back unchanged by json_parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "ocr2.h"
#include "check.h"

/* What the writer makes of s (static buffer). */
static const char *written(const char *s, size_t *n)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof buf, "w");
	ocr2_json_write_string(f, s);
	fflush(f);
	*n = (size_t)ftell(f);
	fclose(f);
	buf[*n] = 0;
	return buf;
}

static int same(const char *s, const char *want)
{
	size_t n;
	const char *got = written(s, &n);
	if (n == strlen(want) && !memcmp(got, want, n))
		return 1;
	printf("  wrote [%s], want [%s]\n", got, want);
	return 0;
}

/* json_parse(write(s)) == s for valid UTF-8 */
static int round_trip(const char *s)
{
	size_t n;
	const char *text = written(s, &n);
	json_value *v = json_parse(text, n, "written");
	int ok = v && v->type == JSON_STRING && v->len == strlen(s) && !memcmp(v->str, s, v->len);
	json_free(v);
	return ok;
}

int main(void)
{
	CHECK(same("plain text", "\"plain text\""), "same(\"plain text\", \"\\\"plain text\\\"\")");
	CHECK(same("", "\"\""), "same(\"\", \"\\\"\\\"\")");
	CHECK(same(NULL, "\"\""), "same(NULL, \"\\\"\\\"\")");
	CHECK(same("a\"b\\c/d", "\"a\\\"b\\\\c/d\""),
	      "same(\"a\\\"b\\\\c/d\", \"\\\"a\\\\\\\"b\\\\\\\\c/d\\\"\")");
	CHECK(same("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""),
	      "same(\"\\b\\f\\n\\r\\t\", \"\\\"\\\\b\\\\f\\\\n\\\\r\\\\t\\\"\")");
	CHECK(same("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""),
	      "same(\"\\x01\\x1f\\x7f\", \"\\\"\\\\u0001\\\\u001f\\x7f\\\"\")");
	/* valid UTF-8 as it is: 2, 3 and 4 bytes */
	CHECK(same("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80",
	           "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\""),
	      "same(\"\\xc3\\xa9\\xe4\\xb8\\xad\\xf0\\x9f\\x98\\x80\", "
	      "\"\\\"\\xc3\\xa9\\xe4\\xb8\\xad\\xf0\\x9f\\x98\\x80\\\"\")");
	/* each invalid byte -> U+FFFD: a lone continuation, a cut sequence, an
	 * overlong form, a surrogate, past U+10FFFF */
	CHECK(same("a\x80z", "\"a\xef\xbf\xbdz\""),
	      "same(\"a\\x80z\", \"\\\"a\\xef\\xbf\\xbdz\\\"\")");
	CHECK(same("\xe4\xb8", "\"\xef\xbf\xbd\xef\xbf\xbd\""),
	      "same(\"\\xe4\\xb8\", \"\\\"\\xef\\xbf\\xbd\\xef\\xbf\\xbd\\\"\")");
	CHECK(same("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""),
	      "same(\"\\xc0\\xaf\", \"\\\"\\xef\\xbf\\xbd\\xef\\xbf\\xbd\\\"\")");
	CHECK(
	    same("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""),
	    "same(\"\\xed\\xa0\\x80\", \"\\\"\\xef\\xbf\\xbd\\xef\\xbf\\xbd\\xef\\xbf\\xbd\\\"\")");
	CHECK(same("\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""),
	      "same(\"\\xf4\\x90\\x80\\x80\", "
	      "\"\\\"\\xef\\xbf\\xbd\\xef\\xbf\\xbd\\xef\\xbf\\xbd\\xef\\xbf\\xbd\\\"\")");

	const char *texts[] = {"",
	                       "x",
	                       "quote \" and backslash \\",
	                       "line\nbreak\ttab",
	                       "\x01\x02\x1b[0m",
	                       "repo/with\"quote",
	                       "\xc3\xa9t\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80",
	                       "{\"json\": [1, 2]}"};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
		CHECK(round_trip(texts[i]), "round_trip(texts[i])");
	/* and all bytes 1..255 once: what goes in invalid comes back as U+FFFD, the
	 * document still parses */
	char all[256];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = 0;
	size_t n;
	const char *text = written(all, &n);
	json_value *v = json_parse(text, n, "written");
	CHECK(v && v->type == JSON_STRING && !memcmp(v->str, all, 127),
	      "v && v->type == JSON_STRING && !memcmp(v->str, all, 127)");
	json_free(v);

	return check_done();
}
