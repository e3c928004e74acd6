/* pdf.c - the searchable PDF: the model's text as an invisible layer (render
 * mode 3, glyphless font) over each page, through libqpdf's C API. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qpdf/qpdf-c.h>
#include <qpdf/qpdflogger-c.h>
#include <tiffio.h>
#include <zlib.h>

#include "base/error.h"
#include "base/unicode.h"
#include "document/document.h"
#include "ocr2-config.h"
#include "output/output.h"

/*
 * How the text reaches the right place. The model saw a page as poppler draws
 * it: the crop box (clipped to the media box), turned by /Rotate, at `dpi`.
 * A pixel (x, y) of that picture is the point (x, y) * 72/dpi of the page as
 * shown, from its top-left corner. The text layer is written in those shown
 * coordinates (y up, origin bottom-left) as a form XObject, and the page draws
 * it through one matrix that undoes the rotation and moves it onto the crop
 * box (the approach OCRmyPDF takes when it grafts its text page). The page
 * draws it first, in a q/Q pair of its own, so nothing the page's content does
 * to the graphics state (even an unbalanced Q) can move it; render mode 3
 * keeps it invisible wherever it lies in the painting order.
 *
 * Every block's lines share the block's rectangle: line i of n takes the i-th
 * n-th of its height, the font size is that height (less when the line is too
 * short for it, see layer_content), the baseline sits at the font's descent
 * above the line's bottom, and Tz stretches the line's characters (all
 * OUT_FONT_ADVANCE wide) to the rectangle's width.
 *
 * Characters are codes of a Type0 font (Identity-H, 2 bytes each): code k is
 * the k-th distinct code point the document used, so any script fits, emoji
 * beyond the BMP included (the ToUnicode CMap maps it to a surrogate pair);
 * CIDToGIDMap sends every code to the one empty glyph. 65535 distinct
 * characters per document at most; the rest become U+FFFD.
 */

#define FONT_NAME "/OCR2Glyphless"
#define MAX_CODES 65535

struct ocr2_pdf {
	qpdf_data q;
	qpdflogger_handle log;
	char *name; /* for messages */
	ocr2_pdf_params p;
	bool source; /* pages come from a PDF; else pages are added images */
	int n_src;
	uint8_t *done; /* per source page: a text layer was added */
	char *mem;     /* the source's bytes when it was read from memory */
	int n_images;
	bool have_font;
	qpdf_oh font, tounicode, cidtogid;
	/* code k+1 -> cps[k]; and the reverse through an open-addressed table */
	uint32_t *cps;
	int n_cps, cap_cps;
	uint32_t *hk; /* code point + 1, 0 = empty */
	uint16_t *hv;
	size_t hcap;
};

ocr2_pdf_params ocr2_pdf_default_params(void)
{
	ocr2_pdf_params p = {.image_dpi = 300};
	return p;
}

/* ---- qpdf plumbing ------------------------------------------------------------- */

/* The pending qpdf error as a one-line failure naming the file, or OK. */
static ocr2_status qcheck(ocr2_pdf *w, ocr2_status kind, const char *what)
{
	if (!qpdf_has_error(w->q))
		return OCR2_OK;
	qpdf_error e = qpdf_get_error(w->q);
	const char *m = e ? qpdf_get_error_full_text(w->q, e) : NULL;
	char line[400];
	snprintf(line, sizeof line, "%s", m && *m ? m : "unknown qpdf error");
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (kind == OCR2_ERR_NOMEM || strstr(line, "bad_alloc"))
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: %s: out of memory", w->name, what);
	return ocr2_fail(kind, "%s: %s: %s", w->name, what, line);
}

static qpdf_oh parse(ocr2_pdf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static qpdf_oh parse(ocr2_pdf *w, const char *fmt, ...)
{
	char s[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s, sizeof s, fmt, ap);
	va_end(ap);
	return qpdf_oh_parse(w->q, s);
}

/* A new stream holding data; filter is a name ("/FlateDecode") when the
 * bytes are already encoded, NULL to let qpdf compress them on writing. */
static qpdf_oh new_stream(ocr2_pdf *w, const void *data, size_t n, const char *filter,
                          qpdf_oh parms)
{
	qpdf_oh s = qpdf_oh_new_stream(w->q);
	qpdf_oh f = filter ? qpdf_oh_new_name(w->q, filter) : qpdf_oh_new_null(w->q);
	if (!parms)
		parms = qpdf_oh_new_null(w->q);
	qpdf_oh_replace_stream_data(w->q, s, data, n, f, parms);
	return s;
}

/* "[a b c d]" with numbers written the same way whatever the locale. */
static void num_array(ocr2_buf *b, const double *v, int n)
{
	ocr2_buf_byte(b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			ocr2_buf_byte(b, ' ');
		ocr2_buf_num(b, v[i]);
	}
	ocr2_buf_byte(b, ']');
}

static qpdf_oh parse_nums(ocr2_pdf *w, const double *v, int n)
{
	ocr2_buf b = {0};
	num_array(&b, v, n);
	qpdf_oh o = b.oom ? qpdf_oh_new_null(w->q) : qpdf_oh_parse(w->q, b.s);
	ocr2_buf_free(&b);
	return o;
}

static int discard_log(char const *data, size_t len, void *udata)
{
	return 0;
}

static ocr2_status pdf_alloc(const char *name, const ocr2_pdf_params *p, ocr2_pdf **out)
{
	ocr2_pdf *w = calloc(1, sizeof *w);
	if (!w || !(w->name = strdup(name))) {
		free(w);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", name);
	}
	w->p = p ? *p : ocr2_pdf_default_params();
	if (!(w->p.image_dpi >= 1 && w->p.image_dpi <= 1e5))
		w->p.image_dpi = 300;
	w->q = qpdf_init();
	if (!w->q) {
		free(w->name);
		free(w);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", name);
	}
	/* The library never prints: qpdf's errors come back through qcheck, its
	 * warnings (recovered damage) are dropped. */
	qpdf_silence_errors(w->q);
	qpdf_set_suppress_warnings(w->q, QPDF_TRUE);
	w->log = qpdflogger_create();
	if (w->log) {
		qpdflogger_set_info(w->log, qpdf_log_dest_custom, discard_log, NULL);
		qpdflogger_set_warn(w->log, qpdf_log_dest_custom, discard_log, NULL);
		qpdflogger_set_error(w->log, qpdf_log_dest_custom, discard_log, NULL);
		qpdf_set_logger(w->q, w->log);
	}
	*out = w;
	return OCR2_OK;
}

void ocr2_pdf_free(ocr2_pdf *w)
{
	if (!w)
		return;
	if (w->q)
		qpdf_cleanup(&w->q);
	if (w->log)
		qpdflogger_cleanup(&w->log);
	free(w->name);
	free(w->done);
	free(w->mem);
	free(w->cps);
	free(w->hk);
	free(w->hv);
	free(w);
}

ocr2_status ocr2_pdf_new(const ocr2_doc *src, const ocr2_pdf_params *p, ocr2_pdf **out)
{
	*out = NULL;
	bool pdf = src && src->fmt == OCR2_FMT_PDF;
	ocr2_pdf *w = NULL;
	ocr2_status s = pdf_alloc(src ? src->name : "(new PDF)", p, &w);
	if (s != OCR2_OK)
		return s;
	if (!pdf) {
		qpdf_empty_pdf(w->q);
		qpdf_set_info_key(w->q, "/Producer", "ocr2 " OCR2_VERSION);
		s = qcheck(w, OCR2_ERR_INTERNAL, "cannot start a PDF");
	} else {
		if (src->data) {
			/* qpdf reads from the buffer until the end: a copy of our own */
			w->mem = malloc(src->n ? src->n : 1);
			if (!w->mem) {
				ocr2_pdf_free(w);
				return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", src->name);
			}
			memcpy(w->mem, src->data, src->n);
			qpdf_read_memory(w->q, src->name, w->mem, src->n, "");
		} else {
			qpdf_read(w->q, src->name, "");
		}
		s = qcheck(w, OCR2_ERR_FORMAT, "qpdf cannot read it");
		if (s == OCR2_OK) {
			w->source = true;
			w->n_src = qpdf_get_num_pages(w->q);
			s = qcheck(w, OCR2_ERR_FORMAT, "qpdf cannot read its pages");
		}
		/* Pages are addressed by index: both libraries must agree on them. */
		if (s == OCR2_OK && w->n_src != src->n_pages)
			s = ocr2_fail(OCR2_ERR_FORMAT,
			              "%s: damaged PDF: qpdf finds %d pages where poppler finds %d",
			              src->name, w->n_src, src->n_pages);
		if (s == OCR2_OK && !(w->done = calloc((size_t)w->n_src + 1, 1)))
			s = ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", src->name);
	}
	if (s != OCR2_OK) {
		ocr2_pdf_free(w);
		return s;
	}
	*out = w;
	return OCR2_OK;
}

/* ---- the font and its codes ---------------------------------------------------- */

static ocr2_status make_font(ocr2_pdf *w)
{
	if (w->have_font)
		return OCR2_OK;
	ocr2_buf ttf = {0};
	out_glyphless_ttf(&ttf);
	if (ttf.oom) {
		ocr2_buf_free(&ttf);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	}
	qpdf_data q = w->q;
	qpdf_oh file = new_stream(w, ttf.s, ttf.len, NULL, 0);
	qpdf_oh_replace_key(q, qpdf_oh_get_dict(q, file), "/Length1",
	                    qpdf_oh_new_integer(q, (long long)ttf.len));
	ocr2_buf_free(&ttf);

	qpdf_oh desc = parse(w,
	                     "<< /Type /FontDescriptor /FontName " FONT_NAME
	                     " /Flags 5 /FontBBox [0 %d %d %d] /ItalicAngle 0 /Ascent %d"
	                     " /Descent %d /CapHeight %d /StemV 80 >>",
	                     OUT_FONT_DESCENT, OUT_FONT_ADVANCE, OUT_FONT_ASCENT, OUT_FONT_ASCENT,
	                     OUT_FONT_DESCENT, OUT_FONT_ASCENT);
	qpdf_oh_replace_key(q, desc, "/FontFile2", file);
	desc = qpdf_make_indirect_object(q, desc);

	/* data for these two comes at writing time, when every code is known */
	w->cidtogid = new_stream(w, "", 0, NULL, 0);
	w->tounicode = new_stream(w, "", 0, NULL, 0);

	qpdf_oh cid = parse(w,
	                    "<< /Type /Font /Subtype /CIDFontType2 /BaseFont " FONT_NAME
	                    " /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity)"
	                    " /Supplement 0 >> /DW %d >>",
	                    OUT_FONT_ADVANCE);
	qpdf_oh_replace_key(q, cid, "/FontDescriptor", desc);
	qpdf_oh_replace_key(q, cid, "/CIDToGIDMap", w->cidtogid);
	cid = qpdf_make_indirect_object(q, cid);

	qpdf_oh font = qpdf_oh_parse(q, "<< /Type /Font /Subtype /Type0 /BaseFont " FONT_NAME
	                                " /Encoding /Identity-H >>");
	qpdf_oh arr = qpdf_oh_new_array(q);
	qpdf_oh_append_item(q, arr, cid);
	qpdf_oh_replace_key(q, font, "/DescendantFonts", arr);
	qpdf_oh_replace_key(q, font, "/ToUnicode", w->tounicode);
	w->font = qpdf_make_indirect_object(q, font);
	ocr2_status s = qcheck(w, OCR2_ERR_INTERNAL, "cannot make the text layer's font");
	if (s == OCR2_OK)
		w->have_font = true;
	return s;
}

static size_t hslot(uint32_t cp, size_t cap)
{
	return (size_t)((cp * 2654435761u) & (cap - 1));
}

/* The code of a code point, assigned on first use; 0 when out of memory. */
static unsigned code_of(ocr2_pdf *w, uint32_t cp)
{
	if (w->hcap) {
		for (size_t i = hslot(cp, w->hcap);; i = (i + 1) & (w->hcap - 1)) {
			if (w->hk[i] == 0)
				break;
			if (w->hk[i] == cp + 1)
				return w->hv[i];
		}
	}
	/* the last code is kept for U+FFFD, which stands for all the rest */
	if (w->n_cps >= MAX_CODES - 1 && cp != 0xFFFD)
		return code_of(w, 0xFFFD);
	if ((size_t)(w->n_cps + 1) * 2 > w->hcap) {
		size_t nc = w->hcap ? w->hcap * 2 : 256;
		uint32_t *hk = calloc(nc, sizeof *hk);
		uint16_t *hv = calloc(nc, sizeof *hv);
		if (!hk || !hv) {
			free(hk);
			free(hv);
			return 0;
		}
		for (size_t i = 0; i < w->hcap; i++)
			if (w->hk[i]) {
				size_t j = hslot(w->hk[i] - 1, nc);
				while (hk[j])
					j = (j + 1) & (nc - 1);
				hk[j] = w->hk[i];
				hv[j] = w->hv[i];
			}
		free(w->hk);
		free(w->hv);
		w->hk = hk;
		w->hv = hv;
		w->hcap = nc;
	}
	if (w->n_cps == w->cap_cps) {
		int nc = w->cap_cps ? w->cap_cps * 2 : 256;
		uint32_t *t = realloc(w->cps, sizeof *t * (size_t)nc);
		if (!t)
			return 0;
		w->cps = t;
		w->cap_cps = nc;
	}
	w->cps[w->n_cps++] = cp;
	unsigned code = (unsigned)w->n_cps;
	size_t i = hslot(cp, w->hcap);
	while (w->hk[i])
		i = (i + 1) & (w->hcap - 1);
	w->hk[i] = cp + 1;
	w->hv[i] = (uint16_t)code;
	return code;
}

/* The font's two code-dependent streams, for the codes assigned so far. */
static ocr2_status finish_font(ocr2_pdf *w)
{
	if (!w->have_font)
		return OCR2_OK;
	ocr2_buf b = {0};
	out_tounicode_cmap(w->cps, w->n_cps, &b);
	if (!b.oom)
		qpdf_oh_replace_stream_data(w->q, w->tounicode, (const unsigned char *)b.s, b.len,
		                            qpdf_oh_new_null(w->q), qpdf_oh_new_null(w->q));
	ocr2_buf_free(&b);
	/* every code (0 included) -> glyph 1, the empty one */
	for (int i = 0; i <= w->n_cps; i++)
		ocr2_buf_be16(&b, 1);
	if (!b.oom)
		qpdf_oh_replace_stream_data(w->q, w->cidtogid, (const unsigned char *)b.s, b.len,
		                            qpdf_oh_new_null(w->q), qpdf_oh_new_null(w->q));
	bool oom = b.oom;
	ocr2_buf_free(&b);
	if (oom)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	return qcheck(w, OCR2_ERR_INTERNAL, "cannot finish the text layer's font");
}

/* ---- the text layer ---------------------------------------------------------- */

/* ---- a simplified bidi: lines in the order they are seen ----------------------- */

/* The common right-to-left blocks: Hebrew, Arabic, Syriac, Thaana, NKo,
 * Samaritan, Mandaic and their presentation forms, and the historic RTL
 * scripts of plane 1. */
static bool rtl_cp(uint32_t c)
{
	return (c >= 0x0590 && c <= 0x08FF) || (c >= 0xFB1D && c <= 0xFDFF) ||
	       (c >= 0xFE70 && c <= 0xFEFE) || (c >= 0x10800 && c <= 0x10FFF) ||
	       (c >= 0x1E800 && c <= 0x1EFFF);
}

enum { BIDI_L, BIDI_R, BIDI_EN, BIDI_N };

/*
 * PDF text lies on the page in the order it is seen; text extractors (poppler,
 * pdf.js, Acrobat) read a right-to-left run backwards to recover the order it
 * is read in. The model writes logical order, so a line with right-to-left
 * characters is reordered here by a reduced Unicode bidi algorithm: one
 * paragraph level from the first strong character (W1, W7, N1, N2, I1, I2 and
 * L2 of UAX #9, no explicit embeddings, no mirroring). A line without such
 * characters keeps its order. order[i] is the logical index shown i-th.
 */
static void visual_order(const uint32_t *cp, int n, int *order, uint8_t *type, uint8_t *lev)
{
	bool any_r = false;
	for (int i = 0; i < n; i++) {
		order[i] = i;
		int c = ocr2_uclass(cp[i]);
		type[i] = rtl_cp(cp[i])     ? BIDI_R
		          : c == OCR2_UC_ND ? BIDI_EN
		          : c == OCR2_UC_L  ? BIDI_L
		          : c == OCR2_UC_M  ? 255 /* takes the type before it */
		                            : BIDI_N;
		any_r |= type[i] == BIDI_R;
	}
	if (!any_r)
		return;
	int para = BIDI_L;
	for (int i = 0; i < n; i++)
		if (type[i] == BIDI_L || type[i] == BIDI_R) {
			para = type[i];
			break;
		}
	int prev = para, strong = para;
	for (int i = 0; i < n; i++) {
		if (type[i] == 255) /* W1 */
			type[i] = (uint8_t)prev;
		if (type[i] == BIDI_EN && strong == BIDI_L) /* W7 */
			type[i] = BIDI_L;
		if (type[i] == BIDI_L || type[i] == BIDI_R)
			strong = type[i];
		prev = type[i];
	}
	for (int i = 0; i < n;) { /* N1, N2: runs of neutrals */
		if (type[i] != BIDI_N) {
			i++;
			continue;
		}
		int j = i;
		while (j < n && type[j] == BIDI_N)
			j++;
		int before = i ? (type[i - 1] == BIDI_L ? BIDI_L : BIDI_R) : para;
		int after = j < n ? (type[j] == BIDI_L ? BIDI_L : BIDI_R) : para;
		for (int k = i; k < j; k++)
			type[k] = (uint8_t)(before == after ? before : para);
		i = j;
	}
	int maxl = 0;
	for (int i = 0; i < n; i++) { /* I1, I2 */
		int t = type[i];
		lev[i] = (uint8_t)(para == BIDI_L ? (t == BIDI_L   ? 0
		                                     : t == BIDI_R ? 1
		                                                   : 2)
		                                  : (t == BIDI_R ? 1 : 2));
		maxl = lev[i] > maxl ? lev[i] : maxl;
	}
	for (int l = maxl; l >= 1; l--) /* L2 */
		for (int i = 0; i < n;) {
			if (lev[i] < l) {
				i++;
				continue;
			}
			int j = i;
			while (j < n && lev[j] >= l)
				j++;
			for (int a = i, b = j - 1; a < b; a++, b--) {
				int t = order[a];
				order[a] = order[b];
				order[b] = t;
			}
			i = j;
		}
}

/*
 * The content of a page's text layer, in shown coordinates of a page
 * pw x ph points; pixel (x, y) of the w x h picture is (x*sx, ph - y*sy).
 * Lines run left to right in the order they are seen (visual_order).
 */
static ocr2_status layer_content(ocr2_pdf *w, const ocr2_blocks *blocks, int pxw, int pxh,
                                 double sx, double sy, double ph, ocr2_buf *c, int *n_lines)
{
	*n_lines = 0;
	ocr2_buf_str(c, "BT\n3 Tr\n");
	for (int bi = 0; blocks && bi < blocks->n_blocks; bi++) {
		out_lines L;
		ocr2_status s = out_block_lines(&blocks->blocks[bi], &L);
		if (s != OCR2_OK)
			return s;
		if (L.n == 0)
			continue;
		int r[4];
		out_block_rect(&blocks->blocks[bi], pxw, pxh, r);
		double x0 = r[0] * sx, bw = (r[2] - r[0]) * sx;
		double top = ph - r[1] * sy, lh = (r[3] - r[1]) * sy / L.n;
		for (int i = 0; i < L.n; i++) {
			const out_line *ln = &L.lines[i];
			/* At most the size that squeezes the characters to half their
			 * width: squeezed harder, word gaps fall under the share of the
			 * font size extractors take for a space (poppler: 0.1) and the
			 * words run together. A smaller font is centred in its line. */
			double fs = lh, fmax = 4.0 * bw / ln->nchars;
			if (fs > fmax)
				fs = fmax;
			double base =
			    top - (i + 1) * lh + (lh - fs) / 2 - OUT_FONT_DESCENT / 1000.0 * fs;
			double natural = ln->nchars * (OUT_FONT_ADVANCE / 1000.0) * fs;
			double tz = natural > 0 ? 100.0 * bw / natural : 100.0;
			ocr2_buf_str(c, "/F1 ");
			ocr2_buf_num(c, fs < 0.001 ? 0.001 : fs);
			ocr2_buf_str(c, " Tf ");
			ocr2_buf_num(c, tz < 0.001 ? 0.001 : tz);
			ocr2_buf_str(c, " Tz 1 0 0 1 ");
			ocr2_buf_num(c, x0);
			ocr2_buf_byte(c, ' ');
			ocr2_buf_num(c, base);
			ocr2_buf_str(c, " Tm <");
			int nc = ln->nchars;
			uint32_t *cps = malloc(sizeof *cps * (size_t)nc);
			int *order = malloc(sizeof *order * (size_t)nc);
			uint8_t *tl = malloc(2 * (size_t)nc);
			if (!cps || !order || !tl) {
				free(cps);
				free(order);
				free(tl);
				out_lines_free(&L);
				return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
			}
			size_t n = strlen(ln->text);
			int m = 0;
			for (size_t k = 0; k < n && m < nc;) {
				int len = ocr2_utf8_next((const unsigned char *)ln->text + k, n - k,
				                         &cps[m]);
				if (len == 0)
					break;
				k += (size_t)len;
				m++;
			}
			visual_order(cps, m, order, tl, tl + nc);
			bool oom = false;
			for (int k = 0; k < m && !oom; k++) {
				unsigned code = code_of(w, cps[order[k]]);
				oom = code == 0;
				ocr2_buf_printf(c, "%04X", code);
			}
			free(cps);
			free(order);
			free(tl);
			if (oom) {
				out_lines_free(&L);
				return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
			}
			ocr2_buf_str(c, "> Tj\n");
			(*n_lines)++;
		}
		out_lines_free(&L);
	}
	ocr2_buf_str(c, "ET\n");
	if (c->oom)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	return OCR2_OK;
}

/* A page attribute, from the page or the nearest ancestor that has it. */
static qpdf_oh inherited(ocr2_pdf *w, qpdf_oh page, const char *key)
{
	qpdf_oh n = page;
	for (int depth = 0; depth < 64 && qpdf_oh_is_dictionary(w->q, n); depth++) {
		if (qpdf_oh_has_key(w->q, n, key))
			return qpdf_oh_get_key(w->q, n, key);
		n = qpdf_oh_get_key(w->q, n, "/Parent");
	}
	return qpdf_oh_new_null(w->q);
}

/* A rectangle [x0 y0 x1 y1] with x0 < x1 and y0 < y1, or false. */
static bool get_box(ocr2_pdf *w, qpdf_oh a, double r[4])
{
	if (!qpdf_oh_is_array(w->q, a) || qpdf_oh_get_array_n_items(w->q, a) != 4)
		return false;
	double v[4];
	for (int i = 0; i < 4; i++) {
		qpdf_oh x = qpdf_oh_get_array_item(w->q, a, i);
		if (!qpdf_oh_is_number(w->q, x))
			return false;
		v[i] = qpdf_oh_get_numeric_value(w->q, x);
		if (!isfinite(v[i]))
			return false;
	}
	r[0] = fmin(v[0], v[2]);
	r[2] = fmax(v[0], v[2]);
	r[1] = fmin(v[1], v[3]);
	r[3] = fmax(v[1], v[3]);
	return r[2] > r[0] && r[3] > r[1];
}

/* A copy of dict (direct, entries shared), or a new empty one. */
static qpdf_oh dict_copy(ocr2_pdf *w, qpdf_oh d)
{
	qpdf_oh c = qpdf_oh_new_dictionary(w->q);
	if (!qpdf_oh_is_dictionary(w->q, d))
		return c;
	qpdf_oh_begin_dict_key_iter(w->q, d);
	while (qpdf_oh_dict_more_keys(w->q)) {
		const char *k = qpdf_oh_dict_next_key(w->q);
		qpdf_oh_replace_key(w->q, c, k, qpdf_oh_get_key(w->q, d, k));
	}
	return c;
}

/*
 * Adds the layer content (shown coordinates, sw x sh points) to page as a
 * form XObject drawn through matrix m, before the page's own content
 * (prepend) or after it. The page gets fresh /Resources and /XObject
 * dictionaries: the old ones may be shared with other pages or inherited.
 */
static ocr2_status graft(ocr2_pdf *w, qpdf_oh page, const ocr2_buf *content, double sw, double sh,
                         const double m[6], bool prepend)
{
	qpdf_data q = w->q;
	ocr2_status s = make_font(w);
	if (s != OCR2_OK)
		return s;
	qpdf_oh form = new_stream(w, content->s, content->len, NULL, 0);
	qpdf_oh fd = qpdf_oh_get_dict(q, form);
	qpdf_oh_replace_key(q, fd, "/Type", qpdf_oh_new_name(q, "/XObject"));
	qpdf_oh_replace_key(q, fd, "/Subtype", qpdf_oh_new_name(q, "/Form"));
	double bbox[4] = {0, 0, sw, sh};
	qpdf_oh_replace_key(q, fd, "/BBox", parse_nums(w, bbox, 4));
	qpdf_oh fres = qpdf_oh_new_dictionary(q), fonts = qpdf_oh_new_dictionary(q);
	qpdf_oh_replace_key(q, fonts, "/F1", w->font);
	qpdf_oh_replace_key(q, fres, "/Font", fonts);
	qpdf_oh_replace_key(q, fd, "/Resources", fres);

	qpdf_oh res = dict_copy(w, inherited(w, page, "/Resources"));
	qpdf_oh xo = dict_copy(w, qpdf_oh_get_key(q, res, "/XObject"));
	char name[32] = "/OCR2Text";
	for (int i = 1; qpdf_oh_has_key(q, xo, name) && i < 1000000; i++)
		snprintf(name, sizeof name, "/OCR2Text%d", i);
	qpdf_oh_replace_key(q, xo, name, form);
	qpdf_oh_replace_key(q, res, "/XObject", xo);
	qpdf_oh_replace_key(q, page, "/Resources", res);

	ocr2_buf draw = {0};
	ocr2_buf_str(&draw, "q ");
	for (int i = 0; i < 6; i++) {
		ocr2_buf_num(&draw, m[i]);
		ocr2_buf_byte(&draw, ' ');
	}
	ocr2_buf_printf(&draw, "cm %s Do Q\n", name);
	if (draw.oom) {
		ocr2_buf_free(&draw);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	}
	qpdf_oh ds = new_stream(w, draw.s, draw.len, NULL, 0);
	ocr2_buf_free(&draw);

	qpdf_oh old = qpdf_oh_get_key(q, page, "/Contents");
	qpdf_oh arr = qpdf_oh_new_array(q);
	if (prepend)
		qpdf_oh_append_item(q, arr, ds);
	if (qpdf_oh_is_array(q, old)) {
		int n = qpdf_oh_get_array_n_items(q, old);
		for (int i = 0; i < n; i++)
			qpdf_oh_append_item(q, arr, qpdf_oh_get_array_item(q, old, i));
	} else if (qpdf_oh_is_stream(q, old)) {
		qpdf_oh_append_item(q, arr, old);
	}
	if (!prepend)
		qpdf_oh_append_item(q, arr, ds);
	qpdf_oh_replace_key(q, page, "/Contents", arr);
	return qcheck(w, OCR2_ERR_FORMAT, "cannot add the text layer");
}

ocr2_status ocr2_pdf_add_text(ocr2_pdf *w, int index, const ocr2_page_ocr *pg)
{
	if (!w || !pg)
		return ocr2_fail(OCR2_ERR_INVALID, "no PDF writer or page");
	if (!w->source)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: no source PDF to add text to", w->name);
	if (index < 0 || index >= w->n_src)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: no page %d (the document has %d)", w->name,
		                 index + 1, w->n_src);
	if (w->done[index])
		return ocr2_fail(OCR2_ERR_INVALID, "%s: page %d already has its text layer",
		                 w->name, index + 1);
	if (!pg->blocks)
		return OCR2_OK; /* failed or truncated: the page stays as it is */
	if (pg->width < 1 || pg->height < 1)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: page %d: no page size", w->name, index + 1);
	qpdf_data q = w->q;
	qpdf_oh page = qpdf_get_page_n(q, (size_t)index);
	ocr2_status s = qcheck(w, OCR2_ERR_FORMAT, "cannot read a page");
	if (s != OCR2_OK)
		return s;

	/* the shown page, as poppler computes it */
	double media[4] = {0, 0, 612, 792}, crop[4];
	get_box(w, inherited(w, page, "/MediaBox"), media);
	if (get_box(w, inherited(w, page, "/CropBox"), crop)) {
		crop[0] = fmax(crop[0], media[0]);
		crop[1] = fmax(crop[1], media[1]);
		crop[2] = fmin(crop[2], media[2]);
		crop[3] = fmin(crop[3], media[3]);
		if (!(crop[2] > crop[0] && crop[3] > crop[1]))
			memcpy(crop, media, sizeof crop);
	} else {
		memcpy(crop, media, sizeof crop);
	}
	long long rot = 0;
	qpdf_oh ro = inherited(w, page, "/Rotate");
	if (qpdf_oh_is_integer(q, ro))
		rot = ((qpdf_oh_get_int_value(q, ro) % 360) + 360) % 360;
	double cw = crop[2] - crop[0], ch = crop[3] - crop[1];
	bool quarter = rot == 90 || rot == 270;
	double sw = quarter ? ch : cw, sh = quarter ? cw : ch;
	/* shown (X, Y) -> user space, per the rotation the page is shown with */
	double m[6] = {1, 0, 0, 1, crop[0], crop[1]};
	if (rot == 90) {
		double t[6] = {0, 1, -1, 0, crop[2], crop[1]};
		memcpy(m, t, sizeof m);
	} else if (rot == 180) {
		double t[6] = {-1, 0, 0, -1, crop[2], crop[3]};
		memcpy(m, t, sizeof m);
	} else if (rot == 270) {
		double t[6] = {0, -1, 1, 0, crop[0], crop[3]};
		memcpy(m, t, sizeof m);
	}
	double sx, sy;
	if (pg->dpi > 0) {
		sx = sy = 72.0 / pg->dpi;
	} else {
		sx = sw / pg->width;
		sy = sh / pg->height;
	}
	ocr2_buf c = {0};
	int n_lines = 0;
	s = layer_content(w, pg->blocks, pg->width, pg->height, sx, sy, sh, &c, &n_lines);
	if (s == OCR2_OK && n_lines > 0)
		s = graft(w, page, &c, sw, sh, m, true);
	ocr2_buf_free(&c);
	if (s == OCR2_OK)
		w->done[index] = 1;
	return s;
}

/* ---- images -------------------------------------------------------------------- */

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Rows of rb bytes (bpp bytes a pixel, at least 1) with PNG predictors, the
 * filter of each row chosen by the smallest sum of absolute differences (as
 * libpng does), deflated. PDF's /Predictor 15 reads it back. */
static ocr2_status deflate_rows(ocr2_pdf *w, const uint8_t *px, size_t rb, int h, int bpp,
                                ocr2_buf *out)
{
	uint8_t *f = malloc((rb + 1) * 5);
	uint8_t *all = malloc((rb + 1) * (size_t)h);
	if (!f || !all) {
		free(f);
		free(all);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	}
	for (int y = 0; y < h; y++) {
		const uint8_t *r = px + (size_t)y * rb, *u = y ? r - rb : NULL;
		unsigned long best = (unsigned long)-1;
		int pick = 0;
		for (int t = 0; t < 5; t++) {
			uint8_t *o = f + (size_t)t * (rb + 1);
			o[0] = (uint8_t)t;
			unsigned long sum = 0;
			for (size_t i = 0; i < rb; i++) {
				int a = i >= (size_t)bpp ? r[i - bpp] : 0, b = u ? u[i] : 0;
				int c = u && i >= (size_t)bpp ? u[i - bpp] : 0, v;
				switch (t) {
				case 1:
					v = r[i] - a;
					break;
				case 2:
					v = r[i] - b;
					break;
				case 3:
					v = r[i] - ((a + b) >> 1);
					break;
				case 4:
					v = r[i] - paeth(a, b, c);
					break;
				default:
					v = r[i];
					break;
				}
				o[i + 1] = (uint8_t)v;
				int sv = (int8_t)(uint8_t)v;
				sum += (unsigned long)(sv < 0 ? -sv : sv);
			}
			if (sum < best) {
				best = sum;
				pick = t;
			}
		}
		memcpy(all + (size_t)y * (rb + 1), f + (size_t)pick * (rb + 1), rb + 1);
	}
	free(f);
	size_t n = (rb + 1) * (size_t)h;
	uLongf cap = compressBound((uLong)n);
	out->s = malloc(cap ? cap : 1);
	if (!out->s) {
		free(all);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	}
	int zr = compress2((Bytef *)out->s, &cap, all, (uLong)n, 6);
	free(all);
	if (zr != Z_OK)
		return ocr2_fail(zr == Z_MEM_ERROR ? OCR2_ERR_NOMEM : OCR2_ERR_INTERNAL,
		                 "%s: cannot compress an image (zlib error %d)", w->name, zr);
	out->len = out->cap = cap;
	return OCR2_OK;
}

/* An in-memory file for libtiff's G4 encoder. */
typedef struct {
	uint8_t *p;
	size_t len, cap, pos;
	char msg[200];
} memfile;

static tmsize_t mf_read(thandle_t h, void *buf, tmsize_t n)
{
	memfile *m = h;
	if (n <= 0 || m->pos >= m->len)
		return 0;
	size_t k = m->len - m->pos < (size_t)n ? m->len - m->pos : (size_t)n;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (tmsize_t)k;
}

static tmsize_t mf_write(thandle_t h, void *buf, tmsize_t n)
{
	memfile *m = h;
	if (n < 0)
		return -1;
	size_t need = m->pos + (size_t)n;
	if (need > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 65536;
		while (nc < need)
			nc *= 2;
		uint8_t *t = realloc(m->p, nc);
		if (!t)
			return -1;
		m->p = t;
		m->cap = nc;
	}
	if (m->pos > m->len)
		memset(m->p + m->len, 0, m->pos - m->len);
	memcpy(m->p + m->pos, buf, (size_t)n);
	m->pos = need;
	if (need > m->len)
		m->len = need;
	return n;
}

static toff_t mf_seek(thandle_t h, toff_t off, int whence)
{
	memfile *m = h;
	uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
	uint64_t pos = whence == SEEK_SET ? off : base + off;
	if (pos > SIZE_MAX / 2)
		return (toff_t)-1;
	m->pos = (size_t)pos;
	return pos;
}

static int mf_close(thandle_t h)
{
	return 0;
}

static toff_t mf_size(thandle_t h)
{
	return ((memfile *)h)->len;
}

static int mf_map(thandle_t h, void **base, toff_t *size)
{
	return 0;
}

static void mf_unmap(thandle_t h, void *base, toff_t size)
{
}

static int mf_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	memfile *m = user;
	if (!m->msg[0])
		vsnprintf(m->msg, sizeof m->msg, fmt, ap);
	return 1;
}

static int mf_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	return 1;
}

static TIFF *mf_open(memfile *m, const char *mode)
{
	TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
	if (!o)
		return NULL;
	TIFFOpenOptionsSetErrorHandlerExtR(o, mf_error, m);
	TIFFOpenOptionsSetWarningHandlerExtR(o, mf_warning, m);
	m->pos = 0;
	TIFF *t = TIFFClientOpenExt("g4", mode, (thandle_t)m, mf_read, mf_write, mf_seek, mf_close,
	                            mf_size, mf_map, mf_unmap, o);
	TIFFOpenOptionsFree(o);
	return t;
}

/* bits: rows of (w+7)/8 bytes, 1 = black. The CCITT Group 4 code of the
 * image (what fax and scanner TIFFs hold), as one strip. */
static ocr2_status encode_g4(ocr2_pdf *w, const uint8_t *bits, int iw, int ih, ocr2_buf *out)
{
	memfile m = {0};
	ocr2_status s = OCR2_OK;
	TIFF *t = mf_open(&m, "w");
	if (!t) {
		free(m.p);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: cannot start a G4 image", w->name);
	}
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)iw);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)ih);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
	             PHOTOMETRIC_MINISWHITE); /* 0 = white, as G4 codes runs */
	TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)ih);
	size_t rb = ((size_t)iw + 7) / 8;
	for (int y = 0; y < ih && s == OCR2_OK; y++)
		if (TIFFWriteScanline(t, (void *)(bits + (size_t)y * rb), (uint32_t)y, 0) < 0)
			s = ocr2_fail(OCR2_ERR_INTERNAL, "%s: G4 encoding failed: %s", w->name,
			              m.msg[0] ? m.msg : "libtiff error");
	if (s == OCR2_OK && !TIFFWriteDirectory(t))
		s = ocr2_fail(OCR2_ERR_INTERNAL, "%s: G4 encoding failed: %s", w->name,
		              m.msg[0] ? m.msg : "libtiff error");
	TIFFClose(t);
	if (s == OCR2_OK) {
		/* read the one strip back, raw */
		t = mf_open(&m, "r");
		tmsize_t n = t ? TIFFRawStripSize(t, 0) : -1;
		if (n > 0 && (out->s = malloc((size_t)n)) &&
		    TIFFReadRawStrip(t, 0, out->s, n) == n) {
			out->len = out->cap = (size_t)n;
		} else {
			free(out->s);
			out->s = NULL;
			s = ocr2_fail(OCR2_ERR_INTERNAL, "%s: G4 encoding failed: %s", w->name,
			              m.msg[0] ? m.msg : "cannot read the strip back");
		}
		if (t)
			TIFFClose(t);
	}
	free(m.p);
	return s;
}

/* The smaller of G4 and deflated 1-bit rows: G4 wins on text, Flate on
 * dithered halftones. */
static ocr2_status bilevel_xobject(ocr2_pdf *w, const ocr2_image *im, qpdf_oh *xo)
{
	int iw = im->width, ih = im->height;
	size_t rb = ((size_t)iw + 7) / 8;
	uint8_t *bits = calloc(rb * (size_t)ih, 1);
	if (!bits)
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	for (int y = 0; y < ih; y++)
		for (int x = 0; x < iw; x++)
			if (im->rgb[((size_t)y * iw + x) * 3] == 0)
				bits[(size_t)y * rb + x / 8] |= (uint8_t)(0x80 >> (x % 8));
	ocr2_buf g4 = {0}, fl = {0};
	ocr2_status s = encode_g4(w, bits, iw, ih, &g4);
	if (s == OCR2_OK) {
		/* Flate keeps PDF's DeviceGray sense: 1 = white */
		for (size_t i = 0; i < rb * (size_t)ih; i++)
			bits[i] = (uint8_t)~bits[i];
		s = deflate_rows(w, bits, rb, ih, 1, &fl);
	}
	free(bits);
	if (s == OCR2_OK) {
		qpdf_data q = w->q;
		bool use_g4 = g4.len <= fl.len;
		qpdf_oh parms;
		if (use_g4)
			parms =
			    parse(w, "<< /K -1 /Columns %d /Rows %d /BlackIs1 false >>", iw, ih);
		else
			parms = parse(
			    w, "<< /Predictor 15 /Colors 1 /BitsPerComponent 1 /Columns %d >>", iw);
		const ocr2_buf *b = use_g4 ? &g4 : &fl;
		*xo =
		    new_stream(w, b->s, b->len, use_g4 ? "/CCITTFaxDecode" : "/FlateDecode", parms);
		qpdf_oh d = qpdf_oh_get_dict(q, *xo);
		qpdf_oh_replace_key(q, d, "/ColorSpace", qpdf_oh_new_name(q, "/DeviceGray"));
		qpdf_oh_replace_key(q, d, "/BitsPerComponent", qpdf_oh_new_integer(q, 1));
	}
	ocr2_buf_free(&g4);
	ocr2_buf_free(&fl);
	return s;
}

/* Losslessly: gray when every pixel is, RGB otherwise. */
static ocr2_status raster_xobject(ocr2_pdf *w, const ocr2_image *im, qpdf_oh *xo)
{
	size_t np = (size_t)im->width * im->height;
	const uint8_t *p = im->rgb;
	bool gray = true, bilevel = true;
	for (size_t i = 0; i < np && gray; i++) {
		uint8_t r = p[3 * i];
		gray = r == p[3 * i + 1] && r == p[3 * i + 2];
		bilevel = bilevel && (r == 0 || r == 255);
	}
	if (gray && bilevel)
		return bilevel_xobject(w, im, xo);
	int ch = gray ? 1 : 3;
	uint8_t *g = NULL;
	if (gray) {
		if (!(g = malloc(np)))
			return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
		for (size_t i = 0; i < np; i++)
			g[i] = p[3 * i];
	}
	ocr2_buf z = {0};
	ocr2_status s = deflate_rows(w, gray ? g : p, (size_t)im->width * ch, im->height, ch, &z);
	free(g);
	if (s == OCR2_OK) {
		qpdf_data q = w->q;
		qpdf_oh parms =
		    parse(w, "<< /Predictor 15 /Colors %d /BitsPerComponent 8 /Columns %d >>", ch,
		          im->width);
		*xo = new_stream(w, z.s, z.len, "/FlateDecode", parms);
		qpdf_oh d = qpdf_oh_get_dict(q, *xo);
		qpdf_oh_replace_key(q, d, "/ColorSpace",
		                    qpdf_oh_new_name(q, gray ? "/DeviceGray" : "/DeviceRGB"));
		qpdf_oh_replace_key(q, d, "/BitsPerComponent", qpdf_oh_new_integer(q, 8));
	}
	ocr2_buf_free(&z);
	return s;
}

/*
 * The JPEG's own bytes as a DCTDecode image, when a PDF reader can read
 * them (8-bit Huffman, 1, 3 or 4 components) and they show the picture the
 * model saw. m gets the matrix that places the stored picture on the unit
 * square as shown: the EXIF orientation (1..8) as a flip or quarter turn.
 * false (no error) when the JPEG cannot pass through.
 */
static bool jpeg_xobject(ocr2_pdf *w, const ocr2_pdf_image *im, qpdf_oh *xo, double m[6])
{
	doc_jpeg_header h;
	if (doc_jpeg_info(im->jpeg, im->jpeg_len, w->name, &h) != OCR2_OK)
		return false;
	int o = h.orientation;
	int ow = o >= 5 ? h.height : h.width, oh = o >= 5 ? h.width : h.height;
	if (!h.baseline_8bit || (h.components != 1 && h.components != 3 && h.components != 4) ||
	    ow != im->image->width || oh != im->image->height)
		return false;
	qpdf_data q = w->q;
	*xo = new_stream(w, im->jpeg, im->jpeg_len, "/DCTDecode", 0);
	qpdf_oh d = qpdf_oh_get_dict(q, *xo);
	qpdf_oh_replace_key(q, d, "/ColorSpace",
	                    qpdf_oh_new_name(q, h.components == 1   ? "/DeviceGray"
	                                        : h.components == 3 ? "/DeviceRGB"
	                                                            : "/DeviceCMYK"));
	qpdf_oh_replace_key(q, d, "/BitsPerComponent", qpdf_oh_new_integer(q, 8));
	qpdf_oh_replace_key(q, d, "/Width", qpdf_oh_new_integer(q, h.width));
	qpdf_oh_replace_key(q, d, "/Height", qpdf_oh_new_integer(q, h.height));
	/* Adobe's CMYK JPEGs store inverted ink, as ocr2's reader assumes */
	if (h.components == 4 && h.adobe)
		qpdf_oh_replace_key(q, d, "/Decode", qpdf_oh_parse(q, "[1 0 1 0 1 0 1 0]"));
	/* image space (u right, v up; the first stored row at the top) -> the
	 * unit square as shown, per EXIF orientation */
	static const double om[9][6] = {
	    {1, 0, 0, 1, 0, 0},   {1, 0, 0, 1, 0, 0},  {-1, 0, 0, 1, 1, 0},
	    {-1, 0, 0, -1, 1, 1}, {1, 0, 0, -1, 0, 1}, {0, -1, -1, 0, 1, 1},
	    {0, -1, 1, 0, 0, 1},  {0, 1, 1, 0, 0, 0},  {0, 1, -1, 0, 1, 0},
	};
	memcpy(m, om[o >= 1 && o <= 8 ? o : 1], sizeof om[0]);
	return true;
}

ocr2_status ocr2_pdf_add_image(ocr2_pdf *w, const ocr2_pdf_image *im, const ocr2_blocks *blocks)
{
	if (!w || !im || !im->image || !im->image->rgb || im->image->width < 1 ||
	    im->image->height < 1)
		return ocr2_fail(OCR2_ERR_INVALID, "no PDF writer or image");
	if (w->source)
		return ocr2_fail(OCR2_ERR_INVALID, "%s: pages of a source PDF cannot take images",
		                 w->name);
	qpdf_data q = w->q;
	const ocr2_image *img = im->image;
	double xdpi = im->xdpi >= 1 && im->xdpi <= 1e5 ? im->xdpi : 0;
	double ydpi = im->ydpi >= 1 && im->ydpi <= 1e5 ? im->ydpi : 0;
	if (!xdpi || !ydpi)
		xdpi = ydpi = w->p.image_dpi;
	double pw = img->width * 72.0 / xdpi, ph = img->height * 72.0 / ydpi;

	qpdf_oh xo = 0;
	double um[6] = {1, 0, 0, 1, 0, 0};
	ocr2_status s = OCR2_OK;
	if (!(im->jpeg && im->jpeg_len && jpeg_xobject(w, im, &xo, um))) {
		s = raster_xobject(w, img, &xo);
		if (s == OCR2_OK) {
			qpdf_oh d = qpdf_oh_get_dict(q, xo);
			qpdf_oh_replace_key(q, d, "/Width", qpdf_oh_new_integer(q, img->width));
			qpdf_oh_replace_key(q, d, "/Height", qpdf_oh_new_integer(q, img->height));
		}
	}
	if (s != OCR2_OK)
		return s;
	qpdf_oh d = qpdf_oh_get_dict(q, xo);
	qpdf_oh_replace_key(q, d, "/Type", qpdf_oh_new_name(q, "/XObject"));
	qpdf_oh_replace_key(q, d, "/Subtype", qpdf_oh_new_name(q, "/Image"));

	/* the unit square as shown, stretched over the page */
	ocr2_buf c = {0};
	double m[6] = {um[0] * pw, um[1] * ph, um[2] * pw, um[3] * ph, um[4] * pw, um[5] * ph};
	ocr2_buf_str(&c, "q ");
	for (int i = 0; i < 6; i++) {
		ocr2_buf_num(&c, m[i]);
		ocr2_buf_byte(&c, ' ');
	}
	ocr2_buf_str(&c, "cm /Im0 Do Q\n");
	if (c.oom) {
		ocr2_buf_free(&c);
		return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", w->name);
	}
	qpdf_oh contents = new_stream(w, c.s, c.len, NULL, 0);
	ocr2_buf_free(&c);
	double box[4] = {0, 0, pw, ph};
	qpdf_oh page = qpdf_oh_parse(q, "<< /Type /Page >>");
	qpdf_oh_replace_key(q, page, "/MediaBox", parse_nums(w, box, 4));
	qpdf_oh res = qpdf_oh_new_dictionary(q), xod = qpdf_oh_new_dictionary(q);
	qpdf_oh_replace_key(q, xod, "/Im0", xo);
	qpdf_oh_replace_key(q, res, "/XObject", xod);
	qpdf_oh_replace_key(q, page, "/Resources", res);
	qpdf_oh_replace_key(q, page, "/Contents", contents);
	page = qpdf_make_indirect_object(q, page);
	s = qcheck(w, OCR2_ERR_INTERNAL, "cannot make an image page");
	if (s == OCR2_OK && blocks) {
		ocr2_buf t = {0};
		int n_lines = 0;
		s = layer_content(w, blocks, img->width, img->height, 72.0 / xdpi, 72.0 / ydpi, ph,
		                  &t, &n_lines);
		double id[6] = {1, 0, 0, 1, 0, 0};
		if (s == OCR2_OK && n_lines > 0)
			s = graft(w, page, &t, pw, ph, id, false);
		ocr2_buf_free(&t);
	}
	if (s != OCR2_OK)
		return s;
	qpdf_add_page(q, q, page, QPDF_FALSE);
	s = qcheck(w, OCR2_ERR_INTERNAL, "cannot add an image page");
	if (s == OCR2_OK)
		w->n_images++;
	return s;
}

ocr2_status ocr2_pdf_add_page(ocr2_pdf *w, ocr2_doc *d, int index, const ocr2_image *img,
                              const ocr2_blocks *blocks)
{
	if (!w || !d || !img)
		return ocr2_fail(OCR2_ERR_INVALID, "no PDF writer, document or page image");
	if (d->fmt == OCR2_FMT_PDF) {
		ocr2_page_ocr pg = {
		    .width = img->width, .height = img->height, .dpi = d->p.dpi, .blocks = blocks};
		return ocr2_pdf_add_text(w, index, &pg);
	}
	double xdpi = 0, ydpi = 0;
	ocr2_status s = ocr2_doc_page_dpi(d, index, &xdpi, &ydpi);
	if (s != OCR2_OK)
		return s;
	ocr2_pdf_image im = {.image = img, .xdpi = xdpi, .ydpi = ydpi};
	if (d->fmt == OCR2_FMT_JPEG && d->data) {
		im.jpeg = d->data;
		im.jpeg_len = d->n;
	}
	/* A TIFF page of unequal resolutions reached the model resampled square;
	 * the PDF keeps its own raster (a fax stays bilevel, hence G4), sized by
	 * both resolutions. The blocks are fractions of the page either way. */
	ocr2_image native = {0};
	if (d->fmt == OCR2_FMT_TIFF && xdpi > 0 && ydpi > 0 && xdpi != ydpi) {
		s = doc_tiff_render(d, index, false, &native);
		if (s != OCR2_OK)
			return s;
		im.image = &native;
	}
	s = ocr2_pdf_add_image(w, &im, blocks);
	ocr2_image_free(&native);
	return s;
}

/* The write settings (qpdf_init_write* resets them). The source's streams are
 * copied as they are (no decoding), new uncompressed ones are deflated; the
 * /ID is a digest of the content, so the same input gives the same bytes.
 * Encryption cannot survive a content-derived /ID: a PDF opened without a
 * password is written without one. */
static void write_settings(qpdf_data q)
{
	qpdf_set_decode_level(q, qpdf_dl_none);
	qpdf_set_compress_streams(q, QPDF_TRUE);
	qpdf_set_preserve_encryption(q, QPDF_FALSE);
	qpdf_set_deterministic_ID(q, QPDF_TRUE);
}

/* The pending qpdf error of a write, as one line. */
static const char *write_error(ocr2_pdf *w, char *line, size_t n)
{
	qpdf_error e = qpdf_get_error(w->q);
	const char *m = e ? qpdf_get_error_message_detail(w->q, e) : NULL;
	snprintf(line, n, "%s", m && *m ? m : "qpdf error");
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return line;
}

static ocr2_status write_check(ocr2_pdf *w, const char *name)
{
	if (!w)
		return ocr2_fail(OCR2_ERR_INVALID, "no PDF writer");
	if (!w->source && w->n_images == 0)
		return ocr2_fail(OCR2_ERR_EMPTY, "%s: a PDF needs at least one page", name);
	return finish_font(w);
}

ocr2_status ocr2_pdf_write(ocr2_pdf *w, const char *path)
{
	if (!path)
		return ocr2_fail(OCR2_ERR_INVALID, "no output path for the PDF");
	ocr2_status s = write_check(w, path);
	if (s != OCR2_OK)
		return s;
	char line[300];
	qpdf_init_write(w->q, path);
	if (qpdf_has_error(w->q))
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot write: %s", path,
		                 write_error(w, line, sizeof line));
	write_settings(w->q);
	qpdf_write(w->q);
	if (qpdf_has_error(w->q)) {
		write_error(w, line, sizeof line);
		unlink(path);
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot write: %s", path, line);
	}
	return OCR2_OK;
}

ocr2_status ocr2_pdf_write_fd(ocr2_pdf *w, int fd, const char *name)
{
	if (!name)
		name = "(output)";
	ocr2_status s = write_check(w, name);
	if (s != OCR2_OK)
		return s;
	char line[300];
	qpdf_init_write_memory(w->q);
	write_settings(w->q);
	qpdf_write(w->q);
	if (qpdf_has_error(w->q))
		return ocr2_fail(OCR2_ERR_IO, "%s: cannot write: %s", name,
		                 write_error(w, line, sizeof line));
	const unsigned char *p = qpdf_get_buffer(w->q);
	size_t n = qpdf_get_buffer_length(w->q);
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ocr2_fail(OCR2_ERR_IO, "%s: cannot write: %s", name,
			                 k < 0 ? strerror(errno) : "nothing written");
		p += k;
		n -= (size_t)k;
	}
	/* the buffer is as large as the file: let it go now */
	qpdf_init_write_memory(w->q);
	return OCR2_OK;
}
