/* quantize.c - writes an 8-bit copy of a model directory: the language
 * model's large matrices become Q8_0 (int8, one scale per 32 weights of a row,
 * stored as NAME.q8scale: F16, or F32 where a scale falls outside f16's
 * normal range); everything else is copied as stored. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "model/model.h"

#define Q8_BLOCK 32

/* Only the decoder's matrices that decoding streams per token: attention,
 * dense/shared/routed experts and lm_head. The router (mlp.gate.weight) stays
 * exact because a flipped expert choice changes everything downstream; the
 * encoder is compute-bound and keeps its precision. */
static bool wants_q8(const ocr2_tensor *t)
{
	const char *n = t->name;
	if (t->ndim != 2 || t->shape[1] % Q8_BLOCK != 0)
		return false;
	if (t->dtype != OCR2_DT_BF16 && t->dtype != OCR2_DT_F32 && t->dtype != OCR2_DT_F16)
		return false;
	if (!strcmp(n, "lm_head.weight"))
		return true;
	if (strncmp(n, "model.layers.", 13) != 0)
		return false;
	size_t len = strlen(n);
	static const char *tails[] = {"q_proj.weight", "k_proj.weight", "v_proj.weight",
				      "o_proj.weight", "gate_proj.weight", "up_proj.weight",
				      "down_proj.weight"};
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		size_t tl = strlen(tails[i]);
		if (len > tl && !strcmp(n + len - tl, tails[i]))
			return true;
	}
	return false;
}

static float block_max(const float *w)
{
	float mx = 0;
	for (int i = 0; i < Q8_BLOCK; i++)
		mx = fmaxf(mx, fabsf(w[i]));
	return mx;
}

static void q8_with(const float *w, int8_t *q, float s)
{
	float inv = s > 0 ? 1.f / s : 0.f;
	for (int i = 0; i < Q8_BLOCK; i++) {
		float v = roundf(w[i] * inv);
		q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
	}
}

/* Quantizes one row-block: scale = max|w| / 127, q = round(w / scale). */
void ocr2_q8_block(const float *w, int8_t *q, float *scale)
{
	*scale = block_max(w) / 127.f;
	q8_with(w, q, *scale);
}

/* The same with the scale stored as f16: q is computed against the rounded
 * scale (a relative change of at most 2^-11, within the clamp at 127). */
void ocr2_q8_block_h(const float *w, int8_t *q, uint16_t *scale)
{
	*scale = ocr2_f32_to_f16(block_max(w) / 127.f);
	q8_with(w, q, ocr2_f16_to_f32(*scale));
}

/* F16 scales halve their share of the bytes (1/16 of the int8 data instead
 * of 1/8), so decoding reads 6 % less. Used when every block's scale is 0 or
 * an f16 normal number (2^-14 to 65504), where f16 keeps 11 bits of it;
 * otherwise the tensor keeps F32 scales. */
static bool f16_scales_fit(const ocr2_tensor *t, float *row)
{
	int64_t rows = t->shape[0], k = t->shape[1];
	for (int64_t r = 0; r < rows; r++) {
		ocr2_tensor_rows_f32(t, r, r + 1, row);
		for (int64_t b = 0; b < k / Q8_BLOCK; b++) {
			float s = block_max(row + b * Q8_BLOCK) / 127.f;
			if (s != 0 && !(s >= 0x1p-14f && s <= 65504.f))
				return false;
		}
	}
	return true;
}

typedef struct {
	const ocr2_tensor *src;
	char *name;
	const char *dtype;
	int ndim;
	int64_t shape[4];
	uint64_t begin, end;
	int part; /* 0 = copy, 1 = q8 data, 2 = q8 scales */
	bool half; /* parts 1 and 2: F16 scales */
} out_tensor;

static int cmp_out(const void *a, const void *b)
{
	return strcmp(((const out_tensor *)a)->name, ((const out_tensor *)b)->name);
}

/* The temporary that could not be created, named as before the shared
 * atomic output existed. */
static ocr2_status open_failed(const char *final)
{
	int e = errno;
	char *t = ocr2_atomic_tmp_path(final);
	ocr2_status st = ocr2_fail(OCR2_ERR_IO, "%s: %s", t ? t : final, strerror(e));
	free(t);
	return st;
}

/* src copied to dst as it is, atomically. */
static ocr2_status copy_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb");
	if (!in)
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", src, strerror(errno));
	ocr2_atomic out;
	if (ocr2_atomic_open(&out, dst, OCR2_ATOMIC_ALONE) != 0) {
		fclose(in);
		return open_failed(dst);
	}
	char buf[1 << 16];
	size_t n;
	bool ok = true;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out.f) != n) {
			ok = false;
			break;
		}
	ok = ok && !ferror(in);
	fclose(in);
	if (ocr2_atomic_sync(&out) != 0)
		ok = false;
	if (!ok) {
		ocr2_status st = ocr2_fail(OCR2_ERR_IO, "%s: write failed: %s", out.tmp,
					   strerror(errno));
		ocr2_atomic_abort(&out);
		return st;
	}
	if (ocr2_atomic_commit(&out) != 0)
		return ocr2_fail(OCR2_ERR_IO, "%s: %s", dst, strerror(errno));
	return OCR2_OK;
}

static bool write_all(FILE *f, const void *p, size_t n)
{
	return fwrite(p, 1, n, f) == n;
}

ocr2_status ocr2_model_quantize(const char *src_dir, const char *dst_dir,
				void (*progress)(void *user, int done, int total), void *user)
{
	ocr2_weights *w = NULL;
	ocr2_status st = ocr2_weights_load(src_dir, &w);
	if (st)
		return st;
	int n = ocr2_weights_count(w);
	out_tensor *ot = calloc((size_t)n * 2, sizeof *ot);
	char *header = NULL, *final_path = NULL;
	ocr2_atomic out = {0};
	FILE *f = NULL;
	float *row = NULL;
	int8_t *qrow = NULL;
	float *srow = NULL;
	size_t no = 0;
	if (!ot) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		char a[PATH_MAX], b[PATH_MAX];
		if (realpath(src_dir, a) && realpath(dst_dir, b) && !strcmp(a, b)) {
			st = ocr2_fail(OCR2_ERR_INVALID, "%s: the quantized copy needs another directory",
				       dst_dir);
			goto out;
		}
	}
	if (mkdir(dst_dir, 0777) != 0 && errno != EEXIST) {
		st = ocr2_fail(OCR2_ERR_IO, "%s: %s", dst_dir, strerror(errno));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const ocr2_tensor *t = ocr2_weights_at(w, i);
		/* re-quantizing a q8 copy: its Q8_0 tensors and their .q8scale
		 * companions are copied as stored, like everything not quantized */
		for (const char *c = t->name; *c; c++)
			if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) {
				st = ocr2_fail(OCR2_ERR_MODEL, "%s: tensor name with quote, backslash or "
					       "control character", src_dir);
				goto out;
			}
		out_tensor *o = &ot[no++];
		o->src = t;
		o->name = strdup(t->name);
		o->ndim = t->ndim;
		memcpy(o->shape, t->shape, sizeof o->shape);
		if (wants_q8(t)) {
			float *nr = realloc(row, (size_t)t->shape[1] * sizeof *row);
			if (!nr) {
				st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
				goto out;
			}
			row = nr;
			o->part = 1;
			o->half = f16_scales_fit(t, row);
			o->dtype = "Q8_0";
			out_tensor *s = &ot[no++];
			size_t l = strlen(t->name);
			s->name = malloc(l + 9);
			if (s->name)
				memcpy(s->name, t->name, l), memcpy(s->name + l, ".q8scale", 9);
			s->src = t;
			s->part = 2;
			s->half = o->half;
			s->dtype = o->half ? "F16" : "F32";
			s->ndim = 2;
			s->shape[0] = t->shape[0];
			s->shape[1] = t->shape[1] / Q8_BLOCK;
		} else {
			o->dtype = ocr2_dtype_name(t->dtype);
		}
	}
	for (size_t i = 0; i < no; i++)
		if (!ot[i].name) {
			st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			goto out;
		}
	qsort(ot, no, sizeof *ot, cmp_out);
	/* offsets: 32-byte aligned so every dtype is naturally aligned in the mmap */
	uint64_t off = 0;
	for (size_t i = 0; i < no; i++) {
		out_tensor *o = &ot[i];
		int64_t ne = 1;
		for (int d = 0; d < o->ndim; d++)
			ne *= o->shape[d];
		uint64_t bytes = o->part == 0   ? o->src->nbytes
				 : o->part == 1 ? (uint64_t)ne
						: (uint64_t)ne * (o->half ? 2 : 4);
		off = (off + 31) & ~(uint64_t)31;
		o->begin = off;
		o->end = off + bytes;
		off = o->end;
	}
	/* header JSON */
	size_t hcap = 256 + no * 200, hlen = 0;
	header = malloc(hcap);
	if (!header) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		goto out;
	}
	hlen += (size_t)snprintf(header + hlen, hcap - hlen,
				 "{\"__metadata__\":{\"format\":\"pt\",\"ocr2_quantized\":\"q8_0\"}");
	for (size_t i = 0; i < no; i++) {
		out_tensor *o = &ot[i];
		if (hcap - hlen < strlen(o->name) + 160) {
			hcap = hcap * 2 + strlen(o->name) + 160;
			char *nh = realloc(header, hcap);
			if (!nh) {
				st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
				goto out;
			}
			header = nh;
		}
		hlen += (size_t)snprintf(header + hlen, hcap - hlen, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
					 o->name, o->dtype);
		for (int d = 0; d < o->ndim; d++)
			hlen += (size_t)snprintf(header + hlen, hcap - hlen, "%s%lld", d ? "," : "",
						 (long long)o->shape[d]);
		hlen += (size_t)snprintf(header + hlen, hcap - hlen,
					 "],\"data_offsets\":[%llu,%llu]}",
					 (unsigned long long)o->begin, (unsigned long long)o->end);
	}
	if (hcap - hlen < 40) {
		char *nh = realloc(header, hcap + 64);
		if (!nh) {
			st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
			goto out;
		}
		header = nh;
		hcap += 64;
	}
	header[hlen++] = '}';
	while ((hlen + 8) % 32) /* data section starts 32-byte aligned */
		header[hlen++] = ' ';

	final_path = ocr2_path_join(dst_dir, "model.safetensors");
	if (!final_path) {
		st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (ocr2_atomic_open(&out, final_path, OCR2_ATOMIC_ALONE) != 0) {
		st = open_failed(final_path);
		goto out;
	}
	f = out.f;
	uint8_t lenb[8];
	for (int i = 0; i < 8; i++)
		lenb[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
	bool ok = write_all(f, lenb, 8) && write_all(f, header, hlen);
	uint64_t pos = 0;
	static const char zeros[32];
	for (size_t i = 0; ok && i < no; i++) {
		out_tensor *o = &ot[i];
		ok = write_all(f, zeros, (size_t)(o->begin - pos));
		pos = o->begin;
		const ocr2_tensor *t = o->src;
		if (o->part == 0) {
			ok = ok && write_all(f, t->data, t->nbytes);
		} else {
			int64_t rows = t->shape[0], k = t->shape[1];
			float *nr = realloc(row, (size_t)k * sizeof *row);
			int8_t *nq = realloc(qrow, (size_t)k);
			float *ns = realloc(srow, (size_t)(k / Q8_BLOCK) * sizeof *srow);
			if (nr)
				row = nr;
			if (nq)
				qrow = nq;
			if (ns)
				srow = ns;
			if (!nr || !nq || !ns) {
				st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
				goto out;
			}
			uint16_t *hrow = (uint16_t *)srow; /* f16 scales: the first half */
			for (int64_t r = 0; ok && r < rows; r++) {
				ocr2_tensor_rows_f32(t, r, r + 1, row);
				for (int64_t b = 0; b < k / Q8_BLOCK; b++)
					if (o->half)
						ocr2_q8_block_h(row + b * Q8_BLOCK, qrow + b * Q8_BLOCK,
								hrow + b);
					else
						ocr2_q8_block(row + b * Q8_BLOCK, qrow + b * Q8_BLOCK,
							      srow + b);
				ok = o->part == 1 ? write_all(f, qrow, (size_t)k)
						  : write_all(f, srow, (size_t)(k / Q8_BLOCK) *
									   (o->half ? 2 : 4));
			}
		}
		pos = o->end;
		if (progress)
			progress(user, (int)i + 1, (int)no);
	}
	/* written and synced now, renamed last: model.safetensors appears only
	 * with the small files beside it */
	if (ocr2_atomic_sync(&out) != 0)
		ok = false;
	if (!ok) {
		st = ocr2_fail(OCR2_ERR_IO, "%s: write failed: %s", out.tmp, strerror(errno));
		goto out;
	}
	/* the small files travel as they are */
	static const char *extra[] = {"config.json", "tokenizer.json", "tokenizer_config.json",
				      "special_tokens_map.json", "processor_config.json"};
	for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
		char *s = ocr2_path_join(src_dir, extra[i]);
		char *d = ocr2_path_join(dst_dir, extra[i]);
		if (!s || !d)
			st = ocr2_fail(OCR2_ERR_NOMEM, "out of memory");
		else if (access(s, R_OK) != 0)
			st = OCR2_OK;
		else
			st = copy_file(s, d);
		free(s);
		free(d);
		if (st)
			goto out;
	}
	if (ocr2_atomic_commit(&out) != 0) {
		st = ocr2_fail(OCR2_ERR_IO, "%s: %s", final_path, strerror(errno));
		goto out;
	}
	st = OCR2_OK;
out:
	ocr2_atomic_abort(&out); /* what a failure left; nothing after the commit */
	for (size_t i = 0; i < no; i++)
		free(ot[i].name);
	free(ot);
	free(header);
	free(final_path);
	free(row);
	free(qrow);
	free(srow);
	ocr2_weights_free(w);
	return st;
}
