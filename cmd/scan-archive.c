/* scan-archive.c - ocr2 scan's outputs for archives: the searchable PDF
 * (-f pdf), hOCR (-f hocr), the layout pictures (--draw) and the PDF pages
 * that already carry text (--skip-text), on the library's writers (ocr2.h,
 * "output: searchable PDF, hOCR, layout pictures"). scan.c calls in at an
 * input's start and end and after each page; everything else is here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"
#include "base/fs.h"

/* The library's message for the input, named once. */
static void report(const char *path, const char *m)
{
	if (!strncmp(m, path, strlen(path)))
		msg("%s", m);
	else
		msg("%s: %s", path, m);
}

/* Whether the output is the input itself (-o naming it, with --force). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (!strcmp(b, "-") || stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool archive_begin(archive *a, const options *o, const input *in, ocr2_doc *doc, FILE *f,
		   bool stream)
{
	memset(a, 0, sizeof *a);
	a->o = o;
	a->in = in;
	a->doc = doc;
	a->f = f;
	a->stream = stream;
	a->is_pdf = ocr2_doc_format(doc) == OCR2_FMT_PDF;
	if (in->out && same_file(in->out, in->path)) {
		msg("%s: the output %s is the input itself; not written", in->path, in->out);
		return false;
	}
	if (o->fmt == FMT_PDF) {
		ocr2_pdf_params pp = ocr2_pdf_default_params();
		if (ocr2_pdf_new(doc, &pp, &a->pdf) != OCR2_OK) {
			report(in->path, ocr2_errmsg());
			return false;
		}
	} else if (o->fmt == FMT_HOCR) {
		char *s = NULL;
		if (ocr2_hocr_begin(in->path, &s) != OCR2_OK) {
			report(in->path, ocr2_errmsg());
			return false;
		}
		fputs(s, f);
		free(s);
	}
	return true;
}

bool archive_unselected(archive *a, int index)
{
	/* a PDF's page passes through by itself; an image page must be added */
	if (a->o->fmt != FMT_PDF || a->is_pdf)
		return true;
	ocr2_image img = {0};
	ocr2_status s = ocr2_doc_render(a->doc, index, &img);
	if (s == OCR2_OK)
		s = ocr2_pdf_add_page(a->pdf, a->doc, index, &img, NULL);
	if (s != OCR2_OK)
		msg("%s: page %d: %s", a->in->path, index + 1, errmsg_for(a->in->path));
	ocr2_image_free(&img);
	return s == OCR2_OK;
}

int archive_text_layer(archive *a, int index, page_rec *p, char *err, size_t n)
{
	if (!a->o->skip_text || !a->is_pdf)
		return 0;
	char *t = NULL;
	int has = 0;
	if (ocr2_doc_page_text(a->doc, index, &t, &has) != OCR2_OK) {
		snprintf(err, n, "%s", errmsg_for(a->in->path));
		return -1;
	}
	if (!has) {
		free(t);
		return 0;
	}
	/* the text as poppler reads it, without blank lines around it */
	char *s = t;
	while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t' || *s == '\f')
		s++;
	size_t len = strlen(s);
	while (len && strchr(" \t\r\n\f", s[len - 1]))
		len--;
	memmove(t, s, len);
	t[len] = 0;
	ocr2_block *b = calloc(1, sizeof *b);
	char *label = strdup(""), *text = strdup(t);
	if (!b || !label || !text) {
		free(b);
		free(label);
		free(text);
		free(t);
		snprintf(err, n, "out of memory");
		return -1;
	}
	b->label = label;
	b->text = text;
	p->blocks.blocks = b;
	p->blocks.n_blocks = 1;
	p->status = "text-layer";
	p->markdown = t;
	p->raw = t;
	if (a->o->verbose)
		msg("%s: page %d: text layer (%zu bytes), not read by the model", a->in->path,
		    p->page, len);
	return 1;
}

/* --draw: DIR/NAME-PAGE.png, beside --images' NAME-PAGE-N.png. */
static bool draw_page(archive *a, const ocr2_image *img, const page_rec *p)
{
	char *stem = with_ext(a->in->rel, "");
	char name[4096];
	snprintf(name, sizeof name, "%s-%d.png", stem, p->page);
	free(stem);
	char *path = join(a->o->draw, name);
	ocr2_image pic = {0};
	ocr2_atomic tmp = {0};
	bool ok = false;
	if (ocr2_draw_blocks(img, &p->blocks, &pic) != OCR2_OK)
		msg("%s: page %d: %s", a->in->path, p->page, ocr2_errmsg());
	else if (mkdirs(path, false) != 0 || ocr2_atomic_open(&tmp, path, OCR2_ATOMIC_SHARED) != 0)
		msg("%s: cannot create: %s", path, strerror(errno));
	else if (ocr2_image_write_png(&pic, tmp.tmp) != OCR2_OK)
		msg("%s", ocr2_errmsg());
	else if (ocr2_atomic_commit(&tmp) != 0)
		msg("%s: %s", path, strerror(errno));
	else
		ok = true;
	ocr2_atomic_abort(&tmp);
	ocr2_image_free(&pic);
	free(path);
	return ok;
}

bool archive_page(archive *a, int index, const ocr2_image *img, const page_rec *p)
{
	const options *o = a->o;
	bool ok = true, good = !strcmp(p->status, "ok");
	bool truncated = !strcmp(p->status, "truncated");
	bool text_layer = !strcmp(p->status, "text-layer");
	if (o->fmt == FMT_PDF && img && !text_layer && (good || !a->is_pdf)) {
		/* a failed or truncated page: a PDF's stays as it is, an image
		 * page has no text; a text-layer page passes through */
		if (ocr2_pdf_add_page(a->pdf, a->doc, index, img, good ? &p->blocks : NULL) !=
		    OCR2_OK) {
			msg("%s: page %d: %s", a->in->path, p->page, errmsg_for(a->in->path));
			ok = false;
		}
	}
	if (o->fmt == FMT_HOCR && img) {
		/* the text as the text formats have it: a truncated page's too */
		double xdpi = 0, ydpi = 0;
		ocr2_doc_page_dpi(a->doc, index, &xdpi, &ydpi);
		ocr2_page_ocr pg = {img->width, img->height, xdpi,
				    good || truncated || text_layer ? &p->blocks : NULL};
		char *s = NULL;
		if (ocr2_hocr_page(&pg, p->page, a->in->path, &s) != OCR2_OK) {
			msg("%s: page %d: %s", a->in->path, p->page, ocr2_errmsg());
			ok = false;
		} else {
			fputs(s, a->f);
			if (a->stream)
				fflush(a->f);
		}
		free(s);
	}
	if (o->draw && img && (good || truncated) && !draw_page(a, img, p))
		ok = false;
	return ok;
}

int archive_end(archive *a, const char *tmp, int n_good)
{
	const char *path = a->in->path;
	if (a->o->fmt == FMT_HOCR) {
		fputs(ocr2_hocr_end(), a->f);
		if (a->stream)
			fflush(a->f);
	}
	if (a->need_model && tmp) {
		msg("%s: %d page%s need%s the model; %s not written", path, a->need_model,
		    a->need_model == 1 ? "" : "s", a->need_model == 1 ? "s" : "", a->in->out);
		return EXIT_MODEL;
	}
	if (a->o->fmt != FMT_PDF || (tmp && n_good == 0))
		return 0;
	/* no temporary: standard output, or a FIFO or device written directly */
	ocr2_status s = tmp ? ocr2_pdf_write(a->pdf, tmp)
			    : (fflush(a->f), ocr2_pdf_write_fd(a->pdf, fileno(a->f),
							       a->in->out ? a->in->out
									  : "standard output"));
	if (s != OCR2_OK) {
		/* the message names the temporary: name the output instead */
		const char *m = ocr2_errmsg();
		if (tmp && !strncmp(m, tmp, strlen(tmp)) && m[strlen(tmp)] == ':')
			msg("%s%s", a->in->out, m + strlen(tmp));
		else
			report(path, m);
		return EXIT_PARTIAL;
	}
	return 0;
}

void archive_free(archive *a)
{
	ocr2_pdf_free(a->pdf);
	a->pdf = NULL;
}
