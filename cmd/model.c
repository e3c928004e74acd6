/* model.c - ocr2 model: describe (info) and verify (check) a model directory;
 * fetch and list live in model-fetch.c, quantize in model-quantize.c. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "base/error.h"
#include "base/fs.h"
#include "model/model.h"

const cli_cmd cli_model = {
	.name = "model",
	.synopsis = "<command> [options]",
	.opts = (const cli_opt[]){CLI_OPT_HELP, CLI_OPT_END},
	.after = "commands:\n"
		 "  fetch      download the published model from Hugging Face\n"
		 "  list       list the models ocr2 can find\n"
		 "  info       describe a model directory: config, tensors, bytes, dtypes\n"
		 "  check      verify every tensor the architecture needs, and its values\n"
		 "  quantize   write a q8 copy of a model (int8, one scale per 32)\n\n"
		 "'ocr2 model <command> --help' describes a command.\n",
	.help = "fetch, list, describe, check or quantize a model",
};

enum { OPT_NO_SCAN = 256 };

const cli_cmd cli_model_info = {
	.name = "model info",
	.synopsis = "[-m DIR|NAME]",
	.about = "Describes a model directory without reading its tensor data: the\n"
		 "config.json dimensions, the safetensors files, tensor count, bytes and\n"
		 "dtypes.\n",
	.opts = (const cli_opt[]){
		{"model", 'm', "DIR|NAME", ARG_MODEL, .help = CLI_MODEL_HELP},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.after = "Exit status: 0 ok, 2 usage error, 3 model missing or invalid.\n",
	.help = "describe a model directory: config, tensors, bytes, dtypes",
};

const cli_cmd cli_model_check = {
	.name = "model check",
	.synopsis = "[-m DIR|NAME] [--no-scan]",
	.about = "Verifies that config.json is sane, tokenizer.json is present, every tensor\n"
		 "the architecture needs is present with the right shape and a float dtype,\n"
		 "and (unless --no-scan) that no weight holds NaN or infinity. Prints\n"
		 "\"ok: N tensors\", or one line naming the first problem.\n",
	.opts = (const cli_opt[]){
		{"model", 'm', "DIR|NAME", ARG_MODEL, .help = CLI_MODEL_HELP},
		{"no-scan", OPT_NO_SCAN, NULL, ARG_NONE,
		 .help = "skip reading the weights for NaN/Inf (shapes only)"},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.after = "Exit status: 0 ok, 2 usage error, 3 model missing or invalid.\n",
	.help = "verify every tensor the architecture needs, and its values",
};

/* Parses [-m DIR] [--no-scan] [-h]; returns -1 to go on, else an exit code. */
static int parse(const cli_cmd *cmd, int argc, char **argv, const char **model, bool *no_scan)
{
	cli_parser p;
	cli_begin(&p, cmd, argc, argv);
	int c;
	while ((c = cli_next(&p)) > 0) {
		if (c == 'm')
			*model = p.arg;
		else if (c == OPT_NO_SCAN)
			*no_scan = true;
	}
	if (c < 0)
		return cli_stop(c);
	if (p.optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[p.optind]);
	return -1;
}

/* config.json and the weights of dir; prints the error and returns false. */
static bool load(const char *sub, const char *dir, ocr2_config *cfg, ocr2_weights **w)
{
	*w = NULL;
	if (access(dir, F_OK) != 0) {
		cli_error(sub, "%s: model directory not found (see 'ocr2 model fetch')", dir);
		return false;
	}
	char *path = ocr2_path_join(dir, "config.json");
	if (!path) {
		cli_error(sub, "out of memory");
		return false;
	}
	ocr2_status st = ocr2_config_load(path, cfg);
	free(path);
	if (st == OCR2_OK)
		st = ocr2_weights_load(dir, w);
	if (st != OCR2_OK) {
		cli_error(sub, "%s", ocr2_errmsg());
		return false;
	}
	return true;
}

static void print_bytes(uint64_t b)
{
	if (b >= (1ull << 30))
		printf("%llu (%.2f GiB)", (unsigned long long)b, (double)b / 1073741824.0);
	else
		printf("%llu (%.2f MiB)", (unsigned long long)b, (double)b / 1048576.0);
}

static int model_info(int argc, char **argv)
{
	const char *opt = NULL;
	bool no_scan = false;
	int rc = parse(&cli_model_info, argc, argv, &opt, &no_scan);
	if (rc >= 0)
		return rc;
	char *dir = cli_model_dir(opt);
	ocr2_config c;
	ocr2_weights *w;
	double t0 = ocr2_now();
	if (!dir || !load("model info", dir, &c, &w)) {
		free(dir);
		return EXIT_MODEL;
	}
	double t1 = ocr2_now();
	printf("model: %s\n", dir);
	printf("files: %d\n", ocr2_weights_nfiles(w));
	for (int i = 0; i < ocr2_weights_nfiles(w); i++) {
		uint64_t size;
		const char *p = ocr2_weights_file(w, i, &size);
		const char *base = strrchr(p, '/');
		printf("  %s  ", base ? base + 1 : p);
		print_bytes(size);
		printf("\n");
	}
	printf("tensors: %d\n", ocr2_weights_count(w));
	printf("bytes: ");
	print_bytes(ocr2_weights_bytes(w));
	printf("\n");
	int count[OCR2_DT_Q8 + 1] = {0};
	uint64_t bytes[OCR2_DT_Q8 + 1] = {0};
	for (int i = 0; i < ocr2_weights_count(w); i++) {
		const ocr2_tensor *t = ocr2_weights_at(w, i);
		count[t->dtype]++;
		bytes[t->dtype] += t->nbytes;
	}
	printf("dtypes:");
	for (int d = 0; d <= OCR2_DT_Q8; d++)
		if (count[d])
			printf(" %s %d (%llu bytes)", ocr2_dtype_name((ocr2_dtype)d), count[d],
			       (unsigned long long)bytes[d]);
	printf("\n");
	if (ocr2_weights_copied(w))
		printf("misaligned: %d tensors copied at load\n", ocr2_weights_copied(w));
	printf("load: %.3f s (mmap and headers only)\n", t1 - t0);
	printf("language model: hidden %d, %d layers (%d dense, %d MoE), %d heads (%d kv, "
	       "head_dim %d), vocab %d\n",
	       c.hidden, c.n_layers, c.first_k_dense, c.n_layers - c.first_k_dense, c.n_heads,
	       c.n_kv_heads, c.head_dim, c.vocab);
	printf("experts: %d routed (top %d%s, scale %g), %d shared; ffn %d dense, %d per "
	       "expert\n",
	       c.n_experts, c.n_experts_per_tok, c.norm_topk_prob ? ", renormalised" : "",
	       c.routed_scaling, c.n_shared_experts, c.intermediate, c.moe_intermediate);
	printf("lm: rope_theta %g, rms_norm_eps %g, max_position %d, bos %d, eos %d, image "
	       "token %d\n",
	       c.rope_theta, c.rms_eps, c.max_pos, c.bos_id, c.eos_id, c.image_token_id);
	printf("sam: width %d, %d blocks, %d heads, mlp %d, window %d, global [", c.sam_width,
	       c.sam_layers, c.sam_heads, c.sam_mlp, c.sam_window);
	for (int i = 0; i < c.sam_n_global; i++)
		printf("%s%d", i ? "," : "", c.sam_global[i]);
	printf("], neck %d, net_2 %d\n", c.sam_neck, c.sam_net2);
	printf("flow encoder: dim %d, %d layers, %d heads (%d kv), ffn %d, rope_theta %g\n",
	       c.enc_hidden, c.enc_layers, c.enc_heads, c.enc_kv_heads, c.enc_intermediate,
	       c.enc_rope_theta);
	ocr2_weights_free(w);
	free(dir);
	return EXIT_OK;
}

static int model_check(int argc, char **argv)
{
	const char *opt = NULL;
	bool no_scan = false;
	int rc = parse(&cli_model_check, argc, argv, &opt, &no_scan);
	if (rc >= 0)
		return rc;
	char *dir = cli_model_dir(opt);
	ocr2_config c;
	ocr2_weights *w;
	if (!dir || !load("model check", dir, &c, &w)) {
		free(dir);
		return EXIT_MODEL;
	}
	rc = EXIT_OK;
	char *tok = ocr2_path_join(dir, "tokenizer.json");
	if (!tok) {
		cli_error("model check", "out of memory");
		rc = EXIT_MODEL;
	} else if (access(tok, R_OK) != 0) {
		cli_error("model check", "%s: missing or unreadable", tok);
		rc = EXIT_MODEL;
	} else if (ocr2_model_check_tensors(w, &c, dir) != OCR2_OK ||
		   (!no_scan && ocr2_weights_check_finite(w, dir) != OCR2_OK)) {
		cli_error("model check", "%s", ocr2_errmsg());
		rc = EXIT_MODEL;
	} else {
		printf("ok: %d tensors%s\n", ocr2_weights_count(w),
		       no_scan ? " (values not scanned)" : "");
	}
	free(tok);
	ocr2_weights_free(w);
	free(dir);
	return rc;
}

int cmd_model(int argc, char **argv)
{
	if (argc < 2) {
		cli_help(&cli_model, stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		if (argc > 2)
			return cli_help_for("model", argc - 2, argv + 2);
		cli_help(&cli_model, stdout);
		return EXIT_OK;
	}
	if (!strcmp(sub, "fetch") || !strcmp(sub, "list"))
		return cmd_model_fetch(argc - 1, argv + 1);
	if (!strcmp(sub, "info"))
		return model_info(argc - 1, argv + 1);
	if (!strcmp(sub, "check"))
		return model_check(argc - 1, argv + 1);
	if (!strcmp(sub, "quantize"))
		return cmd_model_quantize(argc - 1, argv + 1);
	static const char *const subs[] = {"fetch", "list", "info", "check", "quantize"};
	char sugg[256];
	cli_suggest(sub, subs, 5, "", sugg, sizeof sugg);
	cli_error("model", "'%s' is not a model command%s%s%s; see 'ocr2 model --help'", sub,
		  *sugg ? " (did you mean " : "", sugg, *sugg ? "?)" : "");
	return EXIT_USAGE;
}
