/* render.c - ocr2 render (not yet implemented). */
#include "cmd.h"

int cmd_render(int argc, char **argv)
{
	cli_error("render", "not implemented yet");
	return EXIT_USAGE;
}
