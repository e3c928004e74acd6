/* model.c - the model behind one interface: ocr2_model_load, ocr2_recognize,
 * ocr2_result_free. The real encoder+decoder plug in at real_load/real_recognize;
 * test builds (-Dstand_in=true) can swap in the canned stand-in of standin.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "ocr2-config.h"

struct ocr2_model {
	ocr2_model_params params;
	ocr2_standin *standin; /* non-NULL only in a stand-in build with $OCR2_STAND_IN set */
	void *real;            /* the encoder+decoder, once they exist */
};

ocr2_model_params ocr2_model_default_params(void)
{
	ocr2_model_params p = {0};
	p.n_threads = 0;
	return p;
}

ocr2_recognize_params ocr2_recognize_default_params(void)
{
	ocr2_recognize_params p = {0};
	p.prompt = NULL;
	p.max_tokens = 8192;
	p.ngram = 20;        /* the official PDF script (model.md §8) */
	p.ngram_window = 50;
	return p;
}

/* ---- the real model (encoder/ + decoder/), to be plugged in ---------------- */

static ocr2_status real_load(const char *dir, const ocr2_model_params *p, void **out)
{
	struct stat st;
	*out = NULL;
	if (stat(dir, &st) != 0)
		return ocr2_fail(OCR2_ERR_MODEL, "%s: %s (run 'ocr2 model fetch' or pass -m DIR)", dir,
				 strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ocr2_fail(OCR2_ERR_MODEL, "%s: not a directory", dir);
	ocr2_pipeline *pl = NULL;
	ocr2_status s = ocr2_pipeline_load(dir, p->n_threads, &pl);
	*out = pl;
	return s;
}

static ocr2_status real_recognize(void *real, const ocr2_image *img, const ocr2_recognize_params *p,
				  ocr2_result *out)
{
	return ocr2_pipeline_recognize(real, img, p, out);
}

static void real_free(void *real)
{
	ocr2_pipeline_free(real);
}

/* ---- the public interface -------------------------------------------------- */

ocr2_status ocr2_model_load(const char *dir, const ocr2_model_params *p, ocr2_model **out)
{
	*out = NULL;
	ocr2_model *m = calloc(1, sizeof *m);
	if (!m)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", dir);
	m->params = p ? *p : ocr2_model_default_params();
	ocr2_status s;
#if OCR2_STAND_IN
	const char *canned = getenv("OCR2_STAND_IN");
	if (canned && *canned) {
		s = ocr2_standin_load(canned, &m->standin);
		if (s != OCR2_OK) {
			free(m);
			return s;
		}
		*out = m;
		return OCR2_OK;
	}
#endif
	s = real_load(dir, &m->params, &m->real);
	if (s != OCR2_OK) {
		free(m);
		return s;
	}
	*out = m;
	return OCR2_OK;
}

void ocr2_model_free(ocr2_model *m)
{
	if (!m)
		return;
#if OCR2_STAND_IN
	ocr2_standin_free(m->standin);
#endif
	real_free(m->real);
	free(m);
}

ocr2_status ocr2_recognize(ocr2_model *m, const ocr2_image *img, const ocr2_recognize_params *p,
			   ocr2_result *out)
{
	memset(out, 0, sizeof *out);
	ocr2_recognize_params dflt = ocr2_recognize_default_params();
	if (!p)
		p = &dflt;
	if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
		return ocr2_fail(OCR2_ERR_INVALID, "recognize: empty image");
	if (p->max_tokens <= 0 || p->ngram < 0 || p->ngram_window < 0)
		return ocr2_fail(OCR2_ERR_INVALID, "recognize: bad generation parameters");
#if OCR2_STAND_IN
	if (m->standin)
		return ocr2_standin_recognize(m->standin, img, p, out);
#endif
	return real_recognize(m->real, img, p, out);
}

void ocr2_result_free(ocr2_result *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->tokens);
	memset(r, 0, sizeof *r);
}
