/* model-fetch.c - ocr2 model fetch|list (not yet implemented). */
#include "cmd.h"

int cmd_model_fetch(int argc, char **argv)
{
	cli_error("model fetch", "not implemented yet");
	return EXIT_USAGE;
}
