/* model.c - ocr2 model: dispatches fetch|list|info|check|quantize. */
#include <string.h>

#include "cmd.h"

int cmd_model(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "fetch") || !strcmp(argv[1], "list")))
		return cmd_model_fetch(argc - 1, argv + 1);
	cli_error("model", "not implemented yet");
	return EXIT_USAGE;
}
