/* fuzz-shard.c - libFuzzer target: the --shard K/N syntax; an accepted spec
 * must put every name in exactly one shard. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ocr2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	if (!s)
		return 0;
	int k, n;
	if (ocr2_shard_parse(s, &k, &n) == OCR2_OK) {
		if (k < 1 || n < 1 || k > n)
			__builtin_trap();
		if (n <= 64) {
			int owners = 0;
			for (int j = 1; j <= n; j++)
				owners += ocr2_shard_has(s, j, n);
			if (owners != 1)
				__builtin_trap();
		}
	}
	free(s);
	return 0;
}
