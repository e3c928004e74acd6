/* md-tool.c - runs the output half of libocr2 on a file for the cli tests:
 *   md-tool markdown FILE [PAGE TEMPLATE]   ocr2_markdown_from_raw to stdout
 *   md-tool blocks FILE                     ocr2_blocks_parse, one block a line
 *   md-tool pixel V SIZE                    ocr2_grid_to_pixel
 *   md-tool pixels < "V SIZE" lines         the same, one answer a line */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocr2.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	size_t k;
	while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap)
			s = realloc(s, cap *= 2);
	}
	fclose(f);
	if (s)
		s[n] = 0;
	return s;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "pixel")) {
		printf("%d\n", ocr2_grid_to_pixel(atoi(argv[2]), atoi(argv[3])));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "pixels")) {
		int v, size;
		while (scanf("%d %d", &v, &size) == 2)
			printf("%d\n", ocr2_grid_to_pixel(v, size));
		return 0;
	}
	if (argc < 3)
		return 2;
	char *raw = slurp(argv[2]);
	if (!raw) {
		perror(argv[2]);
		return 1;
	}
	if (!strcmp(argv[1], "markdown")) {
		char *md;
		int page = argc > 3 ? atoi(argv[3]) : 0;
		if (ocr2_markdown_from_raw(raw, page, argc > 4 ? argv[4] : NULL, &md) != OCR2_OK)
			return 1;
		fputs(md, stdout);
		free(md);
	} else if (!strcmp(argv[1], "blocks")) {
		ocr2_blocks b;
		if (ocr2_blocks_parse(raw, &b) != OCR2_OK)
			return 1;
		printf("malformed %d\n", b.malformed);
		for (int i = 0; i < b.n_blocks; i++) {
			printf("[%s]", b.blocks[i].label);
			for (int j = 0; j < b.blocks[i].n_boxes; j++)
				printf(" %d,%d,%d,%d", b.blocks[i].boxes[j][0], b.blocks[i].boxes[j][1],
				       b.blocks[i].boxes[j][2], b.blocks[i].boxes[j][3]);
			printf(" |");
			for (const char *p = b.blocks[i].text; *p; p++)
				fputs(*p == '\n' ? "\\n" : (char[]){*p, 0}, stdout);
			printf("|\n");
		}
		ocr2_blocks_free(&b);
	} else {
		return 2;
	}
	free(raw);
	return 0;
}
