/* util.c - helpers every subcommand uses: messages and the model directory. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "base/fs.h"
#include "compute/pool.h"

void cli_error(const char *sub, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ocr2 %s: ", sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

char *cli_models_root(void)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		return ocr2_path_join(xdg, "ocr2/models");
	return ocr2_path_join(home ? home : ".", ".local/share/ocr2/models");
}

char *cli_model_dir(const char *opt)
{
	if (opt && *opt)
		return strdup(opt);
	const char *e = getenv("OCR2_MODEL");
	if (e && *e)
		return strdup(e);
	char *root = cli_models_root();
	char *dir = root ? ocr2_path_join(root, "deepseek-ocr-2") : NULL;
	free(root);
	return dir;
}

int cli_threads(const char *sub, int requested)
{
	int n = ocr2_ncpu();
	if (requested > n) {
		fprintf(stderr, "ocr2 %s: -t %d is more than the %d CPU%s this process may use; using %d\n",
			sub, requested, n, n == 1 ? "" : "s", n);
		return n;
	}
	return requested;
}
