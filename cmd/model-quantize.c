/* model-quantize.c - ocr2 model quantize: an 8-bit copy of a model directory
 * that scan loads like the original. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "model/model.h"

static void progress(void *user, int done, int total)
{
	if (*(int *)user)
		fprintf(stderr, "\rquantizing: %d/%d tensors", done, total);
}

const cli_cmd cli_model_quantize = {
	.name = "model quantize",
	.synopsis = "[-m DIR|NAME] -o OUTDIR",
	.about = "Writes an 8-bit (q8_0: int8 with one scale per 32 weights) copy of the\n"
		 "language model's large matrices; the router, norms, embeddings and the\n"
		 "vision encoder keep their stored precision.\n",
	.opts = (const cli_opt[]){
		{"model", 'm', "DIR|NAME", ARG_MODEL, .help = "source model (as for scan -m)"},
		{"output", 'o', "DIR", ARG_DIR,
		 .help = "destination directory (created; must differ from the source)"},
		{"quiet", 'q', NULL, ARG_NONE, .help = "no progress line"},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.help = "write a q8 copy of a model (int8, one scale per 32)",
};

int cmd_model_quantize(int argc, char **argv)
{
	const char *model = NULL, *out = NULL;
	int quiet = 0, c;
	cli_parser p;
	cli_begin(&p, &cli_model_quantize, argc, argv);
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'm': model = p.arg; break;
		case 'o': out = p.arg; break;
		case 'q': quiet = 1; break;
		}
	}
	if (c < 0)
		return cli_stop(c);
	if (!out) {
		cli_help(&cli_model_quantize, stderr);
		return cli_usage(&cli_model_quantize, "an output directory is needed (-o OUTDIR)");
	}
	if (p.optind != argc)
		return cli_usage(&cli_model_quantize, "unexpected argument '%s'", argv[p.optind]);
	char *dir = cli_model_dir(model);
	int tty = !quiet && isatty(2);
	ocr2_status st = ocr2_model_quantize(dir, out, progress, &tty);
	if (tty)
		fputc('\n', stderr);
	free(dir);
	if (st) {
		cli_error("model quantize", "%s", ocr2_errmsg());
		return st == OCR2_ERR_MODEL ? EXIT_MODEL : EXIT_PARTIAL;
	}
	return EXIT_OK;
}
