/* tokenize.c - ocr2 tokenize: text on stdin to token ids, or ids back to
 * text, with the model's tokenizer.json (lib/tokenizer/tokenizer.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "base/fs.h"

enum { OPT_TOKENIZER = 256 };

const cli_cmd cli_tokenize = {
	.name = "tokenize",
	.synopsis = "[-m DIR|NAME | --tokenizer FILE] [--decode]",
	.about = "Reads UTF-8 text on stdin, byte for byte (a trailing newline is text too),\n"
		 "and writes its token ids on one line, space-separated. Special tokens such\n"
		 "as <image> or <|ref|> written in the text are recognised; no BOS is added.\n",
	.opts = (const cli_opt[]){
		{"model", 'm', "DIR|NAME", ARG_MODEL,
		 .help = "model (as for scan -m); only its tokenizer.json is read"},
		{"tokenizer", OPT_TOKENIZER, "FILE", ARG_FILE,
		 .help = "a tokenizer.json file instead of a model directory"},
		{"decode", 'd', NULL, ARG_NONE,
		 .help = "read whitespace-separated ids and write the text they\n"
			 "decode to (special tokens kept, no newline added)"},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.after = "Exit status: 0 ok, 1 invalid input (UTF-8 or id), 2 usage, 3 tokenizer.json\n"
		 "missing or invalid.\n",
	.help = "text to token ids and back",
};

static char *read_stdin(size_t *len)
{
	char *buf;
	return ocr2_read_fd(STDIN_FILENO, SIZE_MAX, &buf, len) == 0 ? buf : NULL;
}

static int encode(ocr2_tokenizer *t, const char *text, size_t len)
{
	int32_t *ids;
	int n;
	ocr2_status st = ocr2_tokenizer_encode(t, text, len, &ids, &n);
	if (st) {
		cli_error("tokenize", "stdin: %s", ocr2_errmsg());
		return EXIT_PARTIAL;
	}
	for (int i = 0; i < n; i++)
		printf(i ? " %d" : "%d", (int)ids[i]);
	putchar('\n');
	free(ids);
	return EXIT_OK;
}

static int decode(ocr2_tokenizer *t, const char *text)
{
	size_t cap = 256;
	int n = 0;
	int32_t *ids = malloc(cap * sizeof *ids);
	const char *p = text;
	int rc = EXIT_OK;
	if (!ids) {
		cli_error("tokenize", "out of memory");
		return EXIT_PARTIAL;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
			p++;
		if (!*p)
			break;
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v > INT32_MAX ||
		    (*end && !strchr(" \t\n\r\f\v", *end))) {
			int k = 0;
			while (p[k] && !strchr(" \t\n\r\f\v", p[k]) && k < 20)
				k++;
			cli_error("tokenize", "stdin: '%.*s' is not a token id", k, p);
			free(ids);
			return EXIT_PARTIAL;
		}
		if ((size_t)n == cap) {
			int32_t *ni = realloc(ids, 2 * cap * sizeof *ids);
			if (!ni) {
				cli_error("tokenize", "out of memory");
				free(ids);
				return EXIT_PARTIAL;
			}
			ids = ni;
			cap *= 2;
		}
		ids[n++] = (int32_t)v;
		p = end;
	}
	char *out;
	size_t len;
	if (ocr2_tokenizer_decode(t, ids, n, &out, &len)) {
		cli_error("tokenize", "stdin: %s", ocr2_errmsg());
		rc = EXIT_PARTIAL;
	} else {
		fwrite(out, 1, len, stdout);
		free(out);
	}
	free(ids);
	return rc;
}

int cmd_tokenize(int argc, char **argv)
{
	const char *model = NULL, *file = NULL;
	bool dec = false;
	cli_parser p;
	cli_begin(&p, &cli_tokenize, argc, argv);
	int c;
	while ((c = cli_next(&p)) > 0) {
		switch (c) {
		case 'm': model = p.arg; break;
		case OPT_TOKENIZER: file = p.arg; break;
		case 'd': dec = true; break;
		}
	}
	if (c < 0)
		return cli_stop(c);
	if (p.optind < argc)
		return cli_usage(&cli_tokenize, "unexpected argument '%s'", argv[p.optind]);
	if (model && file) {
		cli_error("tokenize", "give -m or --tokenizer, not both");
		return EXIT_USAGE;
	}
	char *path;
	if (file) {
		path = strdup(file);
	} else {
		char *dir = cli_model_dir(model);
		path = dir ? ocr2_path_join(dir, "tokenizer.json") : NULL;
		free(dir);
	}
	if (!path) {
		cli_error("tokenize", "out of memory");
		return EXIT_PARTIAL;
	}
	ocr2_tokenizer *t;
	if (ocr2_tokenizer_load(path, &t)) {
		cli_error("tokenize", "%s", ocr2_errmsg());
		free(path);
		return EXIT_MODEL;
	}
	free(path);
	size_t len;
	char *text = read_stdin(&len);
	int rc;
	if (!text) {
		cli_error("tokenize", "stdin: read error");
		rc = EXIT_PARTIAL;
	} else {
		rc = dec ? decode(t, text) : encode(t, text, len);
	}
	free(text);
	ocr2_tokenizer_free(t);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("tokenize", "stdout: write error");
		return EXIT_PARTIAL;
	}
	return rc;
}
