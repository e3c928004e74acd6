/* test-weights.c - the safetensors loader and config.json parser against the
 * fixtures of make-fixtures.py (values from Python's IEEE conversions) and
 * hostile inputs that must each fail with OCR2_ERR_MODEL naming the file.
 *
 * usage: test-weights FIXDIR PUBLISHED_CONFIG */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"

static const char *fixdir;

static char *fx(const char *name)
{
	static char buf[8][4096];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, sizeof buf[0], "%s/%s", fixdir, name);
	return b;
}

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* expected.txt: "<file-or-dir> <tensor> <f32 bits in hex>..." */
static void test_values(void)
{
	FILE *fp = fopen(fx("expected.txt"), "r");
	CHECK(fp != NULL, "cannot open expected.txt");
	if (!fp)
		return;
	char line[4096];
	int n_lines = 0;
	while (fgets(line, sizeof line, fp)) {
		char *src = strtok(line, " \n");
		char *name = strtok(NULL, " \n");
		if (!src || !name)
			continue;
		n_lines++;
		ocr2_weights *w = NULL;
		ocr2_status st = strstr(src, ".safetensors") ? ocr2_weights_load_file(fx(src), &w)
							     : ocr2_weights_load(fx(src), &w);
		CHECK(st == OCR2_OK, "%s: load failed: %s", src, ocr2_errmsg());
		const ocr2_tensor *t = ocr2_weights_get(w, name);
		CHECK(t != NULL, "%s: %s not found", src, name);
		if (!t) {
			ocr2_weights_free(w);
			continue;
		}
		CHECK((uintptr_t)t->data % ocr2_dtype_size(t->dtype) == 0, "%s: %s misaligned", src,
		      name);
		int64_t i = 0;
		for (char *h; (h = strtok(NULL, " \n")); i++) {
			uint32_t want = (uint32_t)strtoul(h, NULL, 16);
			if (i >= t->nelem) {
				FAIL("%s: %s has only %lld elements", src, name,
				     (long long)t->nelem);
				break;
			}
			uint32_t got = bits(ocr2_tensor_f32(t, i));
			CHECK(got == want, "%s: %s[%lld] = %08x, want %08x", src, name,
			      (long long)i, got, want);
		}
		CHECK(i == t->nelem, "%s: %s: %lld values expected, tensor has %lld", src, name,
		      (long long)i, (long long)t->nelem);
		ocr2_weights_free(w);
	}
	fclose(fp);
	CHECK(n_lines >= 12, "expected.txt has %d lines", n_lines);
}

static void test_valid(void)
{
	ocr2_weights *w = NULL;
	ocr2_status st = ocr2_weights_load_file(fx("valid.safetensors"), &w);
	CHECK(st == OCR2_OK, "valid: %s", ocr2_errmsg());
	if (st)
		return;
	/* the generator's VALID list: 8 tensors, 24+8+8+12+16+4+0+8 bytes */
	CHECK(ocr2_weights_count(w) == 8, "count %d", ocr2_weights_count(w));
	CHECK(ocr2_weights_bytes(w) == 80, "bytes %llu", (unsigned long long)ocr2_weights_bytes(w));
	/* safetensors does not pad between tensors: e.i64 starts at byte 52 */
	CHECK(ocr2_weights_copied(w) == 1, "copied %d", ocr2_weights_copied(w));
	CHECK(ocr2_weights_nfiles(w) == 1, "nfiles");
	/* sorted by name */
	for (int i = 1; i < ocr2_weights_count(w); i++)
		CHECK(strcmp(ocr2_weights_at(w, i - 1)->name, ocr2_weights_at(w, i)->name) < 0,
		      "not sorted at %d", i);
	CHECK(ocr2_weights_at(w, 8) == NULL && ocr2_weights_at(w, -1) == NULL, "at bounds");
	CHECK(ocr2_weights_get(w, "nope") == NULL, "get nope");

	const ocr2_tensor *t;
	st = ocr2_weights_expect(w, &t, "a.f32", 2, 3, -1);
	CHECK(st == OCR2_OK && t && t->dtype == OCR2_DT_F32 && t->nelem == 6, "expect a.f32: %s",
	      ocr2_errmsg());
	st = ocr2_weights_expect(w, &t, "h.4d", 1, 2, 1, 2, -1);
	CHECK(st == OCR2_OK && t->ndim == 4 && t->dtype == OCR2_DT_BF16, "expect h.4d: %s",
	      ocr2_errmsg());
	st = ocr2_weights_expect(w, &t, "f.scalar", -1);
	CHECK(st == OCR2_OK && t->ndim == 0 && t->nelem == 1, "expect scalar: %s", ocr2_errmsg());
	st = ocr2_weights_expect(w, &t, "g.empty", 0, 5, -1);
	CHECK(st == OCR2_OK && t->nelem == 0 && t->nbytes == 0, "expect empty: %s", ocr2_errmsg());

	st = ocr2_weights_expect(w, &t, "a.f32", 3, 2, -1);
	CHECK(st == OCR2_ERR_MODEL && t == NULL &&
		      strstr(ocr2_errmsg(), "valid.safetensors: tensor a.f32 has shape [2,3], "
					    "expected [3,2]"),
	      "wrong shape message: %s", ocr2_errmsg());
	st = ocr2_weights_expect(w, &t, "a.f32", 6, -1);
	CHECK(st == OCR2_ERR_MODEL && strstr(ocr2_errmsg(), "has shape [2,3], expected [6]"),
	      "wrong ndim message: %s", ocr2_errmsg());
	st = ocr2_weights_expect(w, &t, "zz", 1, -1);
	CHECK(st == OCR2_ERR_MODEL && strstr(ocr2_errmsg(), "valid.safetensors: missing tensor zz"),
	      "missing message: %s", ocr2_errmsg());
	st = ocr2_weights_expect(w, &t, "d.i32", 3, -1);
	CHECK(st == OCR2_ERR_MODEL &&
		      strstr(ocr2_errmsg(), "tensor d.i32 has dtype I32, expected a float type"),
	      "dtype message: %s", ocr2_errmsg());
	ocr2_weights_free(w);

	/* misaligned data is copied into aligned buffers */
	st = ocr2_weights_load_file(fx("misaligned.safetensors"), &w);
	CHECK(st == OCR2_OK && ocr2_weights_copied(w) == 2, "misaligned: %s copied %d",
	      ocr2_errmsg(), ocr2_weights_copied(w));
	ocr2_weights_free(w);

	/* Q8_0 binds its scales: element i = q[i] * scale[i / 32] */
	st = ocr2_weights_load_file(fx("q8.safetensors"), &w);
	CHECK(st == OCR2_OK, "q8: %s", ocr2_errmsg());
	if (st == OCR2_OK) {
		t = ocr2_weights_get(w, "q.weight");
		CHECK(t && t->dtype == OCR2_DT_Q8 && t->scales && t->scales[0] == 0.5f &&
			      t->scales[1] == 2.0f,
		      "q8 scales");
		if (t && t->scales) {
			CHECK(ocr2_tensor_f32(t, 0) == -16.0f, "q8[0] = %g", ocr2_tensor_f32(t, 0));
			CHECK(ocr2_tensor_f32(t, 40) == 16.0f, "q8[40] = %g",
			      ocr2_tensor_f32(t, 40));
		}
		CHECK(ocr2_weights_expect(w, NULL, "q.weight", 2, 32, -1) == OCR2_OK,
		      "q8 is a float type");
	}
	ocr2_weights_free(w);

	/* the same with F16 scales, what ocr2 model quantize writes */
	st = ocr2_weights_load_file(fx("q8-f16.safetensors"), &w);
	CHECK(st == OCR2_OK, "q8 f16: %s", ocr2_errmsg());
	if (st == OCR2_OK) {
		t = ocr2_weights_get(w, "q.weight");
		CHECK(t && t->dtype == OCR2_DT_Q8 && !t->scales && t->scales_h &&
			      ocr2_q8_scale(t, 0) == 0.5f && ocr2_q8_scale(t, 1) == 2.0f,
		      "q8 f16 scales");
		if (t && t->scales_h)
			CHECK(ocr2_tensor_f32(t, 0) == -16.0f && ocr2_tensor_f32(t, 40) == 16.0f,
			      "q8 f16 values %g %g", ocr2_tensor_f32(t, 0), ocr2_tensor_f32(t, 40));
	}
	ocr2_weights_free(w);

	/* the directory loaders: with an index, and by listing */
	st = ocr2_weights_load(fx("sharded"), &w);
	CHECK(st == OCR2_OK && ocr2_weights_count(w) == 3 && ocr2_weights_nfiles(w) == 2,
	      "sharded: %s", ocr2_errmsg());
	ocr2_weights_free(w);
	st = ocr2_weights_load(fx("noindex"), &w);
	CHECK(st == OCR2_OK && ocr2_weights_count(w) == 3 && ocr2_weights_nfiles(w) == 2,
	      "noindex: %s", ocr2_errmsg());
	ocr2_weights_free(w);
	ocr2_weights_free(NULL);
}

/* Each hostile file: OCR2_ERR_MODEL, a one-line message naming the file and
 * saying what is wrong. */
static const struct {
	const char *file, *says;
} hostile[] = {
	{"bad-truncated-data.safetensors", "outside the data section"},
	{"bad-truncated-header.safetensors", "exceeds the file size"},
	{"bad-short.safetensors", "truncated"},
	{"bad-empty.safetensors", "truncated"},
	{"bad-hlen-too-big.safetensors", "exceeds the file size"},
	{"bad-hlen-huge.safetensors", "absurd"},
	{"bad-hlen-200mb.safetensors", "absurd"},
	{"bad-offsets-outside.safetensors", "tensor a.f32: data_offsets [1000, 1024] outside"},
	{"bad-offsets-reversed.safetensors", "tensor a.f32: data_offsets [24, 0]"},
	{"bad-offsets-negative.safetensors", "tensor a.f32: missing or bad data_offsets"},
	{"bad-offsets-float.safetensors", "tensor a.f32: missing or bad data_offsets"},
	{"bad-offsets-huge.safetensors", "tensor a.f32: missing or bad data_offsets"},
	{"bad-offsets-missing.safetensors", "tensor a.f32: missing or bad data_offsets"},
	{"bad-overlap.safetensors", "overlaps"},
	{"bad-size-mismatch.safetensors", "tensor a.f32: data_offsets span 24 bytes, but F32 shape needs 16"},
	{"bad-shape-overflow.safetensors", "tensor a.f32: element count overflows"},
	{"bad-shape-negative.safetensors", "tensor a.f32: shape entry 0"},
	{"bad-shape-string.safetensors", "tensor a.f32: missing or bad shape"},
	{"bad-dtype-unknown.safetensors", "tensor a.f32: unsupported dtype F8_E4M3"},
	{"bad-dtype-missing.safetensors", "tensor a.f32: missing dtype"},
	{"bad-ndim5.safetensors", "tensor h.4d: 5 dimensions"},
	{"bad-entry-not-object.safetensors", "tensor a.f32: entry is not an object"},
	{"bad-header-array.safetensors", "not a JSON object"},
	{"bad-bad-json.safetensors", "invalid JSON"},
	{"bad-nul-header.safetensors", "invalid JSON"},
	{"bad-q8-no-scale.safetensors", "Q8_0 without its scales"},
	{"bad-q8-bad-scale.safetensors", "q.weight.q8scale: scales must be F16 or F32"},
	{"bad-q8-odd-count.safetensors", "not a multiple of 32"},
	{"bad-q8-odd-rows.safetensors", "Q8_0 rows are not a multiple of 32"},
	{"bad-no-tensors.safetensors", "no tensors"},
};

static void expect_fail(ocr2_status st, ocr2_weights *w, const char *name, const char *says)
{
	const char *m = ocr2_errmsg();
	CHECK(st == OCR2_ERR_MODEL && w == NULL, "%s: status %d (%s)", name, st, m);
	CHECK(strstr(m, name) != NULL, "%s: message does not name it: %s", name, m);
	CHECK(strstr(m, says) != NULL, "%s: message lacks \"%s\": %s", name, says, m);
	CHECK(strchr(m, '\n') == NULL, "%s: multi-line message", name);
}

static void test_hostile(void)
{
	int n = (int)(sizeof hostile / sizeof hostile[0]);
	FILE *fp = fopen(fx("hostile.txt"), "r");
	int listed = 0;
	char line[512];
	while (fp && fgets(line, sizeof line, fp)) {
		line[strcspn(line, "\n")] = 0;
		bool found = false;
		for (int i = 0; i < n; i++)
			found |= !strcmp(line, hostile[i].file);
		CHECK(found, "%s has no expectation in test-weights.c", line);
		listed++;
	}
	if (fp)
		fclose(fp);
	CHECK(listed == n, "hostile.txt lists %d files, the test knows %d", listed, n);
	for (int i = 0; i < n; i++) {
		ocr2_weights *w = (ocr2_weights *)1;
		ocr2_status st = ocr2_weights_load_file(fx(hostile[i].file), &w);
		expect_fail(st, w, hostile[i].file, hostile[i].says);
	}

	static const struct {
		const char *dir, *names, *says;
	} dirs[] = {
		{"index-missing-shard", "model.safetensors.index.json",
		 "tensor w.weight: shard model-00003-of-00003.safetensors is missing"},
		{"index-absent-tensor", "model.safetensors.index.json",
		 "tensor w.weight listed in the index is not in model-00002-of-00002.safetensors"},
		{"index-wrong-shard", "model.safetensors.index.json",
		 "tensor z.weight listed in the index is not in model-00001-of-00002.safetensors"},
		{"index-traversal", "model.safetensors.index.json", "bad shard file name"},
		{"index-badjson", "model.safetensors.index.json", "invalid JSON"},
		{"duplicate", "duplicate", "tensor x.weight appears twice"},
		{"empty-dir", "empty-dir", "no *.safetensors files"},
		{"does-not-exist", "does-not-exist", "cannot open model directory"},
		{"valid.safetensors", "valid.safetensors", "not a directory"},
	};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		ocr2_weights *w = (ocr2_weights *)1;
		ocr2_status st = ocr2_weights_load(fx(dirs[i].dir), &w);
		expect_fail(st, w, dirs[i].names, dirs[i].says);
	}
	ocr2_weights *w = (ocr2_weights *)1;
	ocr2_status st = ocr2_weights_load_file(fx("no-such.safetensors"), &w);
	expect_fail(st, w, "no-such.safetensors", "cannot open");
}

static void test_published_config(const char *path)
{
	ocr2_config c;
	memset(&c, 0xAB, sizeof c);
	ocr2_status st = ocr2_config_load(path, &c);
	CHECK(st == OCR2_OK, "published config: %s", ocr2_errmsg());
	if (st)
		return;
	/* MODEL.md §1.1-§1.3 */
	CHECK(c.hidden == 1280 && c.n_layers == 12 && c.n_heads == 10 && c.n_kv_heads == 10 &&
		      c.head_dim == 128,
	      "LM attention dims");
	CHECK(c.intermediate == 6848 && c.moe_intermediate == 896 && c.n_experts == 64 &&
		      c.n_experts_per_tok == 6 && c.n_shared_experts == 2 && c.first_k_dense == 1,
	      "LM FFN dims");
	CHECK(c.vocab == 129280 && c.max_pos == 8192 && c.bos_id == 0 && c.eos_id == 1 &&
		      c.image_token_id == 128815,
	      "LM vocab/ids");
	CHECK(c.rope_theta == 10000.0f && c.rms_eps == 1e-6f && !c.norm_topk_prob &&
		      c.routed_scaling == 1.0f,
	      "LM defaults");
	CHECK(c.sam_width == 768 && c.sam_layers == 12 && c.sam_heads == 12 && c.sam_mlp == 3072 &&
		      c.sam_window == 14 && c.sam_neck == 256 && c.sam_net2 == 512,
	      "SAM dims");
	CHECK(c.sam_n_global == 4 && c.sam_global[0] == 2 && c.sam_global[1] == 5 &&
		      c.sam_global[2] == 8 && c.sam_global[3] == 11,
	      "SAM global blocks");
	CHECK(c.enc_hidden == 896 && c.enc_layers == 24 && c.enc_heads == 14 &&
		      c.enc_kv_heads == 2 && c.enc_intermediate == 4864 &&
		      c.enc_rope_theta == 1e6f && c.enc_rms_eps == 1e-6f,
	      "flow encoder dims");
	CHECK(c.patch == 16 && c.base_size == 1024 && c.tile_size == 768 && c.min_crops == 2 &&
		      c.max_crops == 6,
	      "fixed sizes");
	ocr2_config d;
	ocr2_config_default(&d);
	CHECK(!memcmp(&c, &d, sizeof c), "published config differs from ocr2_config_default");
}

static const char *TINY =
	"{\"language_config\": {\"hidden_size\": 64, \"num_hidden_layers\": 2,"
	" \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"intermediate_size\": 96,"
	" \"moe_intermediate_size\": 32, \"n_routed_experts\": 8, \"num_experts_per_tok\": 2,"
	" \"n_shared_experts\": 1, \"first_k_dense_replace\": 1, \"vocab_size\": 1000,"
	" \"image_token_id\": 999, \"rope_theta\": 500.5, \"norm_topk_prob\": true},"
	" \"hidden_size\": 64,"
	" \"vision_config\": {\"width\": {\"qwen2-0-5b\": {\"dim\": 32, \"layers\": 2,"
	" \"heads\": 4, \"kv_heads\": 1, \"intermediate_size\": 48, \"rope_theta\": 100},"
	" \"sam_vit_b\": {\"width\": 16, \"layers\": 3, \"heads\": 2, \"mlp_dim\": 24,"
	" \"window_size\": 7, \"neck_channels\": 8, \"global_attn_indexes\": [1],"
	" \"downsample_channels\": [12, 1024]}}}}";

static void test_tiny_config(void)
{
	ocr2_config c;
	ocr2_status st = ocr2_config_parse(TINY, strlen(TINY), "tiny.json", &c);
	CHECK(st == OCR2_OK, "tiny: %s", ocr2_errmsg());
	if (st)
		return;
	CHECK(c.hidden == 64 && c.n_layers == 2 && c.n_heads == 4 && c.n_kv_heads == 2 &&
		      c.head_dim == 16 && c.intermediate == 96 && c.moe_intermediate == 32 &&
		      c.n_experts == 8 && c.n_experts_per_tok == 2 && c.n_shared_experts == 1 &&
		      c.vocab == 1000 && c.image_token_id == 999 && c.rope_theta == 500.5f &&
		      c.norm_topk_prob,
	      "tiny LM (language_config fallback)");
	CHECK(c.enc_hidden == 32 && c.enc_layers == 2 && c.enc_heads == 4 && c.enc_kv_heads == 1 &&
		      c.enc_intermediate == 48 && c.enc_rope_theta == 100.0f,
	      "tiny encoder");
	CHECK(c.sam_width == 16 && c.sam_layers == 3 && c.sam_heads == 2 && c.sam_mlp == 24 &&
		      c.sam_window == 7 && c.sam_neck == 8 && c.sam_n_global == 1 &&
		      c.sam_global[0] == 1 && c.sam_net2 == 12,
	      "tiny SAM");
}

/* Each bad config: OCR2_ERR_MODEL naming the field. */
static void test_bad_configs(void)
{
	static const struct {
		const char *json, *says;
	} bad[] = {
		{"{\"hidden_size\": 0}", "hidden_size"},
		{"{\"hidden_size\": -1280}", "hidden_size"},
		{"{\"hidden_size\": 1280.5}", "hidden_size"},
		{"{\"hidden_size\": \"1280\"}", "hidden_size"},
		{"{\"hidden_size\": 131072, \"num_attention_heads\": 1}", "hidden_size"},
		{"{\"hidden_size\": 1e300}", "hidden_size"},
		{"{\"num_hidden_layers\": 2000}", "num_hidden_layers"},
		{"{\"vocab_size\": 16777217}", "vocab_size"},
		{"{\"n_routed_experts\": 5000}", "n_routed_experts"},
		{"{\"num_experts_per_tok\": 65}", "num_experts_per_tok exceeds n_routed_experts"},
		{"{\"num_attention_heads\": 3}", "num_attention_heads does not divide hidden_size"},
		{"{\"num_key_value_heads\": 3}", "num_key_value_heads does not divide"},
		{"{\"num_attention_heads\": 256}", "odd head dimension"},
		{"{\"num_attention_heads\": 2, \"num_key_value_heads\": 2}", "head dimension above 512"},
		{"{\"vision_config\": {\"width\": {\"qwen2-0-5b\": {\"heads\": 1, \"kv_heads\": 1}}}}",
		 "heads gives a head dimension above 512"},
		{"{\"first_k_dense_replace\": 13}", "first_k_dense_replace exceeds"},
		{"{\"eos_token_id\": 129280}", "eos_token_id is not below vocab_size"},
		{"{\"image_token_id\": 200000}", "image_token_id is not below vocab_size"},
		{"{\"rope_theta\": 0}", "rope_theta"},
		{"{\"rms_norm_eps\": -1}", "rms_norm_eps"},
		{"{\"norm_topk_prob\": 1}", "norm_topk_prob"},
		{"{\"use_mla\": true}", "use_mla"},
		{"{\"rope_scaling\": {\"type\": \"yarn\"}}", "rope_scaling"},
		{"{\"topk_method\": \"noaux_tc\"}", "topk_method"},
		{"{\"scoring_func\": \"sigmoid\"}", "scoring_func"},
		{"{\"hidden_size\": 65536, \"num_attention_heads\": 512, \"num_key_value_heads\": 512,"
		 " \"vocab_size\": 1000000}",
		 "vocab_size x hidden_size"},
		{"{\"vision_config\": {\"image_size\": 768}}", "vision_config.image_size"},
		{"{\"vision_config\": {\"width\": {\"sam_vit_b\": {\"heads\": 5}}}}",
		 "vision_config.width.sam_vit_b.heads does not divide width"},
		{"{\"vision_config\": {\"width\": {\"sam_vit_b\": {\"global_attn_indexes\": [2, 12]}}}}",
		 "vision_config.width.sam_vit_b.global_attn_indexes"},
		{"{\"vision_config\": {\"width\": {\"sam_vit_b\": {\"global_attn_indexes\": [5, 2]}}}}",
		 "vision_config.width.sam_vit_b.global_attn_indexes"},
		{"{\"vision_config\": {\"width\": {\"sam_vit_b\": {\"layers\": 4}}}}",
		 "vision_config.width.sam_vit_b.global_attn_indexes"},
		{"{\"vision_config\": {\"width\": {\"sam_vit_b\": {\"downsample_channels\": []}}}}",
		 "vision_config.width.sam_vit_b.downsample_channels"},
		{"{\"vision_config\": {\"width\": {\"sam_vit_b\": {\"window_size\": 0}}}}",
		 "vision_config.width.sam_vit_b.window_size"},
		{"{\"vision_config\": {\"width\": {\"sam_vit_b\": {\"width\": 4096, \"heads\": 1,"
		 " \"mlp_dim\": 1048576}}}}",
		 "vision_config.width.sam_vit_b.mlp_dim x width"},
		{"{\"vision_config\": {\"width\": {\"qwen2-0-5b\": {\"dim\": 900}}}}",
		 "vision_config.width.qwen2-0-5b.heads does not divide dim"},
		{"{\"vision_config\": {\"width\": {\"qwen2-0-5b\": {\"kv_heads\": 3}}}}",
		 "vision_config.width.qwen2-0-5b.kv_heads does not divide heads"},
		{"{\"vision_config\": {\"width\": {\"qwen2-0-5b\": {\"layers\": 0}}}}",
		 "vision_config.width.qwen2-0-5b.layers"},
		{"{\"vision_config\": {\"width\": {\"qwen2-0-5b\": 896}}}", "qwen2-0-5b"},
		{"{\"vision_config\": 3}", "vision_config"},
		{"{\"language_config\": []}", "language_config"},
		{"{\"language_config\": {\"hidden_size\": 0}}", "hidden_size"},
		{"[1, 2]", "not a JSON object"},
		{"{\"hidden_size\": ", "invalid JSON"},
		{"", "invalid JSON"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ocr2_config c;
		ocr2_status st = ocr2_config_parse(bad[i].json, strlen(bad[i].json), "cfg.json", &c);
		const char *m = ocr2_errmsg();
		CHECK(st == OCR2_ERR_MODEL && !strncmp(m, "cfg.json: ", 10) &&
			      strstr(m, bad[i].says) != NULL,
		      "config %s: status %d, message \"%s\" (want \"%s\")", bad[i].json, st, m,
		      bad[i].says);
	}
	ocr2_config c;
	ocr2_status st = ocr2_config_load(fx("no-such-config.json"), &c);
	CHECK(st == OCR2_ERR_MODEL && strstr(ocr2_errmsg(), "no-such-config.json: cannot open"),
	      "missing config: %s", ocr2_errmsg());
	/* top level wins over language_config */
	const char *both = "{\"hidden_size\": 640, \"language_config\": {\"hidden_size\": 1280,"
			   " \"vocab_size\": 500, \"image_token_id\": 499}}";
	st = ocr2_config_parse(both, strlen(both), "both.json", &c);
	CHECK(st == OCR2_OK && c.hidden == 640 && c.head_dim == 64 && c.vocab == 500 &&
		      c.image_token_id == 499,
	      "top level over language_config: %s", ocr2_errmsg());
}

/* The architecture check walks SAM first and names the first missing tensor. */
static void test_model_check(void)
{
	ocr2_weights *w = NULL;
	ocr2_config c;
	ocr2_config_default(&c);
	ocr2_status st = ocr2_weights_load_file(fx("valid.safetensors"), &w);
	CHECK(st == OCR2_OK, "valid: %s", ocr2_errmsg());
	st = ocr2_model_check_tensors(w, &c, "DIR");
	CHECK(st == OCR2_ERR_MODEL &&
		      strstr(ocr2_errmsg(), "DIR: ") == ocr2_errmsg() &&
		      strstr(ocr2_errmsg(), "missing tensor model.sam_model.patch_embed.proj.weight"),
	      "model check: %s", ocr2_errmsg());
	CHECK(ocr2_weights_check_finite(w, "DIR") == OCR2_OK, "finite: %s", ocr2_errmsg());
	ocr2_weights_free(w);
}

/* /proc/buddyinfo: free blocks of 2 MiB (order 9 of 4 KiB pages) and up,
 * every zone counted; text that is not a zone line, or a zone line cut short,
 * counts what it has; no zone line at all is "unknown". */
static int64_t buddy(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int64_t n = ocr2_buddy_huge_bytes(f, 4096);
	fclose(f);
	return n;
}

static void test_buddyinfo(void)
{
	const int64_t M2 = 2 << 20;
	int64_t n = buddy("Node 0, zone      DMA      0      0      0      0      0      0      0      "
			  "0      1      1      3 \n"
			  "Node 0, zone    DMA32    129    135     73     10     11      6      7      "
			  "9      9      8    745 \n"
			  "Node 0, zone   Normal  35873  15756   3117   1483    512    197     82    "
			  "212   1090     31   2577 \n");
	CHECK(n == (1 + 8 + 31) * M2 + (3 + 745 + 2577) * 2 * M2, "buddy %lld",
	      (long long)n);
	CHECK(buddy("Node 0, zone Normal 5 5 5 5 5 5 5 5 5\n") == 0, "only small blocks");
	CHECK(buddy("Node 0, zone Normal 0 0 0 0 0 0 0 0 0 2 x 7\n") == 2 * M2, "cut short");
	CHECK(buddy("") == -1 && buddy("garbage\n\n") == -1, "no zone line");
	CHECK(buddy("Node 0, zone Normal 1 1 1 1 1 1 1 1 1 -4\n") == 0, "negative count");
	/* 16 KiB pages: order 7 is 2 MiB */
	FILE *f = fmemopen((void *)"Node 0, zone Normal 0 0 0 0 0 0 0 3\n", 36, "r");
	CHECK(ocr2_buddy_huge_bytes(f, 16384) == 3 * M2, "16 KiB pages");
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test-weights FIXDIR PUBLISHED_CONFIG\n");
		return 2;
	}
	fixdir = argv[1];
	test_values();
	test_valid();
	test_hostile();
	test_published_config(argv[2]);
	test_tiny_config();
	test_bad_configs();
	test_model_check();
	test_buddyinfo();
	return check_done();
}
