/* test-encoder.c - DeepEncoder V2 stages against the float32 PyTorch reference
 * (testdata/reference/reference.py via make-goldens.py):
 *   test-encoder MODEL GOLDEN IMAGE
 * MODEL is a directory under $TESTDATA/models, GOLDEN a safetensors file under
 * $TESTDATA/golden, IMAGE a PNG under $TESTDATA; an absolute path is taken as is.
 *
 * Each stage is fed the reference's own input where it can be (flow gets the
 * reference SAM output, the projector the reference flow output), so a
 * failure names the stage that broke. The views must be byte-identical
 * (Pillow sha256 in the golden's metadata).
 *
 * Tolerance: both sides compute in float32 on the same (widened) weights and
 * differ only in summation order (OpenBLAS sgemm blocking vs torch, softmax
 * and norm accumulation). Measured on tiny/tiny-f32 (values up to ~5): SAM
 * 5-7e-6, flow 1.3-1.6e-6, projector 5-7e-7, whole sequence 6.5e-6 max-abs.
 * On the full-size random checkpoint (values up to ~4.8, 12 SAM blocks, 24
 * flow layers; reference on CUDA with TF32 off): SAM 1.3-1.6e-5, flow
 * 4.9-5.7e-6, projector 4.3-5.5e-6, whole sequence 8e-6.
 * TOL = 5e-5 leaves ~3-8x headroom for other BLAS builds while still catching
 * any real mistake (a wrong mask, rel-pos index or rounding gives >= 1e-2).
 * The load-time tables follow torch's CPU arithmetic (float32 weights for the
 * antialiased bicubic, double index for the linear resize): measured 7e-7
 * (pos_embed 48) and 6e-8 (rel-pos 95); TOL_TABLE = 2e-6. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "testutil.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "check.h"

#define TOL 5e-5
#define TOL_TABLE 2e-6

static const float *golden(const ocr2_weights *g, const char *name, int64_t nelem)
{
	const ocr2_tensor *t = ocr2_weights_get(g, name);
	bool ok = t && t->dtype == OCR2_DT_F32 && t->nelem == nelem;
	CHECK(ok, "golden: tensor %s missing or not f32[%lld]", name, (long long)nelem);
	return ok ? t->data : NULL;
}

static void compare_tol(const char *what, const float *got, const float *ref, size_t n, double tol)
{
	if (!ref)
		return;
	size_t i;
	double ma = check_max_abs(got, ref, n, &i), mr = 0;
	for (size_t k = 0; k < n; k++)
		mr = fmax(mr, fabs(ref[k]));
	printf("%-14s max_abs %.3g (element %zu: %.7g vs %.7g), max |ref| %.3g\n", what, ma, i,
	       got[i], ref[i], mr);
	CHECK(ma <= tol, "%s: max abs error %.3g > %.3g at element %zu", what, ma, tol, i);
}

static void compare(const char *what, const float *got, const float *ref, size_t n)
{
	compare_tol(what, got, ref, n, TOL);
}

/* The golden's __metadata__ object (safetensors header), parsed. */
static json_value *metadata(const char *path, char **text)
{
	size_t n;
	if (ocr2_read_file(path, SIZE_MAX, OCR2_ERR_IO, text, &n) != OCR2_OK || n < 8)
		return NULL;
	uint64_t hl = 0;
	for (int i = 7; i >= 0; i--)
		hl = hl << 8 | (uint8_t)(*text)[i];
	if (hl > n - 8)
		return NULL;
	return json_parse(*text + 8, (size_t)hl, path);
}

static void check_view(const char *what, const uint8_t *p, size_t n, const char *want)
{
	char hex[65];
	tu_sha256_hex(p, n, hex);
	CHECK(want && !strcmp(hex, want), "%s: u8 sha256 %s, Pillow %s", what, hex,
	      want ? want : "(none)");
}

/* Queries are causal among themselves and visual rows never see them: with
 * query j perturbed, outputs < j stay bit-identical and outputs >= j move. */
static void check_mask(enc_model *m, ocr2_pool *pool, const float *sam, int N)
{
	int E = m->c.enc_hidden, j = N / 2;
	float *a = malloc((size_t)N * E * sizeof *a), *b = malloc((size_t)N * E * sizeof *b);
	float *table = N == 256 ? m->query_1024 : m->query_768;
	enc_flow(m, pool, sam, N, a);
	float saved = table[(size_t)j * E];
	table[(size_t)j * E] += 1.0f;
	enc_flow(m, pool, sam, N, b);
	table[(size_t)j * E] = saved;
	bool before_same = !memcmp(a, b, (size_t)j * E * sizeof *a);
	double moved = 0;
	for (size_t i = (size_t)j * E; i < (size_t)N * E; i++)
		moved = fmax(moved, fabs(a[i] - b[i]));
	CHECK(before_same && moved > 1e-4, "flow mask: earlier queries %s, later moved by %g",
	      before_same ? "kept" : "CHANGED", moved);
	if (before_same && moved > 1e-4)
		printf("flow mask: queries < %d unchanged, >= %d moved by %.3g\n", j, j, moved);
	free(a);
	free(b);
}

/* The load-time resizes for the 768 view against torch (when the golden has
 * them): pos_embed 64->48 antialiased bicubic (every 5th row/column) and the
 * first global block's rel-pos tables linearly resized to 2*48-1 rows. */
static void check_tables(enc_model *m, const ocr2_weights *g)
{
	const ocr2_config *c = &m->c;
	int W = c->sam_width, Gt = c->tile_size / c->patch, L = 2 * Gt - 1, hd = W / c->sam_heads;
	int ns = (Gt + 4) / 5;
	if (!ocr2_weights_get(g, "pos_embed_48_sample") || Gt != 48)
		return;
	float *pe = malloc((size_t)ns * ns * W * sizeof *pe);
	for (int y = 0; y < ns; y++)
		for (int x = 0; x < ns; x++)
			memcpy(pe + ((size_t)y * ns + x) * W, m->pos[1] + ((size_t)(5 * y) * Gt + 5 * x) * W,
			       (size_t)W * sizeof *pe);
	compare_tol("pos_embed 48", pe, golden(g, "pos_embed_48_sample", (int64_t)ns * ns * W),
		(size_t)ns * ns * W, TOL_TABLE);
	free(pe);
	const enc_sam_block *b = &m->sam[c->sam_global[0]];
	compare_tol("rel_pos_h 95", b->rel_h[1], golden(g, "rel_pos_h_95", (int64_t)L * hd),
		    (size_t)L * hd, TOL_TABLE);
	compare_tol("rel_pos_w 95", b->rel_w[1], golden(g, "rel_pos_w_95", (int64_t)L * hd),
		    (size_t)L * hd, TOL_TABLE);
}

static void check_errors(enc_model *m, ocr2_pool *pool, const ocr2_weights *w,
			 const ocr2_config *c)
{
	float dummy[16] = {0}, out[16];
	CHECK(enc_flow(m, pool, dummy, 3, out) != OCR2_OK, "enc_flow accepted 3 visual tokens");
	CHECK(enc_sam(m, pool, dummy, 512, out) != OCR2_OK, "enc_sam accepted a 512 view");
	ocr2_config bad = *c;
	bad.sam_net2 += 1;
	enc_model *m2 = NULL;
	ocr2_status st = enc_load(w, &bad, &m2);
	bool ok = st == OCR2_ERR_MODEL && !m2 && strstr(ocr2_errmsg(), "net_2.weight");
	CHECK(ok, "enc_load with a wrong net_2 width: status %d, message '%s'", st, ocr2_errmsg());
	if (ok)
		printf("bad shape: %s\n", ocr2_errmsg());
}

int main(int argc, char **argv)
{
	const char *td = getenv("TESTDATA");
	if (argc != 4 || !td) {
		fprintf(stderr, "usage: TESTDATA=dir test-encoder MODEL GOLDEN IMAGE\n");
		return 2;
	}
	char mdir[1024], gpath[1024], ipath[1024], cpath[1100];
	snprintf(mdir, sizeof mdir, "%s%s%s", argv[1][0] == '/' ? "" : td,
		 argv[1][0] == '/' ? "" : "/models/", argv[1]);
	snprintf(gpath, sizeof gpath, "%s%s%s", argv[2][0] == '/' ? "" : td,
		 argv[2][0] == '/' ? "" : "/golden/", argv[2]);
	snprintf(ipath, sizeof ipath, "%s%s%s", argv[3][0] == '/' ? "" : td,
		 argv[3][0] == '/' ? "" : "/", argv[3]);
	snprintf(cpath, sizeof cpath, "%s/config.json", mdir);
	ocr2_config c;
	ocr2_weights *w = NULL, *g = NULL;
	enc_model *m = NULL;
	ocr2_image img;
	if (ocr2_config_load(cpath, &c) || ocr2_weights_load(mdir, &w)) {
		fprintf(stderr, "%s (run testdata/make-tiny.py --out testdata/models)\n",
			ocr2_errmsg());
		return 1;
	}
	if (ocr2_weights_load_file(gpath, &g) || enc_load(w, &c, &m)) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
		return 1;
	}
	if (tu_load_png(ipath, &img)) {
		fprintf(stderr, "%s: cannot read\n", ipath);
		return 1;
	}
	ocr2_pool *pool = ocr2_pool_new(2);
	int E = c.enc_hidden, H = c.hidden, S = c.base_size, T = c.tile_size;
	int q = 4 * c.patch, nb = (S / q) * (S / q), nt = (T / q) * (T / q);

	/* views: Pillow-identical bytes */
	char *htext;
	json_value *hdr = metadata(gpath, &htext);
	const json_value *meta = json_get(hdr, "__metadata__");
	const char *crops_json = json_str(json_get(meta, "crop_views_u8_sha256"), "[]");
	json_value *crop_sha = json_parse(crops_json, strlen(crops_json), "crop_views_u8_sha256");
	enc_views v;
	if (enc_make_views(&img, &c, false, &v)) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
		return 1;
	}
	const ocr2_tensor *gt = ocr2_weights_get(g, "grid");
	int gc = gt ? ((const int32_t *)gt->data)[0] : -1, gr = gt ? ((const int32_t *)gt->data)[1] : -1;
	CHECK(v.n_crops ? v.cols == gc && v.rows == gr : gc == 0 && gr == 0,
	      "grid (%d,%d), reference (%d,%d)", v.cols, v.rows, gc, gr);
	check_view("global view", v.global, (size_t)S * S * 3,
		   json_str(json_get(meta, "global_view_u8_sha256"), NULL));
	CHECK(crop_sha && crop_sha->len == (size_t)v.n_crops, "%d crops, reference %zu", v.n_crops,
	      crop_sha ? crop_sha->len : 0);
	for (int t = 0; t < v.n_crops && crop_sha && (size_t)t < crop_sha->len; t++)
		check_view("crop view", v.crops + (size_t)t * T * T * 3, (size_t)T * T * 3,
			   json_str(json_at(crop_sha, t), NULL));
	printf("views: grid %dx%d, %d crops, bytes checked\n", v.cols, v.rows, v.n_crops);

	/* per stage, global view then the first crop */
	float *chw = malloc((size_t)3 * S * S * sizeof *chw);
	float *sam = malloc((size_t)nb * E * sizeof *sam), *flow = malloc((size_t)nb * E * sizeof *flow);
	float *proj = malloc((size_t)nb * H * sizeof *proj);
	int n_emb_ref = v.n_crops * nt + nb + 1;
	const float *emb_ref = golden(g, "image_embeds", (int64_t)n_emb_ref * H);
	for (int pass = 0; pass < (v.n_crops ? 2 : 1); pass++) {
		int side = pass ? T : S, N = pass ? nt : nb;
		const char *tag = pass ? "crop0" : "global";
		const float *sam_ref = pass ? golden(g, "sam_crops", (int64_t)v.n_crops * nt * E)
					    : golden(g, "sam_global", (int64_t)nb * E);
		const float *flow_ref = pass ? golden(g, "flow_crops", (int64_t)v.n_crops * nt * E)
					     : golden(g, "flow_global", (int64_t)nb * E);
		if (!sam_ref || !flow_ref || !emb_ref)
			break;
		char what[64];
		enc_normalize(pass ? v.crops : v.global, side, chw);
		double t0 = ocr2_now();
		CHECK(!enc_sam(m, pool, chw, side, sam), "enc_sam: %s", ocr2_errmsg());
		double t1 = ocr2_now();
		snprintf(what, sizeof what, "sam %s", tag);
		compare(what, sam, sam_ref, (size_t)N * E);
		CHECK(!enc_flow(m, pool, sam_ref, N, flow), "enc_flow: %s", ocr2_errmsg());
		double t2 = ocr2_now();
		snprintf(what, sizeof what, "flow %s", tag);
		compare(what, flow, flow_ref, (size_t)N * E);
		enc_project(m, pool, flow_ref, N, proj);
		snprintf(what, sizeof what, "proj %s", tag);
		compare(what, proj, emb_ref + (size_t)(pass ? 0 : v.n_crops * nt) * H, (size_t)N * H);
		printf("  %s: SAM %.2f s, flow %.2f s\n", tag, t1 - t0, t2 - t1);
		if (!pass)
			check_mask(m, pool, sam_ref, N);
	}

	/* the whole image: [crops..., global, view_seperator]; ENC_TEST_VIEWS_ONLY=1
	 * skips it (a full-size page of 7 views takes minutes on 2 cores) */
	float *emb;
	int n_emb;
	double t0 = ocr2_now();
	if (getenv("ENC_TEST_VIEWS_ONLY") && !strcmp(getenv("ENC_TEST_VIEWS_ONLY"), "1")) {
		printf("image: skipped (ENC_TEST_VIEWS_ONLY=1)\n");
	} else if (enc_image(m, pool, &img, false, &emb, &n_emb)) {
		FAIL("enc_image: %s", ocr2_errmsg());
	} else {
		printf("image: %d embeddings in %.2f s\n", n_emb, ocr2_now() - t0);
		CHECK(n_emb == n_emb_ref, "image: %d embeddings, reference %d", n_emb, n_emb_ref);
		if (n_emb == n_emb_ref)
			compare("image_embeds", emb, emb_ref, (size_t)n_emb * H);
		free(emb);
	}
	check_tables(m, g);
	check_errors(m, pool, w, &c);

	enc_views_free(&v);
	json_free(crop_sha);
	json_free(hdr);
	free(htext);
	free(chw);
	free(sam);
	free(flow);
	free(proj);
	free(img.rgb);
	ocr2_pool_free(pool);
	enc_free(m);
	ocr2_weights_free(g);
	ocr2_weights_free(w);
	return check_done();
}
