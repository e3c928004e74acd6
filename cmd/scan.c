/* scan.c - ocr2 scan (not yet implemented). */
#include "cmd.h"

int cmd_scan(int argc, char **argv)
{
	cli_error("scan", "not implemented yet");
	return EXIT_USAGE;
}
