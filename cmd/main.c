/* main.c - the ocr2 command: a table of subcommands, each in cmd/<name>.c
 * returning its exit status; 'ocr2 help CMD', "did you mean", --version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"

static const struct {
	const cli_cmd *cmd;
	int (*fn)(int, char **);
} commands[] = {
	{&cli_scan, cmd_scan},
	{&cli_render, cmd_render},
	{&cli_model, cmd_model},
	{&cli_tokenize, cmd_tokenize},
	{&cli_bench, cmd_bench},
	{&cli_help_cmd, NULL},
};
enum { N_COMMANDS = sizeof commands / sizeof *commands };

const cli_cmd cli_ocr2 = {
	.name = "",
	.synopsis = "<command> [options]",
	.opts = (const cli_opt[]){
		{"version", 'V', NULL, ARG_NONE,
		 .help = "version, commit, CPU features, kernels and libraries"},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.help = "",
};

const cli_cmd cli_help_cmd = {
	.name = "help",
	.synopsis = "[COMMAND]",
	.about = "Prints the help of a command, as 'ocr2 COMMAND --help' does\n"
		 "('ocr2 help model fetch' for a model command).\n",
	.opts = (const cli_opt[]){CLI_OPT_HELP, CLI_OPT_END},
	.help = "the help of a command (same as 'ocr2 COMMAND --help')",
};

/* Every command with options, for the completions and 'ocr2 help'. */
const cli_cmd *const cli_commands[] = {
	&cli_scan,        &cli_render,     &cli_model,          &cli_tokenize,
	&cli_bench,       &cli_help_cmd,   &cli_model_fetch,    &cli_model_list,
	&cli_model_info,  &cli_model_check, &cli_model_quantize,
};
const int cli_n_commands = sizeof cli_commands / sizeof *cli_commands;

static void usage(FILE *f)
{
	fprintf(f, "usage: ocr2 <command> [options]\n\ncommands:\n");
	for (int i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].cmd->name, commands[i].cmd->help);
	fprintf(f, "\n'ocr2 help <command>' (or 'ocr2 <command> --help') describes a command;\n"
		   "'ocr2 --version' says what runs here; 'man ocr2' has the rest.\n");
}

/* "'scna' is not a command; did you mean 'scan'?" */
static void not_a_command(const char *what)
{
	const char *names[N_COMMANDS];
	for (int i = 0; i < N_COMMANDS; i++)
		names[i] = commands[i].cmd->name;
	char sugg[256];
	cli_suggest(what, names, N_COMMANDS, "", sugg, sizeof sugg);
	if (*sugg)
		fprintf(stderr, "ocr2: '%s' is not a command; did you mean %s? (see 'ocr2 --help')\n",
			what, sugg);
	else
		fprintf(stderr, "ocr2: '%s' is not a command; see 'ocr2 --help'\n", what);
}

int cli_help_for(const char *prefix, int n, char **words)
{
	char *all[8];
	int k = 0;
	if (prefix)
		all[k++] = (char *)prefix;
	for (int i = 0; i < n && k < 8; i++)
		all[k++] = words[i];
	int used = 0;
	const cli_cmd *c = cli_find(all, k, &used);
	if (!c || used < k) {
		if (k == 1 || !c || used == 0) {
			not_a_command(all[0]);
		} else {
			/* "model fecth": suggest among the model commands */
			const char *subs[16];
			int ns = 0;
			size_t pl = strlen(c->name);
			for (int i = 0; i < cli_n_commands && ns < 16; i++)
				if (!strncmp(cli_commands[i]->name, c->name, pl) &&
				    cli_commands[i]->name[pl] == ' ')
					subs[ns++] = cli_commands[i]->name + pl + 1;
			char sugg[256];
			cli_suggest(all[used], subs, ns, "", sugg, sizeof sugg);
			fprintf(stderr, "ocr2 help: '%s %s' is not a command%s%s%s; see 'ocr2 %s --help'\n",
				c->name, all[used], *sugg ? " (did you mean " : "", sugg,
				*sugg ? "?)" : "", c->name);
		}
		return EXIT_USAGE;
	}
	cli_help(c, stdout);
	return EXIT_OK;
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
	if (argc >= 2 && !strcmp(argv[1], "__complete"))
		return cli_complete(argc - 1, argv + 1);
	fix_openblas_coretype(argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *a = argv[1];
	if (!strcmp(a, "--help") || !strcmp(a, "-h") || (!strcmp(a, "help") && argc == 2)) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(a, "help")) {
		if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
			cli_help(&cli_help_cmd, stdout);
			return EXIT_OK;
		}
		return cli_help_for(NULL, argc - 2, argv + 2);
	}
	if (!strcmp(a, "--version") || !strcmp(a, "-V"))
		return cmd_version(argc - 1, argv + 1);
	for (int i = 0; i < N_COMMANDS; i++)
		if (commands[i].fn && !strcmp(a, commands[i].cmd->name))
			return commands[i].fn(argc - 1, argv + 1);
	if (a[0] == '-') {
		const char *names[] = {"help", "version"};
		char sugg[128] = "";
		if (!strncmp(a, "--", 2))
			cli_suggest(a + 2, names, 2, "--", sugg, sizeof sugg);
		fprintf(stderr, "ocr2: unknown option '%s'%s%s%s; see 'ocr2 --help'\n", a,
			*sugg ? " (did you mean " : "", sugg, *sugg ? "?)" : "");
		return EXIT_USAGE;
	}
	not_a_command(a);
	return EXIT_USAGE;
}
