/* bench.c - ocr2 bench (not yet implemented). */
#include "cmd.h"

int cmd_bench(int argc, char **argv)
{
	cli_error("bench", "not implemented yet");
	return EXIT_USAGE;
}
