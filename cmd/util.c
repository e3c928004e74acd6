/* util.c - helpers every subcommand uses: messages and the model directory. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

void cli_error(const char *sub, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ocr2 %s: ", sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

char *cli_model_dir(const char *opt)
{
	if (opt && *opt)
		return strdup(opt);
	const char *e = getenv("OCR2_MODEL");
	if (e && *e)
		return strdup(e);
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	char buf[4096];
	if (xdg && *xdg)
		snprintf(buf, sizeof buf, "%s/ocr2/models/deepseek-ocr-2", xdg);
	else
		snprintf(buf, sizeof buf, "%s/.local/share/ocr2/models/deepseek-ocr-2",
			 home ? home : ".");
	return strdup(buf);
}
