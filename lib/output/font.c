/* font.c - the glyphless TrueType program under the PDF text layer, built
 * from its table definitions, and the ToUnicode CMap that gives its codes
 * meaning (the design Tesseract's doc/pdf.md describes; no font file copied). */
#include <string.h>

#include "output/output.h"

/* A TrueType table: tag and bytes. */
typedef struct {
	const char *tag;
	ocr2_buf data;
} table;

static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t w = 0;
		for (size_t k = 0; k < 4; k++)
			w = w << 8 | (i + k < n ? p[i + k] : 0);
		s += w;
	}
	return s;
}

static void name_record(ocr2_buf *rec, ocr2_buf *str, unsigned id, const char *ascii)
{
	size_t n = strlen(ascii);
	ocr2_buf_be16(rec, 3);      /* Windows */
	ocr2_buf_be16(rec, 1);      /* Unicode BMP */
	ocr2_buf_be16(rec, 0x0409); /* en-US */
	ocr2_buf_be16(rec, id);
	ocr2_buf_be16(rec, (unsigned)(2 * n));
	ocr2_buf_be16(rec, (unsigned)str->len);
	for (size_t i = 0; i < n; i++)
		ocr2_buf_be16(str, (unsigned char)ascii[i]); /* UTF-16BE */
}

void out_glyphless_ttf(ocr2_buf *out)
{
	/* Sorted by tag, as the table directory must be. */
	table t[] = {{"OS/2", {0}}, {"cmap", {0}}, {"glyf", {0}}, {"head", {0}}, {"hhea", {0}},
	             {"hmtx", {0}}, {"loca", {0}}, {"maxp", {0}}, {"name", {0}}, {"post", {0}}};
	enum { OS2, CMAP, GLYF, HEAD, HHEA, HMTX, LOCA, MAXP, NAME, POST, NT };
	const unsigned n_glyphs = 2; /* .notdef and the one empty glyph every CID maps to */
	ocr2_buf *b;

	b = &t[OS2].data; /* version 4, 96 bytes */
	ocr2_buf_be16(b, 4);
	ocr2_buf_be16(b, OUT_FONT_ADVANCE); /* xAvgCharWidth */
	ocr2_buf_be16(b, 400);              /* regular weight */
	ocr2_buf_be16(b, 5);                /* medium width */
	ocr2_buf_be16(b, 0);                /* fsType: installable, embedding unrestricted */
	const unsigned subsup[] = {650, 600, 0, 75, 650, 600, 0, 350};
	for (int i = 0; i < 8; i++)
		ocr2_buf_be16(b, subsup[i]);
	ocr2_buf_be16(b, 50);  /* strikeout size */
	ocr2_buf_be16(b, 300); /* strikeout position */
	ocr2_buf_be16(b, 0);   /* family class */
	for (int i = 0; i < 10; i++)
		ocr2_buf_byte(b, 0); /* PANOSE: any */
	ocr2_buf_be32(b, 1);         /* Unicode ranges: Basic Latin (the cmap's space) */
	ocr2_buf_be32(b, 0);
	ocr2_buf_be32(b, 0);
	ocr2_buf_be32(b, 0);
	ocr2_buf_add(b, "OCR2", 4);
	ocr2_buf_be16(b, 0x0040); /* fsSelection: REGULAR */
	ocr2_buf_be16(b, 0x20);   /* first and last character in the cmap */
	ocr2_buf_be16(b, 0x20);
	ocr2_buf_be16(b, OUT_FONT_ASCENT);
	ocr2_buf_be16(b, (unsigned)(OUT_FONT_DESCENT & 0xffff));
	ocr2_buf_be16(b, 0); /* line gap */
	ocr2_buf_be16(b, OUT_FONT_ASCENT);
	ocr2_buf_be16(b, (unsigned)-OUT_FONT_DESCENT);
	ocr2_buf_be32(b, 1); /* code pages: Latin 1 */
	ocr2_buf_be32(b, 0);
	ocr2_buf_be16(b, 500); /* x height */
	ocr2_buf_be16(b, OUT_FONT_ASCENT);
	ocr2_buf_be16(b, 0);    /* default char: .notdef */
	ocr2_buf_be16(b, 0x20); /* break char */
	ocr2_buf_be16(b, 0);    /* max context */

	/* The text layer reaches glyphs through CIDToGIDMap, never through this
	 * cmap; it exists because some font loaders refuse a TrueType without
	 * one. Format 4: U+0020 -> glyph 1, and the required final 0xFFFF. */
	b = &t[CMAP].data;
	ocr2_buf_be16(b, 0); /* version */
	ocr2_buf_be16(b, 1); /* one subtable */
	ocr2_buf_be16(b, 3);
	ocr2_buf_be16(b, 1);
	ocr2_buf_be32(b, 12);
	ocr2_buf_be16(b, 4);  /* format */
	ocr2_buf_be16(b, 32); /* length: 16 + 8 per segment */
	ocr2_buf_be16(b, 0);  /* language */
	ocr2_buf_be16(b, 4);  /* segCountX2 */
	ocr2_buf_be16(b, 4);  /* searchRange */
	ocr2_buf_be16(b, 1);  /* entrySelector */
	ocr2_buf_be16(b, 0);  /* rangeShift */
	ocr2_buf_be16(b, 0x20);
	ocr2_buf_be16(b, 0xFFFF); /* endCode */
	ocr2_buf_be16(b, 0);      /* reservedPad */
	ocr2_buf_be16(b, 0x20);
	ocr2_buf_be16(b, 0xFFFF);                /* startCode */
	ocr2_buf_be16(b, (1u - 0x20u) & 0xffff); /* idDelta: 0x20 -> 1 */
	ocr2_buf_be16(b, 1);                     /* 0xFFFF -> 0 */
	ocr2_buf_be16(b, 0);
	ocr2_buf_be16(b, 0); /* idRangeOffset */

	/* glyf stays empty: both glyphs have no outline (loca offsets equal). */

	b = &t[HEAD].data;
	ocr2_buf_be32(b, 0x00010000); /* version */
	ocr2_buf_be32(b, 0x00010000); /* font revision */
	ocr2_buf_be32(b, 0);          /* checkSumAdjustment, set below */
	ocr2_buf_be32(b, 0x5F0F3CF5); /* magic */
	ocr2_buf_be16(b, 0x000B);     /* baseline and lsb at 0, integer scaling */
	ocr2_buf_be16(b, 1000);       /* units per em */
	for (int i = 0; i < 4; i++)
		ocr2_buf_be32(b, 0); /* created, modified: none, so the bytes never change */
	ocr2_buf_be16(b, 0);         /* xMin */
	ocr2_buf_be16(b, (unsigned)(OUT_FONT_DESCENT & 0xffff));
	ocr2_buf_be16(b, OUT_FONT_ADVANCE);
	ocr2_buf_be16(b, OUT_FONT_ASCENT);
	ocr2_buf_be16(b, 0); /* macStyle */
	ocr2_buf_be16(b, 3); /* lowestRecPPEM */
	ocr2_buf_be16(b, 2); /* fontDirectionHint */
	ocr2_buf_be16(b, 0); /* indexToLocFormat: short offsets */
	ocr2_buf_be16(b, 0); /* glyphDataFormat */

	b = &t[HHEA].data;
	ocr2_buf_be32(b, 0x00010000);
	ocr2_buf_be16(b, OUT_FONT_ASCENT);
	ocr2_buf_be16(b, (unsigned)(OUT_FONT_DESCENT & 0xffff));
	ocr2_buf_be16(b, 0);                /* line gap */
	ocr2_buf_be16(b, OUT_FONT_ADVANCE); /* advanceWidthMax */
	ocr2_buf_be16(b, 0);                /* minLeftSideBearing */
	ocr2_buf_be16(b, 0);                /* minRightSideBearing */
	ocr2_buf_be16(b, 0);                /* xMaxExtent */
	ocr2_buf_be16(b, 1);                /* caret slope rise */
	ocr2_buf_be16(b, 0);                /* caret slope run */
	for (int i = 0; i < 5; i++)
		ocr2_buf_be16(b, 0); /* caret offset, reserved */
	ocr2_buf_be16(b, 0);         /* metricDataFormat */
	ocr2_buf_be16(b, n_glyphs);  /* numberOfHMetrics */

	b = &t[HMTX].data;
	for (unsigned i = 0; i < n_glyphs; i++) {
		ocr2_buf_be16(b, OUT_FONT_ADVANCE);
		ocr2_buf_be16(b, 0);
	}

	b = &t[LOCA].data;
	for (unsigned i = 0; i <= n_glyphs; i++)
		ocr2_buf_be16(b, 0);

	b = &t[MAXP].data; /* version 1.0, as TrueType outlines require */
	ocr2_buf_be32(b, 0x00010000);
	ocr2_buf_be16(b, n_glyphs);
	for (int i = 0; i < 4; i++)
		ocr2_buf_be16(b, 0); /* points, contours, composite points and contours */
	ocr2_buf_be16(b, 2);         /* maxZones */
	for (int i = 0; i < 8; i++)
		ocr2_buf_be16(b, 0);

	b = &t[NAME].data;
	{
		static const struct {
			unsigned id;
			const char *s;
		} names[] = {{1, "OCR2 Glyphless"}, {2, "Regular"},     {3, "ocr2: OCR2 Glyphless"},
		             {4, "OCR2 Glyphless"}, {5, "Version 1.0"}, {6, "OCR2Glyphless"}};
		const unsigned nn = sizeof names / sizeof *names;
		ocr2_buf rec = {0}, str = {0};
		for (unsigned i = 0; i < nn; i++)
			name_record(&rec, &str, names[i].id, names[i].s);
		ocr2_buf_be16(b, 0);
		ocr2_buf_be16(b, nn);
		ocr2_buf_be16(b, 6 + 12 * nn);
		ocr2_buf_add(b, rec.s, rec.len);
		ocr2_buf_add(b, str.s, str.len);
		b->oom |= rec.oom || str.oom;
		ocr2_buf_free(&rec);
		ocr2_buf_free(&str);
	}

	b = &t[POST].data; /* format 3: no glyph names */
	ocr2_buf_be32(b, 0x00030000);
	ocr2_buf_be32(b, 0);                       /* italic angle */
	ocr2_buf_be16(b, (unsigned)-100 & 0xffff); /* underline position */
	ocr2_buf_be16(b, 50);                      /* underline thickness */
	ocr2_buf_be32(b, 1);                       /* fixed pitch */
	for (int i = 0; i < 4; i++)
		ocr2_buf_be32(b, 0);

	/* The directory, then the tables at 4-byte boundaries. */
	size_t start = out->len;
	ocr2_buf_be32(out, 0x00010000);
	ocr2_buf_be16(out, NT);
	ocr2_buf_be16(out, 128); /* searchRange: 16 * 8 */
	ocr2_buf_be16(out, 3);   /* entrySelector: log2(8) */
	ocr2_buf_be16(out, NT * 16 - 128);
	size_t off = 12 + 16 * NT;
	for (int i = 0; i < NT; i++) {
		ocr2_buf_add(out, t[i].tag, 4);
		ocr2_buf_be32(out, checksum((const uint8_t *)t[i].data.s, t[i].data.len));
		ocr2_buf_be32(out, (uint32_t)off);
		ocr2_buf_be32(out, (uint32_t)t[i].data.len);
		off += (t[i].data.len + 3) & ~(size_t)3;
	}
	size_t head_at = 0;
	for (int i = 0; i < NT; i++) {
		if (i == HEAD)
			head_at = out->len - start;
		ocr2_buf_add(out, t[i].data.s, t[i].data.len);
		while ((out->len - start) % 4)
			ocr2_buf_byte(out, 0);
		out->oom |= t[i].data.oom;
		ocr2_buf_free(&t[i].data);
	}
	if (out->oom)
		return;
	uint8_t *f = (uint8_t *)out->s + start;
	uint32_t adj = 0xB1B0AFBAu - checksum(f, out->len - start);
	f[head_at + 8] = (uint8_t)(adj >> 24);
	f[head_at + 9] = (uint8_t)(adj >> 16);
	f[head_at + 10] = (uint8_t)(adj >> 8);
	f[head_at + 11] = (uint8_t)adj;
}

static void utf16_hex(ocr2_buf *b, uint32_t cp)
{
	if (cp >= 0x10000) {
		cp -= 0x10000;
		ocr2_buf_printf(b, "%04X%04X", 0xD800 + (unsigned)(cp >> 10),
		                0xDC00 + (unsigned)(cp & 0x3FF));
	} else {
		ocr2_buf_printf(b, "%04X", (unsigned)cp);
	}
}

void out_tounicode_cmap(const uint32_t *cps, int n, ocr2_buf *b)
{
	ocr2_buf_str(b, "/CIDInit /ProcSet findresource begin\n"
	                "12 dict begin\n"
	                "begincmap\n"
	                "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
	                "/CMapName /Adobe-Identity-UCS def\n"
	                "/CMapType 2 def\n"
	                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
	/* bfchar sections hold at most 100 entries each */
	for (int i = 0; i < n; i += 100) {
		int k = n - i < 100 ? n - i : 100;
		ocr2_buf_printf(b, "%d beginbfchar\n", k);
		for (int j = i; j < i + k; j++) {
			ocr2_buf_printf(b, "<%04X> <", (unsigned)(j + 1));
			utf16_hex(b, cps[j]);
			ocr2_buf_str(b, ">\n");
		}
		ocr2_buf_str(b, "endbfchar\n");
	}
	ocr2_buf_str(b, "endcmap\n"
	                "CMapName currentdict /CMap defineresource pop\n"
	                "end\n"
	                "end\n");
}
