/* fuzz-tokenizer.c - libFuzzer target: the tokenizer on arbitrary bytes
 * (encode, and decode of the ids back when the text is valid UTF-8). Needs
 * the OCR tokenizer: $OCR2_FUZZ_TOKENIZER or testdata/cache/tokenizer.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocr2.h"

static ocr2_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *p = getenv("OCR2_FUZZ_TOKENIZER");
	if (!p)
		p = "testdata/cache/tokenizer.json";
	if (ocr2_tokenizer_load(p, &tok) != OCR2_OK) {
		fprintf(stderr, "fuzz-tokenizer: %s\n", ocr2_errmsg());
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t *ids = NULL;
	int n = 0;
	if (ocr2_tokenizer_encode(tok, (const char *)data, size, &ids, &n) == OCR2_OK) {
		char *text = NULL;
		size_t len = 0;
		if (ocr2_tokenizer_decode(tok, ids, n, &text, &len) == OCR2_OK) {
			/* byte-level BPE is lossless on valid UTF-8 */
			if (len != size || memcmp(text, data, size) != 0)
				__builtin_trap();
			free(text);
		}
		free(ids);
	}
	return 0;
}
