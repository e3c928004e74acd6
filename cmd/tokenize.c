/* tokenize.c - ocr2 tokenize (not yet implemented). */
#include "cmd.h"

int cmd_tokenize(int argc, char **argv)
{
	cli_error("tokenize", "not implemented yet");
	return EXIT_USAGE;
}
