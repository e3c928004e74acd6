/* bench.c - ocr2 bench: times load, the encoder per view, prefill and
 * decode on one model directory, and puts decode next to the memory-bandwidth
 * bound it measures itself (bytes of active weights per token / triad GB/s). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cmd.h"
#include "decoder.h"
#include "encoder.h"
#include "base/error.h"
#include "compute/kernels.h"
#include "pipeline/pipeline.h"

/* ---- STREAM-style triad a = b + s*c over the pool's threads --------------- */

typedef struct {
	float *a, *b, *c;
	size_t n;
	uint64_t sink[8];
} triad_job;

static void triad_part(void *arg, int i, int n)
{
	triad_job *j = arg;
	size_t lo = j->n * (size_t)i / (size_t)n, hi = j->n * (size_t)(i + 1) / (size_t)n;
	for (size_t k = lo; k < hi; k++)
		j->a[k] = j->b[k] + 3.0f * j->c[k];
}

/* Reads only, like a decode step: one stream per thread, with the loads the
 * weight kernels use (AVX-512 where the CPU has it). */
static void read_part(void *arg, int i, int n)
{
	triad_job *j = arg;
	size_t lo = j->n * (size_t)i / (size_t)n, hi = j->n * (size_t)(i + 1) / (size_t)n;
	lo &= ~(size_t)15;
	hi &= ~(size_t)15;
	j->sink[i & 7] = ocr2_stream_read(j->b + lo, (hi - lo) * sizeof(float));
}

static void init_part(void *arg, int i, int n)
{
	triad_job *j = arg;
	size_t lo = j->n * (size_t)i / (size_t)n, hi = j->n * (size_t)(i + 1) / (size_t)n;
	for (size_t k = lo; k < hi; k++) {
		j->a[k] = 0;
		j->b[k] = 1;
		j->c[k] = 2;
	}
}

/* The bandwidth bounds: the best triad pass (3 arrays of traffic, as STREAM
 * counts) and the best streaming-read pass (one array) over 128 MiB arrays,
 * far beyond the caches, in 2 MiB pages as the weights are
 * (ocr2_weights_resident; through 4 KiB pages both rates come out lower).
 * The passes are spread over the decode steps: on a shared machine the
 * bandwidth moves within seconds, and passes taken only before and after
 * had a slow second set a bound below what decoding reached. */
typedef struct {
	triad_job j;
	ocr2_pool *pool;
	size_t bytes;
	double best, best_read; /* seconds */
} bw_probe;

/* Without the arrays the passes do nothing and both rates read 0. */
static void probe_init(bw_probe *p, ocr2_pool *pool)
{
	*p = (bw_probe){.j = {.n = (size_t)1 << 25}, .pool = pool, .best = 1e30, .best_read = 1e30};
	p->bytes = p->j.n * 4;
	p->j.a = ocr2_alloc_huge(p->bytes);
	p->j.b = ocr2_alloc_huge(p->bytes);
	p->j.c = ocr2_alloc_huge(p->bytes);
	if (!p->j.a || !p->j.b || !p->j.c)
		return;
	/* first touch on the threads that use it */
	ocr2_pool_run(pool, init_part, &p->j, ocr2_pool_size(pool));
}

static void probe_pass(bw_probe *p)
{
	if (!p->j.a || !p->j.b || !p->j.c)
		return;
	int items = ocr2_pool_size(p->pool);
	double t = ocr2_now();
	ocr2_pool_run(p->pool, triad_part, &p->j, items);
	t = ocr2_now() - t;
	p->best = t < p->best ? t : p->best;
	t = ocr2_now();
	ocr2_pool_run(p->pool, read_part, &p->j, items);
	t = ocr2_now() - t;
	p->best_read = t < p->best_read ? t : p->best_read;
}

/* GB/s; 0 when the arrays could not be had */
static double probe_triad(const bw_probe *p)
{
	return p->best < 1e30 ? 3.0 * (double)p->bytes / p->best / 1e9 : 0;
}

static double probe_read(const bw_probe *p)
{
	return p->best_read < 1e30 ? (double)p->bytes / p->best_read / 1e9 : 0;
}

static void probe_free(bw_probe *p)
{
	ocr2_free_huge(p->j.a, p->bytes);
	ocr2_free_huge(p->j.b, p->bytes);
	ocr2_free_huge(p->j.c, p->bytes);
}

/* ---- bytes a decode step streams ----------------------------------------- */

static double tensor_bytes(const ocr2_weights *w, const char *name)
{
	const ocr2_tensor *t = ocr2_weights_get(w, name);
	if (!t)
		return 0;
	double b = (double)t->nbytes;
	if (t->dtype == OCR2_DT_Q8)
		b += (double)t->nelem / 32 * (t->scales_h ? 2 : 4);
	return b;
}

static double active_bytes(const ocr2_weights *w, const ocr2_config *c)
{
	char n[256];
	double total = tensor_bytes(w, "lm_head.weight");
	static const char *attn[] = {"q_proj", "k_proj", "v_proj", "o_proj"};
	static const char *mlp[] = {"gate_proj", "up_proj", "down_proj"};
	for (int l = 0; l < c->n_layers; l++) {
		for (int i = 0; i < 4; i++) {
			snprintf(n, sizeof n, "model.layers.%d.self_attn.%s.weight", l, attn[i]);
			total += tensor_bytes(w, n);
		}
		for (int i = 0; i < 3; i++) {
			if (l < c->first_k_dense) {
				snprintf(n, sizeof n, "model.layers.%d.mlp.%s.weight", l, mlp[i]);
				total += tensor_bytes(w, n);
				continue;
			}
			snprintf(n, sizeof n, "model.layers.%d.mlp.shared_experts.%s.weight", l, mlp[i]);
			total += tensor_bytes(w, n);
			snprintf(n, sizeof n, "model.layers.%d.mlp.experts.0.%s.weight", l, mlp[i]);
			total += c->n_experts_per_tok * tensor_bytes(w, n);
		}
		if (l >= c->first_k_dense) {
			snprintf(n, sizeof n, "model.layers.%d.mlp.gate.weight", l);
			total += tensor_bytes(w, n);
		}
	}
	return total;
}

static double peak_rss_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static float frand(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f;
}

static int time_view(enc_model *enc, ocr2_pool *pool, const ocr2_config *c, int S, int reps,
		     double *secs)
{
	int N = (S / 64) * (S / 64);
	float *chw = malloc((size_t)3 * S * S * sizeof *chw);
	float *tok = malloc((size_t)N * c->enc_hidden * sizeof *tok);
	float *q = malloc((size_t)N * c->enc_hidden * sizeof *q);
	float *e = malloc((size_t)N * c->hidden * sizeof *e);
	int ok = chw && tok && q && e;
	double best = 1e30;
	for (size_t i = 0; ok && i < (size_t)3 * S * S; i++)
		chw[i] = frand();
	for (int r = 0; ok && r < reps; r++) {
		double t = ocr2_now();
		ok = enc_sam(enc, pool, chw, S, tok) == OCR2_OK &&
		     enc_flow(enc, pool, tok, N, q) == OCR2_OK;
		if (ok)
			enc_project(enc, pool, q, N, e);
		t = ocr2_now() - t;
		if (t < best)
			best = t;
	}
	free(chw);
	free(tok);
	free(q);
	free(e);
	*secs = best;
	return ok;
}

/* ---- several sequences decoded together ------------------------------------ */

/* Times n_dec steps of b sequences together, each a copy of the prefilled
 * cache src fed its own random ids (as b pages after their prompts: the
 * rows route to different experts); b == 1 is the one-sequence step with
 * lm_head's screen, as a scan of one page at a time decodes. Returns the
 * aggregate tokens/s, 0 on failure (reported). */
static double time_batch(dec_model *dec, ocr2_pool *pool, const ocr2_config *cfg,
			 const dec_ctx *src, int n_ctx, int n_dec, int b, dec_ctx **ctx)
{
	dec_batch *bt = NULL;
	int32_t *ids = malloc((size_t)b * sizeof *ids), *next = malloc((size_t)b * sizeof *next);
	ocr2_status *st = malloc((size_t)b * sizeof *st);
	float *logits = malloc((size_t)cfg->vocab * sizeof *logits);
	double tps = 0, t = 0;
	if (!ids || !next || !st || !logits || dec_batch_new(dec, b, pool, &bt) != OCR2_OK)
		goto out;
	for (int i = 0; i < b; i++)
		if ((!ctx[i] && dec_ctx_new(dec, n_ctx, pool, &ctx[i]) != OCR2_OK) ||
		    dec_ctx_copy(ctx[i], src, n_ctx - n_dec - 1) != OCR2_OK)
			goto out;
	for (int s = 0; s < n_dec; s++) {
		for (int i = 0; i < b; i++)
			ids[i] = (int32_t)((frand() * 0.5f + 0.5f) * (cfg->vocab - 1));
		double t0 = ocr2_now();
		ocr2_status r = b == 1 ? dec_step_greedy(ctx[0], ids[0], NULL, 0, logits, next)
				       : dec_step_batch(bt, ctx, b, ids, NULL, NULL, next, st);
		t += ocr2_now() - t0;
		if (r != OCR2_OK || (b > 1 && st[0] != OCR2_OK))
			goto out;
	}
	tps = (double)b * n_dec / t;
out:
	if (tps == 0)
		cli_error("bench", "batch of %d: %s", b, ocr2_errmsg());
	dec_batch_free(bt);
	free(ids);
	free(next);
	free(st);
	free(logits);
	return tps;
}

/* The --batch table: 1, 2, 4, ... and n sequences together. page_enc: the
 * encoder's seconds for an A4 page (NAN: not timed). */
static bool bench_batch(dec_model *dec, ocr2_pool *pool, const ocr2_config *cfg,
			const dec_ctx *src, int n_ids, int n_dec, int n, double page_enc,
			double t_prefill)
{
	dec_ctx **ctx = calloc((size_t)n, sizeof *ctx);
	bool ok = ctx != NULL;
	double one = 0;
	printf("batch        %d steps each, sequences after a %d-token prompt (its cache copied), "
	       "fed random ids\n", n_dec, n_ids);
	for (int b = 1; ok; b = b * 2 > n && b < n ? n : b * 2) {
		double tps = time_batch(dec, pool, cfg, src, n_ids + n_dec + 1, n_dec, b, ctx);
		if (tps == 0) {
			ok = false;
			break;
		}
		if (b == 1)
			one = tps;
		/* an A4 page: the encoder and the prefill alone, then 1000 tokens
		 * at the batch's per-page share of the rate */
		double page = page_enc + t_prefill + 1000.0 / tps;
		printf("batch %-6d %.2f tokens/s together (%.2fx one), %.2f per sequence, peak RSS %.0f MB",
		       b, tps, tps / one, tps / b, peak_rss_mb());
		if (!isnan(page_enc))
			printf(", %.0f A4 pages/hour", 3600.0 / page);
		printf("\n");
		printf("bench-batch: batch=%d decode_tps=%.3f ratio=%.3f peak_rss_mb=%.0f "
		       "pages_per_hour=%.1f\n",
		       b, tps, tps / one, peak_rss_mb(), isnan(page_enc) ? 0.0 : 3600.0 / page);
		if (b >= n)
			break;
	}
	for (int i = 0; ctx && i < n; i++)
		dec_ctx_free(ctx[i]);
	free(ctx);
	return ok;
}

enum { OPT_IMAGES = 256, OPT_DECODE_TOKENS, OPT_REPS, OPT_NO_ENCODER, OPT_BATCH, OPT_PRECISION, OPT_KV_CACHE };

const cli_cmd cli_bench = {
	.name = "bench",
	.synopsis = "[-m DIR|NAME] [-t N] [--images N] [--decode-tokens N] [--reps N]\n"
		    "[--no-encoder] [--batch N] [--precision P] [--kv-cache T]",
	.about = "Times one model directory: load, encoder per 1024 view and 768 crop, prefill\n"
		 "and decode, peak RSS, and decode as a fraction of the memory-bandwidth bound\n"
		 "(active weight bytes per token / measured triad bandwidth). Prints a table\n"
		 "and a final machine-readable line starting with 'bench:'.\n",
	.opts = (const cli_opt[]){
		{"model", 'm', "DIR|NAME", ARG_MODEL, .help = "model (as for scan -m)"},
		{"threads", 't', "N", ARG_INT, .range = &RANGE_THREADS,
		 .help = "threads (default 0: the CPUs this process may use)"},
		{"images", OPT_IMAGES, "N", ARG_INT, .range = &RANGE_IMAGE_ROWS,
		 .help = "image embeddings in the prefill prompt (default 1121,\n"
			 "an A4 page at 144 dpi: 6 crops)"},
		{"decode-tokens", OPT_DECODE_TOKENS, "N", ARG_INT, .range = &RANGE_TOKENS,
		 .help = "decode steps to time (default 32)"},
		{"reps", OPT_REPS, "N", ARG_INT, .range = &RANGE_REPS,
		 .help = "encoder repetitions, best taken (default 1)"},
		{"no-encoder", OPT_NO_ENCODER, NULL, ARG_NONE, .help = "skip the encoder timings"},
		{"batch", OPT_BATCH, "N", ARG_INT, .range = &RANGE_BATCH,
		 .help = "also time N sequences decoded together (1, 2, 4, ... N\n"
			 "of them), each after the prompt: aggregate tokens/s, peak\n"
			 "RSS and pages per hour"},
		{"precision", OPT_PRECISION, "P", ARG_CHOICE, .choices = CLI_PRECISION_CHOICES,
		 .help = CLI_PRECISION_HELP},
		{"kv-cache", OPT_KV_CACHE, "T", ARG_CHOICE, .choices = CLI_KV_CHOICES,
		 .help = CLI_KV_HELP},
		CLI_OPT_HELP,
		CLI_OPT_END,
	},
	.help = "time the encoder and decoder on a model",
};

int cmd_bench(int argc, char **argv)
{
	const char *model = NULL;
	int threads = 0, n_img = 1121, n_dec = 32, reps = 1, no_enc = 0, batch = 0, prec = -1, c;
	ocr2_model_params mp = ocr2_model_default_params();
	cli_parser cp;
	cli_begin(&cp, &cli_bench, argc, argv);
	while ((c = cli_next(&cp)) > 0) {
		switch (c) {
		case 'm': model = cp.arg; break;
		case 't': threads = (int)cp.n; break;
		case OPT_IMAGES: n_img = (int)cp.n; break;
		case OPT_DECODE_TOKENS: n_dec = (int)cp.n; break;
		case OPT_REPS: reps = (int)cp.n; break;
		case OPT_NO_ENCODER: no_enc = 1; break;
		case OPT_BATCH: batch = (int)cp.n; break;
		case OPT_PRECISION: prec = cp.choice; break;
		case OPT_KV_CACHE: mp.kv_cache = (ocr2_kv_type)cp.choice; break;
		}
	}
	if (c < 0)
		return cli_stop(c);
	/* the choices are in ocr2_precision's order */
	ocr2_precision precision = prec >= 0 ? (ocr2_precision)prec : cli_precision_env("bench", false);
	const char *notice, *runs = cli_precision_run(precision, &notice);
	if (notice)
		cli_error("bench", "%s", notice);
	if (cp.optind != argc)
		return cli_usage(&cli_bench, "unexpected argument '%s'", argv[cp.optind]);
	threads = cli_threads("bench", threads);
	char *dir = cli_model_dir(model);
	double t = ocr2_now();
	ocr2_pipeline *p = NULL;
	mp.n_threads = threads;
	mp.precision = precision;
	if (ocr2_pipeline_load(dir, &mp, &p) != OCR2_OK) {
		cli_error("bench", "%s", ocr2_errmsg());
		free(dir);
		return EXIT_MODEL;
	}
	double t_load = ocr2_now() - t;
	enc_model *enc;
	dec_model *dec;
	ocr2_pool *pool;
	const ocr2_weights *w;
	ocr2_pipeline_parts(p, &enc, &dec, &pool, &w);
	const ocr2_config *cfg = ocr2_pipeline_config(p);
	int nt = ocr2_pool_size(pool);
	double enc1024 = NAN, enc768 = NAN;
	if (!no_enc && (!time_view(enc, pool, cfg, 1024, reps, &enc1024) ||
			!time_view(enc, pool, cfg, 768, reps, &enc768))) {
		cli_error("bench", "encoder: %s", ocr2_errmsg());
		ocr2_pipeline_free(p);
		free(dir);
		return EXIT_PARTIAL;
	}
	/* prefill: BOS + image rows + the document prompt's text ids (MODEL.md §6) */
	static const int32_t tail[] = {201, 128820, 21842, 270, 4940, 304, 2121, 7919, 16};
	int n_ids = 1 + n_img + 9;
	int32_t *ids = malloc((size_t)n_ids * sizeof *ids);
	float *img = malloc((size_t)(n_img ? n_img : 1) * cfg->hidden * sizeof *img);
	float *logits = malloc((size_t)cfg->vocab * sizeof *logits);
	dec_ctx *ctx = NULL;
	int rc = EXIT_OK;
	if (!ids || !img || !logits ||
	    dec_ctx_new(dec, n_ids + n_dec + 1, pool, &ctx) != OCR2_OK) {
		cli_error("bench", "decoder: %s", ocr2_errmsg());
		rc = EXIT_PARTIAL;
		goto out;
	}
	ids[0] = cfg->bos_id;
	for (int i = 0; i < n_img; i++)
		ids[1 + i] = cfg->image_token_id;
	memcpy(ids + 1 + n_img, tail, sizeof tail);
	for (size_t i = 0; i < (size_t)n_img * cfg->hidden; i++)
		img[i] = frand();
	t = ocr2_now();
	if (dec_prefill(ctx, ids, n_ids, img, n_img, logits) != OCR2_OK) {
		cli_error("bench", "prefill: %s", ocr2_errmsg());
		rc = EXIT_PARTIAL;
		goto out;
	}
	double t_prefill = ocr2_now() - t;
	double prof[DEC_PROF_N] = {0};
	dec_ctx_profile(ctx, prof);
	bw_probe probe;
	probe_init(&probe, pool);
	for (int r = 0; r < 3; r++)
		probe_pass(&probe);
	double t_decode = 0;
	int32_t best = dec_argmax(logits, cfg->vocab);
	for (int s = 0; s < n_dec; s++) {
		if (s && s % 8 == 0) /* outside the decode timing */
			probe_pass(&probe);
		t = ocr2_now();
		/* the greedy choice is included in the timing, as in a scan */
		ocr2_status st = dec_step_greedy(ctx, best, NULL, 0, logits, &best);
		t_decode += ocr2_now() - t;
		if (st != OCR2_OK) {
			cli_error("bench", "decode: %s", ocr2_errmsg());
			probe_free(&probe);
			rc = EXIT_PARTIAL;
			goto out;
		}
	}
	for (int r = 0; r < 3; r++)
		probe_pass(&probe);
	double tps = n_dec / t_decode, bytes = active_bytes(w, cfg);
	/* with lm_head's screen, a step reads the 8-bit copy and a few exact
	 * rows instead of lm_head (or all of it, where the screen gave up) */
	long long n_scr, n_full, n_exact;
	dec_ctx_choices(ctx, &n_scr, &n_full, &n_exact);
	double lm = tensor_bytes(w, "lm_head.weight"), scr = (double)dec_screen_bytes(dec);
	double lm_read = lm;
	if (n_scr + n_full > 0)
		lm_read = (n_scr * scr + n_exact * lm / cfg->vocab + n_full * lm) / (n_scr + n_full);
	bytes += lm_read - lm;
	double bw = probe_triad(&probe), rd = probe_read(&probe);
	probe_free(&probe);
	double bound = bw * 1e9 / bytes;
	printf("model        %s\n", dir);
	printf("threads      %d (gemv kernel: %s)\n", nt, ocr2_gemv_kernel_name());
	printf("encoder      %s (--precision %s)\n", runs, ocr2_precision_name(precision));
	printf("load         %.3f s (weights %s)\n", t_load,
	       ocr2_weights_residency(w));
	if (!no_enc) {
		printf("encoder 1024 %.3f s per view\n", enc1024);
		printf("encoder 768  %.3f s per crop\n", enc768);
	}
	printf("prefill      %d tokens in %.3f s: %.1f tokens/s\n", n_ids, t_prefill,
	       n_ids / t_prefill);
	printf("decode       %d tokens in %.3f s: %.2f tokens/s\n", n_dec, t_decode, tps);
	printf("decode split %.2f ms attention, %.2f ms feed-forward, %.2f ms lm_head, %.2f ms "
	       "other per token\n",
	       1e3 * prof[DEC_PROF_ATTENTION] / n_dec, 1e3 * prof[DEC_PROF_FFN] / n_dec,
	       1e3 * prof[DEC_PROF_LM_HEAD] / n_dec, 1e3 * prof[DEC_PROF_OTHER] / n_dec);
	/* keys and values of every layer at the mean decode position */
	double kv = (double)dec_kv_bytes_per_pos(dec) * (n_ids + n_dec / 2.0);
	if (scr > 0)
		printf("lm_head      chosen through its 8-bit screen (%.1f MB, not %.1f MB): %.1f rows "
		       "computed exactly per token; %lld of %d tokens needed all of lm_head\n",
		       scr / 1e6, lm / 1e6, n_scr ? (double)n_exact / n_scr : 0.0, n_full, n_dec);
	else
		printf("lm_head      read whole for every token (%.1f MB)\n", lm / 1e6);
	printf("active bytes %.1f MB per token (+ %.1f MB of %s KV cache read)\n", bytes / 1e6,
	       kv / 1e6, mp.kv_cache == OCR2_KV_BF16 ? "bf16" : "f32");
	printf("triad        %.1f GB/s -> bound %.2f tokens/s; decode at %.1f%% of it\n", bw,
	       bound, 100.0 * tps / bound);
	printf("             (%.1f%% of the bound that counts the KV cache too)\n",
	       100.0 * tps / (bw * 1e9 / (bytes + kv)));
	printf("reads only   %.1f GB/s -> bound %.2f tokens/s; decode at %.1f%% of it\n", rd,
	       rd * 1e9 / (bytes + kv), 100.0 * tps / (rd * 1e9 / (bytes + kv)));
	printf("peak RSS     %.0f MB\n", peak_rss_mb());
	printf("bench: threads=%d load_s=%.4f enc1024_s=%.4f enc768_s=%.4f prefill_tokens=%d "
	       "prefill_tps=%.2f decode_tps=%.3f active_mb=%.2f triad_gbs=%.2f bound_tps=%.3f "
	       "fraction=%.4f peak_rss_mb=%.0f enc_bf16=%d read_gbs=%.2f lm_head_mb=%.2f\n",
	       nt, t_load, enc1024, enc768, n_ids, n_ids / t_prefill, tps, bytes / 1e6, bw, bound,
	       tps / bound, peak_rss_mb(), enc->bf16 ? 1 : 0, rd, lm_read / 1e6);
	if (batch > 0 && !bench_batch(dec, pool, cfg, ctx, n_ids, n_dec, batch, no_enc ? NAN :
				      enc1024 + 6 * enc768, t_prefill))
		rc = EXIT_PARTIAL;
out:
	dec_ctx_free(ctx);
	free(ids);
	free(img);
	free(logits);
	ocr2_pipeline_free(p);
	free(dir);
	return rc;
}
