/* util.c - helpers every subcommand uses: messages, the model directory,
 * threads and precision. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "base/fs.h"
#include "compute/pool.h"
#include "hub/hub.h"

void cli_error(const char *sub, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ocr2 %s: ", sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

char *cli_models_root(void)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		return ocr2_path_join(xdg, "ocr2/models");
	return ocr2_path_join(home ? home : ".", ".local/share/ocr2/models");
}

/* -m NAME, as 'ocr2 model list' shows it: "hf:OWNER/NAME[@COMMIT]" for a
 * snapshot of the Hugging Face cache (any unique prefix of the commit; none:
 * main's), or the name of a directory under ocr2's models. NULL when it names
 * nothing. */
static char *model_by_name(const char *name)
{
	if (!strncmp(name, "hf:", 3)) {
		char repo[256];
		const char *at = strchr(name + 3, '@');
		size_t n = at ? (size_t)(at - name - 3) : strlen(name + 3);
		if (n == 0 || n >= sizeof repo)
			return NULL;
		memcpy(repo, name + 3, n);
		repo[n] = 0;
		char *root = ocr2_hf_cache_root();
		char *snap = root ? ocr2_hf_find(root, repo, at ? at + 1 : NULL) : NULL;
		free(root);
		return snap;
	}
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return NULL;
	char *root = cli_models_root();
	char *dir = root ? ocr2_path_join(root, name) : NULL;
	free(root);
	struct stat st;
	if (dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		free(dir);
		dir = NULL;
	}
	return dir;
}

char *cli_model_dir(const char *opt)
{
	struct stat st;
	if (opt && *opt) {
		/* a directory as given wins over a name that happens to match */
		char *byname = stat(opt, &st) == 0 ? NULL : model_by_name(opt);
		return byname ? byname : strdup(opt);
	}
	const char *e = getenv("OCR2_MODEL");
	if (e && *e)
		return strdup(e);
	char *root = cli_models_root();
	char *dir = root ? ocr2_path_join(root, "deepseek-ocr-2") : NULL;
	free(root);
	if (dir && stat(dir, &st) == 0)
		return dir;
	/* where the Python tools keep it: the Hugging Face cache */
	char *hf = ocr2_hf_cache_root();
	char *snap = hf ? ocr2_hf_find(hf, OCR2_FETCH_REPO, NULL) : NULL;
	free(hf);
	if (snap) {
		free(dir);
		return snap;
	}
	return dir; /* not there either: the error names ocr2's own place */
}

int cli_threads(const char *sub, int requested)
{
	int n = ocr2_ncpu();
	if (requested > n) {
		fprintf(stderr, "ocr2 %s: -t %d is more than the %d CPU%s this process may use; using %d\n",
			sub, requested, n, n == 1 ? "" : "s", n);
		return n;
	}
	return requested;
}

ocr2_precision cli_precision_env(const char *sub, bool quiet)
{
	const char *name = "OCR2_PRECISION", *v = getenv(name);
	if (!v || !*v) {
		name = "OCR2_MATMUL";
		v = getenv(name);
	}
	if (!v || !*v || !strcmp(v, "auto"))
		return OCR2_PRECISION_AUTO;
	if (!strcmp(v, "f32"))
		return OCR2_PRECISION_F32;
	if (!strcmp(v, "bf16"))
		return OCR2_PRECISION_BF16;
	if (!quiet)
		fprintf(stderr, "ocr2 %s: notice: %s=%s ignored: the values are auto, f32 and bf16\n",
			sub, name, v);
	return OCR2_PRECISION_AUTO;
}

const char *cli_precision_run(ocr2_precision p, const char **notice)
{
	bool bf16 = ocr2_precision_resolve(p) == OCR2_PRECISION_BF16;
	*notice = p == OCR2_PRECISION_BF16 && !bf16
			  ? "notice: bf16 precision asked for, but this CPU has no avx512_bf16: the "
			    "encoder runs in float32"
			  : NULL;
	return bf16 ? "bf16 products (avx512_bf16)" : "float32";
}
