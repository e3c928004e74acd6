/* model-fetch.c - ocr2 model fetch (download the published model, verified
 * and resumable) and ocr2 model list (what is installed). */
#include <dirent.h>
#include <strings.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "base/error.h"
#include "base/fs.h"
#include "hub/hub.h"
#include "model/model.h"

static volatile int cancel_flag;

static void on_signal(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

enum { OPT_REVISION = 256, OPT_OFFLINE, OPT_HF_CACHE, OPT_TIMEOUT, OPT_RETRIES, OPT_NO_CHECK,
       OPT_NAMES };

const cli_cmd cli_model_fetch = {
	.name = "model fetch",
	.synopsis = "[NAME] [-m DIR | --hf-cache] [--revision REV] [--offline]\n"
		    "[--timeout SECONDS] [--retries N] [--no-check] [-q]",
	.about = "Downloads NAME (a Hugging Face repository, default " OCR2_FETCH_REPO "\n"
		 "at commit " OCR2_FETCH_REVISION ") into DIR (default $OCR2_MODEL,\n"
		 "else $XDG_DATA_HOME/ocr2/models/deepseek-ocr-2), or with --hf-cache into the\n"
		 "Hugging Face cache that the Python tools read, verifying each file against the\n"
		 "sha256 the hub publishes; resumes after an interruption and skips files\n"
		 "already verified. HF_ENDPOINT selects a mirror, HF_TOKEN (or the\n"
		 "huggingface-cli token file) a token, https_proxy a proxy.\n",
	.opts = (const cli_opt[]){
		{"model", 'm', "DIR", ARG_DIR, .help = "the directory to download into"},
		{"hf-cache", OPT_HF_CACHE, NULL, ARG_NONE,
		 .help = "download into the Hugging Face cache ($HF_HUB_CACHE,\n"
			 "$HF_HOME/hub or ~/.cache/huggingface/hub) in its own\n"
			 "layout, so Python and ocr2 share one copy"},
		{"revision", OPT_REVISION, "REV", ARG_TEXT, .help = "a branch, tag or commit"},
		{"offline", OPT_OFFLINE, NULL, ARG_NONE,
		 .help = "verify what is there without touching the network"},
		{"timeout", OPT_TIMEOUT, "SECONDS", ARG_INT, .range = &RANGE_SECONDS,
		 .help = "give up on a connection silent this long (default 60)"},
		{"retries", OPT_RETRIES, "N", ARG_INT, .range = &RANGE_RETRIES,
		 .help = "resume a broken transfer up to N times (default 3)"},
		{"no-check", OPT_NO_CHECK, NULL, ARG_NONE,
		 .help = "skip 'ocr2 model check' after the download"},
		{"quiet", 'q', NULL, ARG_NONE, .help = "no progress line and no summary"},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.after = "Exit status: 0 downloaded and verified, 1 a download failed, 2 usage error,\n"
		 "3 the model fails its check, 130 interrupted (parts kept for a resume).\n",
	.operands = ARG_TEXT,
	.help = "download the published model from Hugging Face",
};

const cli_cmd cli_model_list = {
	.name = "model list",
	.synopsis = "[--names]",
	.about = "Lists every model ocr2 can find: the directories under\n"
		 "$XDG_DATA_HOME/ocr2/models (~/.local/share/ocr2/models) and the snapshots of\n"
		 "the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else\n"
		 "~/.cache/huggingface/hub): name (what -m accepts), size, complete or\n"
		 "incomplete, repository@commit, and where it is. Sizes are checked against\n"
		 "the record of the fetch, or without one against the safetensors headers.\n",
	.opts = (const cli_opt[]){
		{"names", OPT_NAMES, NULL, ARG_NONE, .help = "print only the names, one per line"},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.help = "list the models ocr2 can find",
};

static void human(uint64_t b, char *out, size_t n)
{
	if (b >= 1000000000ull)
		snprintf(out, n, "%.2f GB", b / 1e9);
	else if (b >= 1000000ull)
		snprintf(out, n, "%.1f MB", b / 1e6);
	else if (b >= 1000ull)
		snprintf(out, n, "%.1f kB", b / 1e3);
	else
		snprintf(out, n, "%llu B", (unsigned long long)b);
}

static void duration(double s, char *out, size_t n)
{
	if (s < 0 || s > 360000)
		snprintf(out, n, "--");
	else if (s >= 3600)
		snprintf(out, n, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
	else if (s >= 60)
		snprintf(out, n, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(out, n, "%ds", (int)s);
}

typedef struct {
	int tty;          /* draw a progress bar on stderr */
	int quiet;
	uint64_t total;   /* bytes of the whole model */
	uint64_t settled; /* bytes of files finished or skipped */
	uint64_t start_have; /* bytes already in the current file when it started */
	uint64_t got;     /* bytes received this run, finished files */
	double t0;
	int drawn;
	int offline;
} ui;

static void clear_line(ui *u)
{
	if (u->drawn) {
		fputs("\r\033[K", stderr);
		u->drawn = 0;
	}
}

static void on_event(void *arg, ocr2_fetch_event ev, const char *file, uint64_t done,
		     uint64_t total)
{
	ui *u = arg;
	switch (ev) {
	case OCR2_FETCH_LISTED:
		u->total = total;
		u->settled = 0;
		break;
	case OCR2_FETCH_SKIP:
		u->settled += total;
		break;
	case OCR2_FETCH_START:
		u->start_have = done;
		if (u->t0 == 0)
			u->t0 = ocr2_now();
		/* fall through */
	case OCR2_FETCH_PROGRESS: {
		if (!u->tty)
			break;
		uint64_t now_got = u->got + (done > u->start_have ? done - u->start_have : 0);
		double el = ocr2_now() - u->t0;
		double rate = el > 0.5 ? now_got / el : 0;
		uint64_t all = u->settled + done;
		char a[32], b[32], r[32], eta[32];
		human(all, a, sizeof a);
		human(u->total, b, sizeof b);
		human((uint64_t)rate, r, sizeof r);
		duration(rate > 0 ? (u->total - all) / rate : -1, eta, sizeof eta);
		char stats[256], line[512];
		snprintf(stats, sizeof stats, "%5.1f%%  %s / %s  %s/s  ETA %s",
			 u->total ? 100.0 * all / u->total : 100.0, a, b, r, eta);
		/* one terminal line, or \r cannot redraw it: the name gives way */
		struct winsize ws;
		int cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
		int room = cols - 1 - (int)strlen(stats) - 2;
		if (room >= 8)
			snprintf(line, sizeof line, "%.*s  %s", room, file, stats);
		else
			snprintf(line, sizeof line, "%.*s", cols - 1, stats);
		fprintf(stderr, "\r\033[K%s", line);
		fflush(stderr);
		u->drawn = 1;
		break;
	}
	case OCR2_FETCH_RETRY:
		clear_line(u);
		if (!u->quiet)
			fprintf(stderr, "ocr2 model fetch: %s: connection broke, resuming (%llu)\n",
				file, (unsigned long long)done);
		break;
	case OCR2_FETCH_DONE:
		u->got += total - u->start_have;
		u->settled += total;
		break;
	case OCR2_FETCH_BAD:
	case OCR2_FETCH_MISSING:
		clear_line(u);
		printf("%s: %s\n", file, ev == OCR2_FETCH_BAD ? "does not match its record" : "missing");
		break;
	}
}

/* What 'ocr2 model check --no-scan' does: config.json parses, the weights
 * load, every tensor the architecture needs is there with its shape. (The
 * NaN scan adds nothing here: the bytes are the published ones.) Exit 3 when
 * not. */
static int run_check(const char *dir, int quiet)
{
	char *path = ocr2_path_join(dir, "config.json");
	ocr2_config c;
	ocr2_weights *w = NULL;
	ocr2_status s = path ? ocr2_config_load(path, &c) : ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
	free(path);
	if (!s)
		s = ocr2_weights_load(dir, &w);
	if (!s)
		s = ocr2_model_check_tensors(w, &c, dir);
	if (!s && !quiet)
		printf("%s: model check ok (%d tensors)\n", dir, ocr2_weights_count(w));
	ocr2_weights_free(w);
	if (s) {
		cli_error("model fetch", "downloaded, but the model check failed: %s", ocr2_errmsg());
		return EXIT_MODEL;
	}
	return EXIT_OK;
}

/* Where fetch writes: -m DIR, else $OCR2_MODEL, else ocr2's own directory
 * for the repository (never a model found elsewhere: that is for reading). */
static char *dir_for(const char *opt, const char *name)
{
	const char *env = getenv("OCR2_MODEL");
	if (opt && *opt)
		return strdup(opt);
	if (!name || !strcmp(name, OCR2_FETCH_REPO)) {
		if (env && *env)
			return strdup(env);
		char *root = cli_models_root();
		char *d = root ? ocr2_path_join(root, "deepseek-ocr-2") : NULL;
		free(root);
		return d;
	}
	const char *base = strrchr(name, '/');
	char *lower = strdup(base ? base + 1 : name);
	char *root = cli_models_root();
	char *d = NULL;
	if (lower && root) {
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		d = ocr2_path_join(root, lower);
	}
	free(lower);
	free(root);
	return d;
}

/* HF_TOKEN, else the file huggingface-cli login writes. */
static char *hub_token(void)
{
	const char *t = getenv("HF_TOKEN");
	if (t && *t)
		return strdup(t);
	char *path;
	const char *tp = getenv("HF_TOKEN_PATH");
	const char *hf_home = getenv("HF_HOME");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (tp && *tp)
		path = strdup(tp);
	else if (hf_home && *hf_home)
		path = ocr2_path_join(hf_home, "token");
	else if (xdg && *xdg)
		path = ocr2_path_join(xdg, "huggingface/token");
	else if (home && *home)
		path = ocr2_path_join(home, ".cache/huggingface/token");
	else
		return NULL;
	FILE *f = path ? fopen(path, "r") : NULL;
	free(path);
	if (!f)
		return NULL;
	char buf[512];
	char *line = fgets(buf, sizeof buf, f);
	fclose(f);
	if (!line)
		return NULL;
	buf[strcspn(buf, " \t\r\n")] = '\0';
	return *buf ? strdup(buf) : NULL;
}

static int do_fetch(int argc, char **argv)
{
	const char *mdir = NULL, *rev = NULL;
	int offline = 0, timeout = 60, retries = 3, check = 1, quiet = 0, hf_cache = 0;
	const char *off = getenv("HF_HUB_OFFLINE");
	if (off && (!strcmp(off, "1") || !strcasecmp(off, "true") || !strcasecmp(off, "yes")))
		offline = 1;
	cli_parser cp;
	cli_begin(&cp, &cli_model_fetch, argc, argv);
	int ch;
	while ((ch = cli_next(&cp)) > 0) {
		switch (ch) {
		case 'm': mdir = cp.arg; break;
		case OPT_REVISION: rev = cp.arg; break;
		case OPT_OFFLINE: offline = 1; break;
		case OPT_HF_CACHE: hf_cache = 1; break;
		case OPT_NO_CHECK: check = 0; break;
		case 'q': quiet = 1; break;
		case OPT_TIMEOUT: timeout = (int)cp.n; break;
		case OPT_RETRIES: retries = (int)cp.n; break;
		}
	}
	if (ch < 0)
		return cli_stop(ch);
	optind = cp.optind;
	if (hf_cache && mdir)
		return cli_usage(&cli_model_fetch, "-m and --hf-cache name two places; give one");
	const char *name = NULL;
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		cli_error("model fetch", "one model at a time ('%s' is extra)", argv[optind]);
		return EXIT_USAGE;
	}
	if (name && !strchr(name, '/')) {
		cli_error("model fetch", "%s: name a repository as owner/name (default %s)", name,
			  OCR2_FETCH_REPO);
		return EXIT_USAGE;
	}
	if (!offline && !ocr2_fetch_available()) {
		cli_error("model fetch", "this ocr2 was built without download support "
			  "(rebuild with libcurl: meson setup -Dfetch=enabled)");
		return EXIT_USAGE;
	}
	char *dir = hf_cache ? ocr2_hf_cache_root() : dir_for(mdir, name);
	char *token = offline ? NULL : hub_token();
	ui u = {.tty = !quiet && isatty(2), .quiet = quiet, .offline = offline};
	ocr2_fetch_params p = {
		.endpoint = getenv("HF_ENDPOINT"),
		.repo = name,
		.revision = rev,
		.token = token,
		.timeout_s = timeout,
		.retries = retries,
		.offline = offline,
		.hf_cache = hf_cache,
		.cancel = &cancel_flag,
		.cb = on_event,
		.cb_arg = &u,
	};
	struct sigaction sa = {0}, old_int, old_term;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	ocr2_fetch_result r;
	ocr2_status s = ocr2_fetch(dir, &p, &r);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	clear_line(&u);
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	int rc = EXIT_OK;
	if (s) {
		cli_error("model fetch", "%s", ocr2_errmsg());
		rc = s == OCR2_ERR_INTERRUPTED ? EXIT_INTERRUPTED :
		     s == OCR2_ERR_INVALID ? EXIT_USAGE : 1;
	} else {
		char b[32];
		human(r.bytes_total, b, sizeof b);
		if (!quiet) {
			if (offline)
				printf("%s: %d files, %s, all verified, commit %.12s\n", r.dir,
				       r.n_files, b, r.commit[0] ? r.commit : "unknown");
			else
				printf("%s: %d files, %s (%d downloaded, %d already there), "
				       "commit %.12s\n", r.dir, r.n_files, b, r.n_fetched, r.n_skipped,
				       r.commit);
		}
		if (check)
			rc = run_check(r.dir, quiet);
	}
	free(dir);
	return rc;
}

/* A dynamic list of malloc'd strings. */
typedef struct {
	char **v;
	int n, cap;
} strs;

static void strs_add(strs *l, char *s)
{
	if (!s)
		return;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, (size_t)cap * sizeof *v);
		if (!v) {
			free(s);
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
}

static void strs_free(strs *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_natural(const void *a, const void *b)
{
	return ocr2_natural_cmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir (no dot files), natural order. */
static void read_names(const char *dir, strs *out)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			strs_add(out, strdup(de->d_name));
	if (d)
		closedir(d);
	if (out->n)
		qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_natural);
}

/* A snapshot of the cache is a DeepSeek-OCR 2 model when it is the published
 * repository or its config.json names the architecture (a fine-tune, a q8
 * copy pushed to the hub); other models of the cache are not ours to list. */
static bool is_ocr2_snapshot(const char *snap, const char *repo)
{
	if (!strcmp(repo, OCR2_FETCH_REPO))
		return true;
	char *path = ocr2_path_join(snap, "config.json");
	char *text = NULL;
	size_t n = 0;
	bool yes = false;
	if (path && ocr2_read_file(path, 1 << 20, OCR2_ERR_IO, &text, &n) == OCR2_OK)
		yes = strstr(text, "\"DeepseekOCR2ForCausalLM\"") != NULL;
	free(text);
	free(path);
	return yes;
}

/* One line of the list. */
static void list_one(const char *name, const char *path, const char *note, bool partial,
		     bool names_only)
{
	ocr2_model_dir_state ms;
	if (ocr2_model_dir_describe(path, &ms) != OCR2_OK)
		return;
	if (names_only) {
		printf("%s\n", name);
		return;
	}
	char b[32];
	human(ms.bytes, b, sizeof b);
	printf("%-24s %10s  %s", name, b,
	       ms.complete ? "complete" : ms.partial || partial ? "incomplete (download interrupted)" :
	       "incomplete");
	if (!ms.complete && ms.why[0])
		printf(": %s", ms.why);
	if (ms.repo[0])
		printf("  %s@%.12s", ms.repo, ms.commit);
	printf("%s  %s\n", note, path);
}

static int do_list(int argc, char **argv)
{
	bool names_only = false;
	cli_parser cp;
	cli_begin(&cp, &cli_model_list, argc, argv);
	int ch;
	while ((ch = cli_next(&cp)) > 0)
		if (ch == OPT_NAMES)
			names_only = true;
	if (ch < 0)
		return cli_stop(ch);
	if (cp.optind < argc)
		return cli_usage(&cli_model_list, "unexpected argument '%s'", argv[cp.optind]);
	int shown = 0;
	/* ocr2's own: every directory under the models root */
	char *root = cli_models_root();
	strs names = {0};
	read_names(root, &names);
	for (int i = 0; i < names.n; i++) {
		char *path = ocr2_path_join(root, names.v[i]);
		struct stat st;
		if (path && !stat(path, &st) && S_ISDIR(st.st_mode)) {
			list_one(names.v[i], path, "", false, names_only);
			shown++;
		}
		free(path);
	}
	strs_free(&names);
	/* the Hugging Face cache: every snapshot of a DeepSeek-OCR 2 repository,
	 * named hf:OWNER/NAME@COMMIT (what -m takes) */
	char *hf = ocr2_hf_cache_root();
	strs repos = {0};
	read_names(hf, &repos);
	for (int i = 0; i < repos.n; i++) {
		char repo[256];
		if (ocr2_hf_repo_of(repos.v[i], repo, sizeof repo))
			continue;
		char *rd = ocr2_path_join(hf, repos.v[i]);
		char **snaps = NULL;
		int ns = rd ? ocr2_hf_snapshots(rd, &snaps) : 0;
		char main_commit[41] = "";
		if (rd && ocr2_hf_read_ref(rd, "main", main_commit))
			main_commit[0] = 0;
		/* a blob still growing: an interrupted download (theirs or ours) */
		strs blobs = {0};
		char *bd = rd ? ocr2_path_join(rd, "blobs") : NULL;
		read_names(bd, &blobs);
		bool partial = false;
		for (int k = 0; k < blobs.n; k++) {
			size_t bl = strlen(blobs.v[k]);
			partial |= bl > 11 && !strcmp(blobs.v[k] + bl - 11, ".incomplete");
		}
		strs_free(&blobs);
		free(bd);
		for (int k = 0; k < ns; k++) {
			char rel[64], name[320];
			snprintf(rel, sizeof rel, "snapshots/%s", snaps[k]);
			char *snap = ocr2_path_join(rd, rel);
			if (snap && is_ocr2_snapshot(snap, repo)) {
				snprintf(name, sizeof name, "hf:%s@%.12s", repo, snaps[k]);
				list_one(name, snap, !strcmp(snaps[k], main_commit) ? " (main)" : "",
					 partial, names_only);
				shown++;
			}
			free(snap);
			free(snaps[k]);
		}
		free(snaps);
		free(rd);
	}
	strs_free(&repos);
	if (!shown)
		fprintf(stderr, "ocr2 model list: no models in %s nor in the Hugging Face cache %s "
			"(try 'ocr2 model fetch')\n", root ? root : "?", hf ? hf : "?");
	free(root);
	free(hf);
	return EXIT_OK;
}

int cmd_model_fetch(int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "list"))
		return do_list(argc, argv);
	return do_fetch(argc, argv);
}
