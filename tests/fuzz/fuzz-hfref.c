/* fuzz-hfref.c - libFuzzer target: a Hugging Face cache's refs/ file (written
 * by another program, so untrusted); an accepted one is exactly 40 lowercase
 * hex digits, which then name a snapshot folder. */
#include <string.h>

#include "fuzz.h"
#include "hub/hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char commit[41];
	memset(commit, 'x', sizeof commit);
	if (ocr2_hf_parse_ref((const char *)data, size, commit) == 0) {
		if (commit[40] != 0 || size < 40)
			__builtin_trap();
		for (int i = 0; i < 40; i++)
			if (!((commit[i] >= '0' && commit[i] <= '9') || (commit[i] >= 'a' && commit[i] <= 'f')) ||
			    commit[i] != (char)data[i])
				__builtin_trap();
	}
	return 0;
}
