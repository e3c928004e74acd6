/* scan-write.c - ocr2 scan's five output formats: Markdown, text and raw
 * with page comments, one JSON document or JSON lines, written page by page:
 * each page ends with its last line whole, so a reader of a stream sees it
 * before the next page starts. The caller flushes after each page and checks
 * what fflush and ferror say (a flush here would lose the errno). */
#include <string.h>

#include "scan.h"
#include "base/json.h"

static void comment_safe(FILE *f, const char *s)
{
	/* "--" ends nothing in HTML comments if never written */
	for (char prev = 0; s && *s; s++) {
		if (*s == '\n' || (*s == '-' && prev == '-') || *s == '>')
			fputc(' ', f);
		else
			fputc(*s, f);
		prev = *s;
	}
}

static void page_header(writer *w, const page_rec *p)
{
	if (w->n_pages)
		fputc('\n', w->f); /* the previous page ended its line */
	fprintf(w->f, "<!-- page %d", p->page);
	if (!strcmp(p->status, "truncated")) {
		fputs(": truncated", w->f);
	} else if (!strcmp(p->status, "error")) {
		fputs(": error: ", w->f);
		comment_safe(w->f, p->message);
	} else if (!strcmp(p->status, "text-layer")) {
		fputs(": text layer", w->f); /* --skip-text: the PDF's own text */
	}
	fputs(" -->\n\n", w->f);
}

static void json_page_fields(FILE *f, const page_rec *p)
{
	fprintf(f, "\"page\":%d,", p->page);
	if (p->width > 0)
		fprintf(f, "\"width\":%d,\"height\":%d,", p->width, p->height);
	else
		fputs("\"width\":null,\"height\":null,", f);
	if (p->dpi > 0)
		fprintf(f, "\"dpi\":%g,", p->dpi);
	else
		fputs("\"dpi\":null,", f);
	fprintf(f, "\"status\":\"%s\",", p->status);
	if (p->message) {
		fputs("\"message\":", f);
		ocr2_json_write_string(f, p->message);
		fputc(',', f);
	}
	fprintf(f, "\"seconds\":%.3f,\"tokens\":%d,\"prompt_tokens\":%d,\"malformed\":%d,",
		p->seconds, p->tokens, p->prompt_tokens, p->blocks.malformed);
	fputs("\"blocks\":[", f);
	for (int i = 0; i < p->blocks.n_blocks; i++) {
		const ocr2_block *b = &p->blocks.blocks[i];
		fputs(i ? ",{\"label\":" : "{\"label\":", f);
		ocr2_json_write_string(f, b->label);
		fputs(",\"bbox\":", f);
		for (int j = 0; j < (b->n_boxes ? b->n_boxes : 1); j++) {
			if (!b->n_boxes) {
				fputs("null,\"boxes\":[]", f);
				break;
			}
			int x1 = ocr2_grid_to_pixel(b->boxes[j][0], p->width);
			int y1 = ocr2_grid_to_pixel(b->boxes[j][1], p->height);
			int x2 = ocr2_grid_to_pixel(b->boxes[j][2], p->width);
			int y2 = ocr2_grid_to_pixel(b->boxes[j][3], p->height);
			if (j == 0)
				fprintf(f, "[%d,%d,%d,%d],\"boxes\":[", x1, y1, x2, y2);
			fprintf(f, "%s[%d,%d,%d,%d]", j ? "," : "", x1, y1, x2, y2);
			if (j == b->n_boxes - 1)
				fputc(']', f);
		}
		fputs(",\"text\":", f);
		ocr2_json_write_string(f, b->text);
		fputc('}', f);
	}
	fputs("],\"markdown\":", f);
	if (p->markdown)
		ocr2_json_write_string(f, p->markdown);
	else
		fputs("null", f);
}

void writer_begin(writer *w)
{
	if (w->fmt == FMT_JSON) {
		fputs("{\"source\":", w->f);
		ocr2_json_write_string(w->f, w->source);
		fprintf(w->f, ",\"format\":\"%s\",\"pages\":[", w->format_name);
	}
}

void writer_page(writer *w, const page_rec *p)
{
	FILE *f = w->f;
	switch (w->fmt) {
	case FMT_MARKDOWN:
		page_header(w, p);
		if (p->markdown)
			fputs(p->markdown, f);
		fputc('\n', f);
		break;
	case FMT_RAW:
		page_header(w, p);
		if (p->raw)
			fputs(p->raw, f);
		fputc('\n', f);
		break;
	case FMT_TEXT:
		if (w->n_pages)
			fputs("\f\n", f);
		if (p->markdown && *p->markdown) {
			fputs(p->markdown, f);
			fputc('\n', f);
		}
		break;
	case FMT_JSON:
		fputs(w->n_pages ? ",{" : "{", f);
		json_page_fields(f, p);
		fputc('}', f);
		break;
	case FMT_JSONL:
		fputs("{\"source\":", f);
		ocr2_json_write_string(f, w->source);
		fprintf(f, ",\"format\":\"%s\",", w->format_name);
		json_page_fields(f, p);
		fputs("}\n", f);
		break;
	}
	w->n_pages++;
}

void writer_end(writer *w, bool interrupted)
{
	if (w->fmt == FMT_JSON)
		fputs(interrupted ? "],\"interrupted\":true}\n" : "]}\n", w->f);
}

void writer_error(writer *w, const char *message)
{
	FILE *f = w->f;
	fputs("{\"source\":", f);
	ocr2_json_write_string(f, w->source);
	if (w->fmt == FMT_JSON) {
		fputs(",\"format\":null,\"status\":\"error\",\"message\":", f);
		ocr2_json_write_string(f, message);
		fputs(",\"pages\":[]}\n", f);
	} else {
		fputs(",\"format\":null,\"page\":null,\"width\":null,\"height\":null,\"dpi\":null,"
		      "\"status\":\"error\",\"message\":", f);
		ocr2_json_write_string(f, message);
		fputs(",\"seconds\":0,\"tokens\":0,\"prompt_tokens\":0,\"malformed\":0,\"blocks\":[],"
		      "\"markdown\":null}\n", f);
	}
}
