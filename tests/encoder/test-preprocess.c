/* test-preprocess.c - the encoder's preprocessing against Pillow (MODEL.md §3):
 * grid choices, synthetic BICUBIC resizes and real rendered pages must be
 * byte-identical to testdata/golden/enc-preprocess.json, which
 * tests/encoder/make-preprocess-golden.py writes with Pillow. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "encoder.h"
#include "testutil.h"
#include "base/fs.h"
#include "base/json.h"
#include "check.h"

static char *slurp(const char *path, size_t *n)
{
	char *text;
	return ocr2_read_file(path, SIZE_MAX, OCR2_ERR_IO, &text, n) == OCR2_OK ? text : NULL;
}

/* The noise image of make-preprocess-golden.py. */
static void noise(uint8_t *p, int w, int h, uint32_t seed)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < 3; c++) {
				uint32_t v = (uint32_t)x * 2654435761u + (uint32_t)y * 40503u +
					     (uint32_t)c * 97u + seed * 1000003u;
				v ^= v >> 13;
				v *= 0x5bd1e995u;
				v ^= v >> 15;
				int b = ((int)(v & 255) - 64) * 2;
				p[((size_t)y * w + x) * 3 + c] = (uint8_t)(b < 0 ? 0 : b > 255 ? 255 : b);
			}
}

/* On a mismatch, keeps the bytes for `make-preprocess-golden.py --diff`. */
static void dump(const char *what, const uint8_t *p, size_t n)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512];
	snprintf(path, sizeof path, "%s/enc-%s.rgb", tmp, what);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
		fprintf(stderr, "  C output kept in %s (compare with make-preprocess-golden.py "
				"--diff %s %s)\n", path, what, path);
	}
}

static void check_hash(const char *what, const uint8_t *p, size_t n, const char *want)
{
	char hex[65];
	tu_sha256_hex(p, n, hex);
	CHECK(!strcmp(hex, want), "%s: sha256 %s, Pillow %s", what, hex, want);
	if (strcmp(hex, want))
		dump(what, p, n);
}

static void test_grids(const json_value *g)
{
	int n = 0;
	for (size_t i = 0; i < g->len; i++) {
		const json_value *e = json_at(g, i), *gr = json_get(e, "grid");
		int w = (int)json_num(json_get(e, "w"), 0, NULL);
		int h = (int)json_num(json_get(e, "h"), 0, NULL);
		int wc = (int)json_num(json_at(gr, 0), 0, NULL), wr = (int)json_num(json_at(gr, 1), 0, NULL);
		int c, r;
		enc_choose_grid(w, h, 768, 2, 6, &c, &r);
		CHECK(c == wc && r == wr, "grid %dx%d: got (%d,%d), official (%d,%d)", w, h, c, r, wc, wr);
		n++;
	}
	printf("grids: %d checked\n", n);
}

static void test_resizes(const json_value *rs)
{
	for (size_t i = 0; i < rs->len; i++) {
		const json_value *e = json_at(rs, i);
		int seed = (int)json_num(json_get(e, "seed"), 0, NULL);
		int sw = (int)json_num(json_get(e, "sw"), 0, NULL), sh = (int)json_num(json_get(e, "sh"), 0, NULL);
		int dw = (int)json_num(json_get(e, "dw"), 0, NULL), dh = (int)json_num(json_get(e, "dh"), 0, NULL);
		uint8_t *src = malloc((size_t)sw * sh * 3), *dst = malloc((size_t)dw * dh * 3);
		noise(src, sw, sh, (uint32_t)seed);
		if (enc_resize_bicubic(src, sw, sh, dst, dw, dh))
			FAIL("resize %dx%d -> %dx%d: %s", sw, sh, dw, dh, ocr2_errmsg());
		char what[64];
		snprintf(what, sizeof what, "resize-%d", seed);
		check_hash(what, dst, (size_t)dw * dh * 3, json_str(json_get(e, "sha256"), ""));
		free(src);
		free(dst);
	}
	printf("resizes: %zu checked\n", rs->len);
}

static ocr2_config views_config(void)
{
	ocr2_config c;
	memset(&c, 0, sizeof c);
	c.base_size = 1024;
	c.tile_size = 768;
	c.min_crops = 2;
	c.max_crops = 6;
	return c;
}

/* Views of an image against one golden entry (grid, global, crops). */
static void check_views(const char *name, const ocr2_image *img, const json_value *e)
{
	ocr2_config c = views_config();
	enc_views v;
	if (enc_make_views(img, &c, false, &v) != OCR2_OK) {
		FAIL("%s: %s", name, ocr2_errmsg());
		return;
	}
	const json_value *g = json_get(e, "grid"), *cr = json_get(e, "crops_sha256");
	int wc = (int)json_num(json_at(g, 0), 0, NULL), wr = (int)json_num(json_at(g, 1), 0, NULL);
	CHECK(v.cols == wc && v.rows == wr, "%s: grid (%d,%d), Pillow (%d,%d)", name, v.cols, v.rows,
	      wc, wr);
	char what[128];
	snprintf(what, sizeof what, "%s-global", name);
	check_hash(what, v.global, (size_t)1024 * 1024 * 3, json_str(json_get(e, "global_sha256"), ""));
	CHECK((size_t)v.n_crops == cr->len, "%s: %d crops, Pillow %zu", name, v.n_crops, cr->len);
	for (int t = 0; t < v.n_crops && (size_t)t < cr->len; t++) {
		snprintf(what, sizeof what, "%s-crop%d", name, t);
		check_hash(what, v.crops + (size_t)t * 768 * 768 * 3, (size_t)768 * 768 * 3,
			   json_str(json_at(cr, t), ""));
	}
	printf("views %s %dx%d grid %dx%d: checked\n", name, img->width, img->height, v.cols,
	       v.rows);
	enc_views_free(&v);
}

static void test_synth_views(const json_value *sv)
{
	for (size_t i = 0; sv && i < sv->len; i++) {
		const json_value *e = json_at(sv, i);
		ocr2_image img = {(int)json_num(json_get(e, "w"), 0, NULL),
				  (int)json_num(json_get(e, "h"), 0, NULL), NULL};
		img.rgb = malloc((size_t)img.width * img.height * 3);
		noise(img.rgb, img.width, img.height, (uint32_t)json_num(json_get(e, "seed"), 0, NULL));
		char name[64];
		snprintf(name, sizeof name, "synth-%dx%d", img.width, img.height);
		check_views(name, &img, e);
		free(img.rgb);
	}
}

/* Shapes Pillow itself refuses (a side of the padded view rounds to 0) or
 * that are degenerate must still give views, never a crash. */
static void test_extremes(void)
{
	static const int sz[][2] = {{5000, 1}, {1, 5000}, {1, 1}, {30000, 2}};
	ocr2_config c = views_config();
	for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		ocr2_image img = {sz[i][0], sz[i][1], NULL};
		img.rgb = calloc((size_t)img.width * img.height, 3);
		enc_views v;
		ocr2_status st = enc_make_views(&img, &c, false, &v);
		CHECK(st == OCR2_OK && v.global, "extreme %dx%d: %s", img.width, img.height,
		      ocr2_errmsg());
		if (st == OCR2_OK)
			/* a black strip kept at >= 1 pixel inside grey; 1x1 fills the view */
			CHECK(v.global[0] == (img.width == img.height ? 0 : 127) &&
			      v.global[(512 * 1024 + 512) * 3] == 0,
			      "extreme %dx%d: unexpected pixels", img.width, img.height);
		enc_views_free(&v);
		free(img.rgb);
	}
	ocr2_image bad = {0, 10, NULL};
	enc_views v;
	CHECK(enc_make_views(&bad, &c, false, &v) != OCR2_OK, "0x10 image accepted");
	printf("extremes: checked\n");
}

/* Renders the page with pdftocairo when the cache does not have it yet. */
static int page_png(const char *cache, const json_value *e, char *png, size_t cap)
{
	const char *name = json_str(json_get(e, "name"), "?");
	snprintf(png, cap, "%s/enc-pages/%s.png", cache, name);
	struct stat st;
	if (stat(png, &st) == 0)
		return 0;
	char pdf[512], cmd[2048];
	snprintf(pdf, sizeof pdf, "%s/bzip2-manual.pdf", cache);
	if (stat(pdf, &st) != 0)
		return -1;
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/enc-pages' && pdftocairo -png -singlefile", cache);
	const json_value *a = json_get(e, "pdftocairo");
	for (size_t i = 0; a && i < a->len; i++) {
		strcat(cmd, " ");
		strcat(cmd, json_str(json_at(a, i), ""));
	}
	snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " '%s' '%s/enc-pages/%s'", pdf,
		 cache, name);
	return system(cmd) == 0 ? 0 : -1;
}

static int test_pages(const json_value *ps, const char *cache)
{
	int done = 0;
	for (size_t i = 0; i < ps->len; i++) {
		const json_value *e = json_at(ps, i);
		const char *name = json_str(json_get(e, "name"), "?");
		char png[1024];
		ocr2_image img;
		if (page_png(cache, e, png, sizeof png) || tu_load_png(png, &img)) {
			fprintf(stderr, "%s: cannot render or read %s (run testdata/fetch.sh)\n",
				name, png);
			continue;
		}
		char hex[65];
		tu_sha256_hex(img.rgb, (size_t)img.width * img.height * 3, hex);
		if (strcmp(hex, json_str(json_get(e, "src_sha256"), ""))) {
			/* A different poppler renders different pixels: the page is
			 * not the one Pillow saw, so nothing can be compared. */
			FAIL("%s: rendered source differs from the golden's (another poppler?); "
			     "regenerate with make-preprocess-golden.py",
			     name);
			free(img.rgb);
			continue;
		}
		check_views(name, &img, e);
		done++;
		free(img.rgb);
	}
	return done;
}

/* The ref helper's vectors (testdata/golden/grids.json, pillow-resize.json,
 * made by testdata/reference/make-goldens.py with Pillow and a restatement of
 * the official grid rule): a second, independent source. */
static void test_ref_vectors(const char *td)
{
	char path[1024];
	size_t n;
	snprintf(path, sizeof path, "%s/golden/grids.json", td);
	char *text = slurp(path, &n);
	json_value *doc = text ? json_parse(text, n, path) : NULL;
	const json_value *gr = json_get(doc, "grids");
	CHECK(gr && gr->len > 0, "%s: missing or empty", path);
	for (size_t i = 0; gr && i < gr->len; i++) {
		const json_value *e = json_at(gr, i);
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = (int)json_num(json_at(e, (size_t)k), -1, NULL);
		int c, r;
		enc_choose_grid(v[0], v[1], 768, 2, 6, &c, &r);
		if (c * r == 1)
			c = r = 0;
		CHECK(c == v[2] && r == v[3], "grids.json %dx%d: got (%d,%d), reference (%d,%d)", v[0],
		      v[1], c, r, v[2], v[3]);
	}
	printf("grids.json: %zu checked\n", gr ? gr->len : 0);
	json_free(doc);
	free(text);

	snprintf(path, sizeof path, "%s/golden/pillow-resize.json", td);
	text = slurp(path, &n);
	doc = text ? json_parse(text, n, path) : NULL;
	const json_value *vs = json_get(doc, "vectors");
	CHECK(vs && vs->len > 0, "%s: missing or empty", path);
	for (size_t i = 0; vs && i < vs->len; i++) {
		const json_value *e = json_at(vs, i);
		const char *in = json_str(json_get(e, "input"), "");
		const char *op = json_str(json_get(e, "op"), NULL);
		int w = (int)json_num(json_get(e, "width"), 0, NULL), h = (int)json_num(json_get(e, "height"), 0, NULL);
		char ipath[1024], what[160];
		ocr2_image img;
		snprintf(ipath, sizeof ipath, "%s/%s", td, in);
		if (tu_load_png(ipath, &img)) {
			FAIL("%s: cannot read", ipath);
			continue;
		}
		uint8_t *out = malloc((size_t)w * h * 3);
		ocr2_status st = op && !strcmp(op, "pad1024") ? enc_pad_view(&img, 1024, out)
							      : enc_resize_bicubic(img.rgb, img.width, img.height, out, w, h);
		CHECK(st == OCR2_OK && (!op || !strcmp(op, "pad1024")), "%s %s: %s", in, op ? op : "",
		      ocr2_errmsg());
		snprintf(what, sizeof what, "ref-%zu", i);
		check_hash(what, out, (size_t)w * h * 3, json_str(json_get(e, "sha256"), ""));
		free(out);
		free(img.rgb);
	}
	printf("pillow-resize.json: %zu checked\n", vs ? vs->len : 0);
	json_free(doc);
	free(text);
}

int main(void)
{
	const char *td = getenv("TESTDATA"), *cache = getenv("TESTCACHE");
	if (!td || !cache) {
		fprintf(stderr, "TESTDATA and TESTCACHE must be set\n");
		return 1;
	}
	char path[1024];
	snprintf(path, sizeof path, "%s/golden/enc-preprocess.json", td);
	size_t n;
	char *text = slurp(path, &n);
	json_value *doc = text ? json_parse(text, n, path) : NULL;
	if (!doc) {
		fprintf(stderr, "%s: cannot read (%s)\n", path, ocr2_errmsg());
		return 1;
	}
	test_grids(json_get(doc, "grids"));
	test_resizes(json_get(doc, "resizes"));
	test_synth_views(json_get(doc, "synth_views"));
	test_extremes();
	test_ref_vectors(td);
	int pages = test_pages(json_get(doc, "pages"), cache);
	/* normalisation: 0 -> -1, 255 -> 1, 127 -> 127/255*2-1 in f32 */
	uint8_t px[3] = {0, 255, 127};
	float f[3];
	enc_normalize(px, 1, f);
	CHECK(f[0] == -1.0f && f[1] == 1.0f && f[2] == (127.0f / 255.0f - 0.5f) / 0.5f,
	      "normalize: %g %g %g", f[0], f[1], f[2]);
	json_free(doc);
	free(text);
	if (!check_failures && !pages)
		return check_skip("no page could be rendered: skipped (run testdata/fetch.sh)");
	return check_done();
}
