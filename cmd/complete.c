/* complete.c - ocr2 __complete bash|zsh: the shell completion scripts, made
 * from the same option tables as --help (cli_commands), at build time by
 * meson and installed (cmd/completions/meson.build), as ripgrep and fd do. */
#include <string.h>

#include "cmd.h"

/* The words of a choice list, space-separated: "a|b" -> "a b". */
static void put_choices(const char *c)
{
	for (; *c; c++)
		putchar(*c == '|' ? ' ' : *c);
}

/* The commands one level below prefix ("" for the top, "model" for its own). */
static void put_subcommands(const char *prefix, const char *sep)
{
	size_t pl = strlen(prefix);
	int first = 1;
	for (int i = 0; i < cli_n_commands; i++) {
		const char *n = cli_commands[i]->name;
		if (pl ? strncmp(n, prefix, pl) || n[pl] != ' ' : strchr(n, ' ') != NULL)
			continue;
		printf("%s%s", first ? "" : sep, pl ? n + pl + 1 : n);
		first = 0;
	}
}

/* ---- bash ------------------------------------------------------------------- */

static void bash_value_case(const cli_cmd *c, cli_arg kind, const char *action)
{
	int any = 0;
	for (const cli_opt *o = c->opts; o->name; o++) {
		if (!o->meta || o->arg != kind)
			continue;
		if (o->key < 256)
			printf("%s-%c", any++ ? "|" : "\t\t", o->key);
		printf("%s--%s", any++ ? "|" : "\t\t", o->name);
	}
	if (any)
		printf(") %s; return ;;\n", action);
}

static void bash_command(const cli_cmd *c)
{
	printf("\t'%s')\n\t\tcase $prev in\n", c->name);
	for (const cli_opt *o = c->opts; o->name; o++) {
		if (!o->meta || o->arg != ARG_CHOICE)
			continue;
		printf("\t\t");
		if (o->key < 256)
			printf("-%c|", o->key);
		printf("--%s) _ocr2_words '", o->name);
		put_choices(o->choices);
		printf("'; return ;;\n");
	}
	bash_value_case(c, ARG_FILE, "_ocr2_files");
	bash_value_case(c, ARG_DIR, "_ocr2_dirs");
	bash_value_case(c, ARG_MODEL, "_ocr2_models");
	bash_value_case(c, ARG_TEXT, "COMPREPLY=()");
	bash_value_case(c, ARG_INT, "COMPREPLY=()");
	bash_value_case(c, ARG_NUM, "COMPREPLY=()");
	printf("\t\tesac\n\t\tif [[ $cur == -* ]]; then\n\t\t\t_ocr2_words '");
	int first = 1;
	for (const cli_opt *o = c->opts; o->name; o++) {
		printf("%s--%s", first ? "" : " ", o->name);
		first = 0;
		if (o->key < 256)
			printf(" -%c", o->key);
	}
	printf("'\n\t\t\treturn\n\t\tfi\n");
	printf("\t\t%s\n\t\t;;\n", c->operands == ARG_FILE ? "_ocr2_files" :
				       c->operands == ARG_DIR ? "_ocr2_dirs" : "COMPREPLY=()");
}

static void bash(void)
{
	printf("# bash completion for ocr2\n"
	       "# Made by 'ocr2 __complete bash' from ocr2's option tables (cmd/opts.h),\n"
	       "# the same that make its --help: do not edit.\n\n"
	       "_ocr2_words() { mapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\"); }\n"
	       "_ocr2_files() { compopt -o filenames 2>/dev/null; "
	       "mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); }\n"
	       "_ocr2_dirs() { compopt -o filenames 2>/dev/null; "
	       "mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"); }\n"
	       "_ocr2_models() {\n"
	       "\tcompopt -o filenames 2>/dev/null\n"
	       "\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\"; "
	       "compgen -W \"$(\"${COMP_WORDS[0]}\" model list --names 2>/dev/null)\" -- \"$cur\")\n"
	       "}\n\n"
	       "_ocr2() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= cmd\n"
	       "\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	       "\t# --option=value: COMP_WORDBREAKS splits it at the '='\n"
	       "\tif [[ $cur == = ]]; then\n"
	       "\t\tcur=\n"
	       "\telif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n"
	       "\t\tprev=${COMP_WORDS[COMP_CWORD - 2]}\n"
	       "\tfi\n"
	       "\tif ((COMP_CWORD == 1)); then\n"
	       "\t\t_ocr2_words '");
	put_subcommands("", " ");
	printf(" --help -h --version -V'\n\t\treturn\n\tfi\n"
	       "\tcmd=${COMP_WORDS[1]}\n"
	       "\tcase $cmd in\n"
	       "\tmodel)\n"
	       "\t\tif ((COMP_CWORD == 2)); then\n\t\t\t_ocr2_words '");
	put_subcommands("model", " ");
	printf(" --help -h'\n\t\t\treturn\n\t\tfi\n"
	       "\t\tcmd=\"model ${COMP_WORDS[2]}\" ;;\n"
	       "\thelp)\n"
	       "\t\tif ((COMP_CWORD == 2)); then\n\t\t\t_ocr2_words '");
	put_subcommands("", " ");
	printf("'\n\t\telif ((COMP_CWORD == 3)) && [[ ${COMP_WORDS[2]} == model ]]; then\n"
	       "\t\t\t_ocr2_words '");
	put_subcommands("model", " ");
	printf("'\n\t\tfi\n\t\treturn ;;\n\tesac\n\tcase $cmd in\n");
	/* help and model complete their commands above */
	for (int i = 0; i < cli_n_commands; i++)
		if (strcmp(cli_commands[i]->name, "help") && strcmp(cli_commands[i]->name, "model"))
			bash_command(cli_commands[i]);
	printf("\tesac\n}\n\ncomplete -F _ocr2 ocr2\n");
}

/* ---- zsh -------------------------------------------------------------------- */

/* The first line of help, quoted for a single-quoted _arguments spec. */
static void zsh_desc(const char *h)
{
	for (; *h && *h != '\n'; h++) {
		if (*h == '\'')
			fputs("'\\''", stdout);
		else if (*h == '[' || *h == ']' || *h == '\\' || *h == ':')
			printf("\\%c", *h);
		else
			putchar(*h);
	}
}

static void zsh_action(const cli_opt *o)
{
	printf(":%s:", o->meta);
	switch (o->arg) {
	case ARG_CHOICE:
		putchar('(');
		put_choices(o->choices);
		putchar(')');
		break;
	case ARG_FILE: fputs("_files", stdout); break;
	case ARG_DIR: fputs("_files -/", stdout); break;
	case ARG_MODEL: fputs("_ocr2_models", stdout); break;
	default: putchar(' '); break;
	}
}

static void zsh_command(const cli_cmd *c, int shift)
{
	printf("\t(%s)\n\t\t", c->name);
	for (int i = 0; i < shift; i++)
		printf("shift words; (( CURRENT-- )); ");
	printf("_arguments -s -S");
	for (const cli_opt *o = c->opts; o->name; o++) {
		printf(" \\\n\t\t\t");
		if (o->key < 256)
			printf("'(-%c --%s)'{-%c%s,--%s%s}'[", o->key, o->name, o->key,
			       o->meta ? "+" : "", o->name, o->meta ? "=" : "");
		else
			printf("'--%s%s[", o->name, o->meta ? "=" : "");
		zsh_desc(o->help ? o->help : "");
		putchar(']');
		if (o->meta)
			zsh_action(o);
		putchar('\'');
	}
	if (c->operands == ARG_FILE)
		printf(" \\\n\t\t\t'*:file:_files'");
	else if (c->operands == ARG_TEXT)
		printf(" \\\n\t\t\t'*:name: '");
	printf("\n\t\t;;\n");
}

static void zsh_describe(const char *prefix)
{
	size_t pl = strlen(prefix);
	for (int i = 0; i < cli_n_commands; i++) {
		const cli_cmd *c = cli_commands[i];
		if (pl ? strncmp(c->name, prefix, pl) || c->name[pl] != ' ' : strchr(c->name, ' ') != NULL)
			continue;
		printf(" '%s:", pl ? c->name + pl + 1 : c->name);
		zsh_desc(c->help);
		putchar('\'');
	}
}

static void zsh(void)
{
	printf("#compdef ocr2\n"
	       "# zsh completion for ocr2\n"
	       "# Made by 'ocr2 __complete zsh' from ocr2's option tables (cmd/opts.h),\n"
	       "# the same that make its --help: do not edit.\n\n"
	       "_ocr2_models() {\n"
	       "\tlocal -a names\n"
	       "\tnames=(${(f)\"$(${words[1]:-ocr2} model list --names 2>/dev/null)\"})\n"
	       "\t_alternative 'dirs:model directory:_files -/' \"names:model name:(${names[*]})\"\n"
	       "}\n\n"
	       "_ocr2() {\n"
	       "\tlocal -a cmds subs\n"
	       "\tcmds=(");
	zsh_describe("");
	printf(")\n\tsubs=(");
	zsh_describe("model");
	printf(")\n"
	       "\tif (( CURRENT == 2 )); then\n"
	       "\t\t_describe -t commands 'ocr2 command' cmds\n"
	       "\t\tcompadd -- --help -h --version -V\n"
	       "\t\treturn\n"
	       "\tfi\n"
	       "\tlocal cmd=${words[2]}\n"
	       "\tcase $cmd in\n"
	       "\t(model)\n"
	       "\t\tif (( CURRENT == 3 )); then\n"
	       "\t\t\t_describe -t commands 'model command' subs\n"
	       "\t\t\treturn\n"
	       "\t\tfi\n"
	       "\t\tcmd=\"model ${words[3]}\" ;;\n"
	       "\t(help)\n"
	       "\t\tif (( CURRENT == 3 )); then\n"
	       "\t\t\t_describe -t commands 'ocr2 command' cmds\n"
	       "\t\telif (( CURRENT == 4 )) && [[ ${words[3]} == model ]]; then\n"
	       "\t\t\t_describe -t commands 'model command' subs\n"
	       "\t\tfi\n"
	       "\t\treturn ;;\n"
	       "\tesac\n"
	       "\tcase $cmd in\n");
	for (int i = 0; i < cli_n_commands; i++)
		if (strcmp(cli_commands[i]->name, "help") && strcmp(cli_commands[i]->name, "model"))
			zsh_command(cli_commands[i], strchr(cli_commands[i]->name, ' ') ? 2 : 1);
	printf("\tesac\n}\n\n_ocr2 \"$@\"\n");
}

int cli_complete(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "bash")) {
		bash();
	} else if (argc == 2 && !strcmp(argv[1], "zsh")) {
		zsh();
	} else {
		fprintf(stderr, "ocr2 __complete: bash or zsh\n");
		return EXIT_USAGE;
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_PARTIAL;
}
