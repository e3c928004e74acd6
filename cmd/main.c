/* main.c - the ocr2 command: a table of subcommands, each in cmd/<name>.c
 * returning its exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* Debian's OpenBLAS 0.3.21 takes AVX-512 Zen cores for Haswell and runs
 * sgemm at half speed; some environments even pin OPENBLAS_CORETYPE=Haswell.
 * The core type is read when the library loads, before main(), so the only fix
 * a user never has to know about is to set it and re-execute once. A core type
 * that already uses AVX-512 is kept; OCR2_OPENBLAS_CORETYPE=keep keeps any. */
static void fix_openblas_coretype(char **argv)
{
#if defined(__x86_64__) && defined(__GNUC__)
	static const char *avx512_types[] = {"skylakex", "cooperlake", "sapphirerapids"};
	const char *mine = getenv("OCR2_OPENBLAS_CORETYPE");
	if (mine && !strcmp(mine, "keep"))
		return;
	const char *cur = getenv("OPENBLAS_CORETYPE");
	if (cur && mine && *mine && !strcasecmp(cur, mine))
		return; /* already re-executed with the user's choice */
	if (cur)
		for (size_t i = 0; i < sizeof avx512_types / sizeof *avx512_types; i++)
			if (!strcasecmp(cur, avx512_types[i]))
				return;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
	    !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq"))
		return;
	if (setenv("OPENBLAS_CORETYPE", mine && *mine ? mine : "SkylakeX", 1) != 0)
		return;
	execv("/proc/self/exe", argv);
	/* exec failed (no /proc): carry on at the detected speed */
#else
	(void)argv;
#endif
}

int main(int argc, char **argv)
{
	fix_openblas_coretype(argv);
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
