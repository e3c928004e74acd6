/* draw.c - the layout picture (--draw): the page with each block's boxes and
 * label drawn through cairo, after the official script's result_with_boxes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "base/error.h"
#include "output/output.h"

/*
 * The official picture gives every block a random colour (R and G below
 * 200, B below 255), a 20/255 tint over the box, an outline of 2 pixels (4
 * for titles) drawn inside the box, and the label above its top-left corner
 * on white. ocr2 keeps all of that but the randomness: a colour per label,
 * from a fixed palette within the same ranges, so a re-run draws the same
 * picture and the same label has the same colour on every page. The tint is
 * laid first, so outlines and labels keep their exact colour.
 */
static const uint8_t palette[][3] = {
    {31, 119, 180},  /* text */
    {190, 30, 45},   /* title */
    {180, 90, 20},   /* sub_title */
    {44, 160, 44},   /* image */
    {23, 150, 130},  /* image_caption */
    {148, 103, 189}, /* table */
    {120, 60, 160},  /* table_caption */
    {190, 20, 150},  /* equation */
    {110, 110, 110}, /* header, footer, page number */
    {140, 86, 75},   {188, 189, 34}, {23, 100, 60}, {60, 60, 200}, {150, 150, 20},
};

void ocr2_label_color(const char *label, uint8_t rgb[3])
{
	static const struct {
		const char *label;
		int color;
	} known[] = {
	    {"text", 0},
	    {"title", 1},
	    {"sub_title", 2},
	    {"image", 3},
	    {"image_caption", 4},
	    {"table", 5},
	    {"table_caption", 6},
	    {"table_footnote", 6},
	    {"equation", 7},
	    {"header", 8},
	    {"footer", 8},
	    {"page_number", 8},
	    {"", 8},
	};
	const char *l = label ? label : "";
	int c = -1;
	for (size_t i = 0; i < sizeof known / sizeof *known && c < 0; i++)
		if (!strcmp(l, known[i].label))
			c = known[i].color;
	if (c < 0) {
		uint32_t h = 2166136261u; /* FNV-1a: any other label, always the same colour */
		for (const unsigned char *p = (const unsigned char *)l; *p; p++)
			h = (h ^ *p) * 16777619u;
		c = 9 + (int)(h % (sizeof palette / sizeof *palette - 9));
	}
	memcpy(rgb, palette[c], 3);
}

static void set_rgb(cairo_t *cr, const uint8_t c[3], double alpha)
{
	cairo_set_source_rgba(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0, alpha);
}

/* The label as cairo's toy text API may take it: printable ASCII, at most
 * 48 characters (a label is a word; anything else becomes '?'). */
static void safe_label(const char *l, char out[49])
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)(l ? l : ""); *p && n < 48; p++) {
		if ((*p & 0xC0) == 0x80)
			continue; /* one '?' per non-ASCII character */
		out[n++] = *p >= 0x20 && *p < 0x7F ? (char)*p : '?';
	}
	out[n] = 0;
}

ocr2_status ocr2_draw_blocks(const ocr2_image *img, const ocr2_blocks *b, ocr2_image *out)
{
	memset(out, 0, sizeof *out);
	if (!img || !img->rgb || img->width < 1 || img->height < 1)
		return ocr2_fail(OCR2_ERR_INVALID, "draw: no page image");
	int w = img->width, h = img->height;
	int stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, w);
	uint8_t *buf = stride > 0 ? malloc((size_t)stride * h) : NULL;
	if (!buf)
		return ocr2_fail(OCR2_ERR_NOMEM, "draw: out of memory for %dx%d pixels", w, h);
	for (int y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)(buf + (size_t)y * stride);
		const uint8_t *p = img->rgb + (size_t)y * w * 3;
		for (int x = 0; x < w; x++)
			row[x] =
			    (uint32_t)p[3 * x] << 16 | (uint32_t)p[3 * x + 1] << 8 | p[3 * x + 2];
	}
	cairo_surface_t *surf =
	    cairo_image_surface_create_for_data(buf, CAIRO_FORMAT_RGB24, w, h, stride);
	cairo_t *cr = cairo_create(surf);
	int nb = b ? b->n_blocks : 0;

	/* the tints first, as one layer */
	for (int i = 0; i < nb; i++) {
		const ocr2_block *blk = &b->blocks[i];
		uint8_t c[3];
		ocr2_label_color(blk->label, c);
		set_rgb(cr, c, 20 / 255.0);
		for (int k = 0; k < blk->n_boxes; k++) {
			int r[4];
			ocr2_block one = {.n_boxes = 1, .boxes = &blk->boxes[k]};
			out_block_rect(&one, w, h, r);
			cairo_rectangle(cr, r[0], r[1], r[2] - r[0], r[3] - r[1]);
			cairo_fill(cr);
		}
	}
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 11);
	for (int i = 0; i < nb; i++) {
		const ocr2_block *blk = &b->blocks[i];
		uint8_t c[3];
		ocr2_label_color(blk->label, c);
		int lw = blk->label && !strcmp(blk->label, "title") ? 4 : 2;
		char label[49];
		safe_label(blk->label, label);
		for (int k = 0; k < blk->n_boxes; k++) {
			int r[4];
			ocr2_block one = {.n_boxes = 1, .boxes = &blk->boxes[k]};
			out_block_rect(&one, w, h, r);
			int bw = r[2] - r[0], bh = r[3] - r[1];
			int tw = lw < bw ? lw : bw, th = lw < bh ? lw : bh;
			set_rgb(cr, c, 1);
			cairo_rectangle(cr, r[0], r[1], bw, th);      /* top */
			cairo_rectangle(cr, r[0], r[3] - th, bw, th); /* bottom */
			cairo_rectangle(cr, r[0], r[1], tw, bh);      /* left */
			cairo_rectangle(cr, r[2] - tw, r[1], tw, bh); /* right */
			cairo_fill(cr);
			if (!label[0])
				continue;
			cairo_text_extents_t te;
			cairo_font_extents_t fe;
			cairo_text_extents(cr, label, &te);
			cairo_font_extents(cr, &fe);
			double lx = r[0], ly = r[1] - 15 > 0 ? r[1] - 15 : 0;
			cairo_set_source_rgb(cr, 1, 1, 1);
			cairo_rectangle(cr, lx, ly, te.x_advance, fe.ascent + fe.descent);
			cairo_fill(cr);
			set_rgb(cr, c, 1);
			cairo_move_to(cr, lx, ly + fe.ascent);
			cairo_show_text(cr, label);
		}
	}
	cairo_status_t cs = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_flush(surf);
	cairo_surface_destroy(surf);
	if (cs != CAIRO_STATUS_SUCCESS) {
		free(buf);
		return ocr2_fail(cs == CAIRO_STATUS_NO_MEMORY ? OCR2_ERR_NOMEM : OCR2_ERR_INTERNAL,
		                 "draw: cairo: %s", cairo_status_to_string(cs));
	}
	out->rgb = malloc((size_t)w * h * 3);
	if (!out->rgb) {
		free(buf);
		return ocr2_fail(OCR2_ERR_NOMEM, "draw: out of memory for %dx%d pixels", w, h);
	}
	for (int y = 0; y < h; y++) {
		const uint32_t *row = (const uint32_t *)(buf + (size_t)y * stride);
		uint8_t *o = out->rgb + (size_t)y * w * 3;
		for (int x = 0; x < w; x++) {
			o[3 * x] = (uint8_t)(row[x] >> 16);
			o[3 * x + 1] = (uint8_t)(row[x] >> 8);
			o[3 * x + 2] = (uint8_t)row[x];
		}
	}
	free(buf);
	out->width = w;
	out->height = h;
	return OCR2_OK;
}
