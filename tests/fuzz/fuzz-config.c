/* fuzz-config.c - libFuzzer target: config.json parsing and validation. */
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ocr2_config c;
	ocr2_config_parse((const char *)data, size, "fuzz/config.json", &c);
	return 0;
}
