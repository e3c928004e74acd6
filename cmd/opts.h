/* opts.h - every command's options as one table (cli_cmd): getopt_long's
 * table, the --help text and the shell completions (ocr2 __complete) are all
 * made from it, so they cannot disagree (cmd/opts.c, cmd/complete.c).
 *
 * Adding an option is one row in the command's table, e.g.
 *	{"draw", OPT_DRAW, "DIR", ARG_DIR, .help = "write a PNG per page with the blocks drawn"},
 * plus the case for its key in the command's switch. A numeric option names
 * the range of its quantity (one per quantity: RANGE_DPI serves scan and
 * render alike) and its value comes checked, with the range in the error; a
 * choice lists its values ("a|b|c") and comes as an index; a flag has no meta.
 * A new command gets a cli_cmd and a line in cli_commands (cmd/main.c). */
#ifndef OCR2_CMD_OPTS_H
#define OCR2_CMD_OPTS_H

#include <getopt.h>
#include <stdio.h>

typedef enum {
	ARG_NONE,   /* a flag */
	ARG_TEXT,   /* any text: completes nothing */
	ARG_INT,    /* a whole number within .range */
	ARG_NUM,    /* a number within .range */
	ARG_CHOICE, /* one of .choices */
	ARG_FILE,   /* a path: completes file names */
	ARG_DIR,    /* a directory: completes directory names */
	ARG_MODEL,  /* a model directory, or a name 'ocr2 model list' shows */
} cli_arg;

typedef struct {
	double lo, hi;
} cli_range;

/* One range per quantity, whichever command takes it. */
extern const cli_range RANGE_DPI;        /* raster resolution, dots per inch */
extern const cli_range RANGE_THREADS;    /* threads; 0 = the CPUs this process may use */
extern const cli_range RANGE_TOKENS;     /* tokens per page */
extern const cli_range RANGE_BATCH;      /* pages decoded together */
extern const cli_range RANGE_NGRAM;      /* repetition guard sizes; 0 = off */
extern const cli_range RANGE_REPS;       /* repetitions of a timing */
extern const cli_range RANGE_IMAGE_ROWS; /* image embeddings in a prompt */
extern const cli_range RANGE_SECONDS;    /* a network timeout */
extern const cli_range RANGE_RETRIES;    /* resumptions of a transfer */

typedef struct {
	const char *name;         /* the long name, without "--" */
	int key;                  /* the short letter, or the command's own id >= 256 */
	const char *meta;         /* the value's name in --help ("N", "DIR"); NULL: a flag */
	cli_arg arg;
	const cli_range *range;   /* ARG_INT, ARG_NUM */
	const char *choices;      /* ARG_CHOICE: "markdown|json|text" */
	const char *help;         /* one line; "\n" continues it on the next */
} cli_opt;

/* Every command's --help row, last in its table before the end mark. */
#define CLI_OPT_HELP {"help", 'h', NULL, ARG_NONE, .help = "this help"}
#define CLI_OPT_END {0}

typedef struct {
	const char *name;       /* "scan", "model fetch" */
	const char *synopsis;   /* after "usage: ocr2 NAME " ("\n" adds a usage line) */
	const char *about;      /* the text between the usage and the options, or NULL */
	const cli_opt *opts;    /* ends with CLI_OPT_END */
	const char *after;      /* the text after the options, or NULL */
	cli_arg operands;       /* what the operands complete as (ARG_NONE: there are none) */
	const char *help;       /* one line for the list of commands */
} cli_cmd;

/* The commands, for the completions and 'ocr2 help': the top-level ones in
 * the order 'ocr2 --help' lists them, then the subcommands ("model fetch"). */
extern const cli_cmd *const cli_commands[];
extern const int cli_n_commands;

#define CLI_MAX_OPTS 40

typedef struct {
	const cli_cmd *cmd;
	int argc;
	char **argv;
	struct option lo[CLI_MAX_OPTS + 1];
	char so[3 * CLI_MAX_OPTS + 3];
	const char *arg;   /* the value, as given */
	long n;            /* ARG_INT's value */
	double x;          /* ARG_NUM's value */
	int choice;        /* ARG_CHOICE: the value's index in .choices */
	int optind;        /* after CLI_END: the first operand */
} cli_parser;

enum { CLI_END = 0, CLI_HELP = -1, CLI_USAGE = -2 };

void cli_begin(cli_parser *p, const cli_cmd *c, int argc, char **argv);
/* The next option's key, with its value checked (p->arg, p->n, p->x,
 * p->choice); CLI_END when the options are done (operands from p->optind);
 * CLI_HELP after printing --help to stdout; CLI_USAGE after printing one
 * line on stderr (unknown option with "did you mean", missing value, value
 * out of its range). */
int cli_next(cli_parser *p);
/* The exit status for cli_next's CLI_HELP or CLI_USAGE. */
int cli_stop(int k);
void cli_help(const cli_cmd *c, FILE *f);
/* "ocr2 NAME: message; see 'ocr2 NAME --help'" on stderr; returns EXIT_USAGE. */
int cli_usage(const cli_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The option being handled, as the user wrote it ("-r" or "--dpi"). */
const char *cli_given(const cli_parser *p);
/* The command named by words ("model", "fetch"), or NULL; *used: how many words. */
const cli_cmd *cli_find(char **words, int n, int *used);

/* The candidates closest to typed (optimal string alignment distance, at most
 * 2 and less than half typed's length), comma-separated in out ("" when none).
 * prefix is put before each one ("--" for options). */
void cli_suggest(const char *typed, const char *const *cands, int n, const char *prefix,
		 char *out, size_t size);

/* ocr2 __complete bash|zsh: the completion script, made from cli_commands. */
int cli_complete(int argc, char **argv);

#endif
