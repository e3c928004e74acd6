/* fs.h - the file-system utilities every room uses (lib/base/fs.c): each
 * exists once here. */
#ifndef OCR2_BASE_FS_H
#define OCR2_BASE_FS_H

#include <stddef.h>

#include "ocr2.h"

/* Reads a whole (small) file into a malloc'd, NUL-terminated buffer. Failures
 * are one line naming the file ("cannot open: ...", "file too large" past max
 * bytes, "read error") with status err; out of memory is OCR2_ERR_NOMEM. */
ocr2_status ocr2_read_file(const char *path, size_t max, ocr2_status err, char **out,
			   size_t *len);
/* "dir/name", malloc'd (NULL when out of memory). */
char *ocr2_path_join(const char *dir, const char *name);

#endif
