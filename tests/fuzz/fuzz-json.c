/* fuzz-json.c - libFuzzer target: the JSON parser on arbitrary bytes. */
#include <stdint.h>

#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_value *v = json_parse((const char *)data, size, "fuzz.json");
	if (v) {
		json_get(v, "a");
		json_at(v, 0);
		json_free(v);
	}
	return 0;
}
