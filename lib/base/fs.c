/* fs.c - the file-system utilities of every room: whole-file reads and path
 * joins. Each exists once; callers never open-code them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

ocr2_status ocr2_read_file(const char *path, size_t max, ocr2_status err, char **out,
			   size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return ocr2_fail(err, "%s: cannot open: %s", path, strerror(errno));
	char *text = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				fclose(fp);
				free(text);
				return ocr2_fail(err, "%s: file too large", path);
			}
			cap = cap ? cap * 2 : 8192;
			char *nt = realloc(text, cap + 1); /* + the terminating NUL */
			if (!nt) {
				fclose(fp);
				free(text);
				return ocr2_fail(OCR2_ERR_NOMEM, "%s: out of memory", path);
			}
			text = nt;
		}
		size_t r = fread(text + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(fp);
	fclose(fp);
	if (bad) {
		free(text);
		return ocr2_fail(err, "%s: read error", path);
	}
	text[n] = 0;
	*out = text;
	*len = n;
	return OCR2_OK;
}

char *ocr2_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, name);
	return s;
}
