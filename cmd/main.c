/* main.c - the ocr2 command: a table of subcommands, each in cmd/<name>.c
 * returning its exit status. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{"scan", cmd_scan, "read documents and write Markdown, JSON or text"},
	{"render", cmd_render, "write pages as PNG exactly as scan sees them"},
	{"model", cmd_model, "fetch, list, describe, check or quantize a model"},
	{"tokenize", cmd_tokenize, "text to token ids and back"},
	{"bench", cmd_bench, "time the encoder and decoder on a model"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ocr2 <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'ocr2 <command> --help' describes a command; 'man ocr2' has the rest.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("ocr2 %s\n", ocr2_version());
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ocr2: '%s' is not a command; see 'ocr2 --help'\n", argv[1]);
	return EXIT_USAGE;
}
