/* md-tool.c - runs the output half of libocr2 on a file for the output tests:
 *   md-tool markdown FILE [PAGE TEMPLATE]   ocr2_markdown_from_raw to stdout
 *   md-tool blocks FILE                     ocr2_blocks_parse, one block a line
 *   md-tool pixel V SIZE                    ocr2_grid_to_pixel
 *   md-tool pixels < "V SIZE" lines         the same, one answer a line */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "ocr2.h"

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
	char *raw;
	size_t n;
	if (ocr2_read_file(argv[2], SIZE_MAX, OCR2_ERR_IO, &raw, &n) != OCR2_OK) {
		fprintf(stderr, "%s\n", ocr2_errmsg());
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
