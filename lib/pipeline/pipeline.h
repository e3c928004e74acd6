/* pipeline.h - what sits behind ocr2_model_load and ocr2_recognize: the real
 * model (encoder, decoder, tokenizer) and the canned stand-in for CLI tests. */
#ifndef OCR2_PIPELINE_PIPELINE_H
#define OCR2_PIPELINE_PIPELINE_H

#include "compute/pool.h"
#include "model/model.h"
#include "ocr2.h"

typedef struct ocr2_pipeline ocr2_pipeline;
/* Loads config.json, the weights (checked), tokenizer.json (special ids checked
 * against the config) and both model halves as mp says (NULL: the defaults):
 * n_threads 0 = all cores; the encoder computes at
 * ocr2_precision_resolve(precision); the KV caches are kv_cache's. A raised
 * *cancel (may be NULL) ends it between steps, and within a 128 MiB chunk
 * while the weights are read in, with OCR2_ERR_INTERRUPTED. */
ocr2_status ocr2_pipeline_load(const char *dir, const ocr2_model_params *mp, ocr2_pipeline **out);
void ocr2_pipeline_free(ocr2_pipeline *p);
ocr2_status ocr2_pipeline_recognize(ocr2_pipeline *p, const ocr2_image *img,
				    const ocr2_recognize_params *rp, ocr2_result *r);
const ocr2_config *ocr2_pipeline_config(const ocr2_pipeline *p);

/* One page in two halves, for batches (lib/pipeline/batch.c): _start runs
 * the encoder, builds the prompt, prefills and takes the first token;
 * the page's generation (decoder.h's dec_gen) is then stepped, alone or
 * with others; _finish turns it into the result as ocr2_recognize does
 * (dump included) and frees pr. ocr2_pipeline_recognize is the two with
 * dec_gen_step between them. rp is copied; what it points to must outlive pr. */
typedef struct ocr2_page_run ocr2_page_run;
ocr2_status ocr2_page_start(ocr2_pipeline *p, const ocr2_image *img,
			    const ocr2_recognize_params *rp, ocr2_page_run **out);
struct dec_gen *ocr2_page_gen(ocr2_page_run *pr);
ocr2_status ocr2_page_finish(ocr2_page_run *pr, ocr2_result *r);
void ocr2_page_run_free(ocr2_page_run *pr);
struct enc_model;
struct dec_model;
/* For ocr2 bench: the pieces inside. */
void ocr2_pipeline_parts(ocr2_pipeline *p, struct enc_model **enc, struct dec_model **dec,
			 ocr2_pool **pool, const ocr2_weights **w);

/* The arguments ocr2_recognize and ocr2_batch_add refuse: an empty image,
 * bad generation parameters (OCR2_ERR_INVALID). */
ocr2_status ocr2_recognize_check(const ocr2_image *img, const ocr2_recognize_params *p);

/* What is behind a public model: the real pipeline or (test builds) the
 * stand-in; exactly one is non-NULL. */
ocr2_pipeline *ocr2_model_pipeline(const ocr2_model *m);
typedef struct ocr2_standin ocr2_standin;
ocr2_standin *ocr2_model_standin(const ocr2_model *m);

/* Returns canned text from the file $OCR2_STAND_IN for every page (see
 * standin.c for the test knobs). ocr2_model_load picks it only in a build with
 * OCR2_STAND_IN=1 and only when the variable names a file. */
ocr2_status ocr2_standin_load(const char *path, volatile int *cancel, ocr2_standin **out);
void ocr2_standin_free(ocr2_standin *s);
ocr2_status ocr2_standin_recognize(ocr2_standin *s, const ocr2_image *img,
				   const ocr2_recognize_params *p, ocr2_result *out);
/* The decode steps a stand-in page stays in a batch: its tokens, plus the
 * next entry of $OCR2_STAND_IN_STEPS (comma-separated, used in turn, page by
 * page), so that tests can make pages end out of order. */
long ocr2_standin_steps(ocr2_standin *s, const ocr2_result *r);

#endif
