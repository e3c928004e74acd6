/* model-quantize.c - ocr2 model quantize: an 8-bit copy of a model directory
 * that scan loads like the original. */
#include <getopt.h>
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

static void usage(FILE *f)
{
	fprintf(f, "usage: ocr2 model quantize [-m DIR] -o OUTDIR\n\n"
		   "Writes an 8-bit (q8_0: int8 with one scale per 32 weights) copy of the\n"
		   "language model's large matrices; the router, norms, embeddings and the\n"
		   "vision encoder keep their stored precision.\n\n"
		   "  -m, --model DIR    source model directory\n"
		   "  -o, --output DIR   destination directory (created; must differ from DIR)\n"
		   "  -q, --quiet        no progress line\n"
		   "  -h, --help         this help\n");
}

int cmd_model_quantize(int argc, char **argv)
{
	static const struct option opts[] = {{"model", required_argument, 0, 'm'},
					      {"output", required_argument, 0, 'o'},
					      {"quiet", no_argument, 0, 'q'},
					      {"help", no_argument, 0, 'h'},
					      {0, 0, 0, 0}};
	const char *model = NULL, *out = NULL;
	int quiet = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'o': out = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!out || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
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
