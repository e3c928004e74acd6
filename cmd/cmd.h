/* cmd.h - what the subcommands share: their entry points and the CLI's
 * conventions (exit codes, messages, atomic output). */
#ifndef OCR2_CMD_H
#define OCR2_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "ocr2.h"
#include "opts.h"

/* Exit codes (man ocr2, EXIT STATUS; README.md). */
enum {
	EXIT_OK = 0,
	EXIT_PARTIAL = 1,     /* some input or page failed; the rest were written */
	EXIT_USAGE = 2,
	EXIT_MODEL = 3,
	EXIT_INTERRUPTED = 130,
};

int cmd_scan(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_model_fetch(int argc, char **argv);
int cmd_model_quantize(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* -m's help line, the same for every command that loads a model */
#define CLI_MODEL_HELP                                                                             \
	"model directory, or a name 'ocr2 model list' shows\n"                                     \
	"(default: $OCR2_MODEL, then ocr2's models, then the\n"                                    \
	"Hugging Face cache; see ocr2-model(1))"

extern const cli_cmd cli_ocr2, cli_scan, cli_render, cli_model, cli_model_fetch, cli_model_list,
	cli_model_info, cli_model_check, cli_model_quantize, cli_tokenize, cli_bench, cli_help_cmd;

/* ocr2 help [prefix] WORDS...: the named command's --help on stdout (exit 0),
 * or a usage error with "did you mean". */
int cli_help_for(const char *prefix, int n, char **words);

/* "ocr2 <sub>: message" on stderr, one line. */
void cli_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Where models are installed: $XDG_DATA_HOME/ocr2/models
 * (~/.local/share/ocr2/models when unset). Returns a malloc'd string. */
char *cli_models_root(void);
/* -t N as run: N when the process may use that many CPUs (affinity mask,
 * cgroup quota), else that count, with a one-line notice; 0 stays 0 (all). */
int cli_threads(const char *sub, int requested);
/* The model directory: -m DIR, or -m NAME as 'ocr2 model list' shows it;
 * else $OCR2_MODEL; else cli_models_root()/deepseek-ocr-2 when it exists;
 * else the Hugging Face cache's snapshot of the published model (refs/main's,
 * else the pinned commit's, else the only one); else ocr2's own place, for
 * the error. Returns a malloc'd string. */
char *cli_model_dir(const char *opt);

/* --precision (scan, bench): the choices in ocr2_precision's order after
 * auto, and CLI_PRECISION_HELP their help text. */
#define CLI_PRECISION_CHOICES "auto|f32|bf16"
#define CLI_PRECISION_HELP                                                                          \
	"the encoder's arithmetic: auto (default: bf16 on CPUs\n"                                   \
	"with avx512_bf16, else f32), f32 (the reference) or bf16"
/* --kv-cache (scan, bench): the choices in ocr2_kv_type's order. */
#define CLI_KV_CHOICES "f32|bf16"
#define CLI_KV_HELP                                                                                 \
	"the KV cache: f32 (default, the reference's numbers) or\n"                                \
	"bf16 (half the memory and cache reads; numbers move)"
/* --precision's default when the option is absent: $OCR2_PRECISION, else
 * its older name $OCR2_MATMUL; auto when neither is set. Another value gets
 * a one-line notice (unless quiet) and auto. */
ocr2_precision cli_precision_env(const char *sub, bool quiet);
/* What the encoder runs as for p on this CPU, for messages: "float32" or
 * "bf16 products (avx512_bf16)"; *notice the text of a notice when bf16 was
 * asked for on a CPU without avx512_bf16, else NULL. */
const char *cli_precision_run(ocr2_precision p, const char **notice);

#endif
