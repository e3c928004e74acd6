/* weights-private.h - the loaded weights as weights.c (safetensors parsing
 * and mapping) and residency.c (where the mapped bytes live) both see them. */
#ifndef OCR2_MODEL_WEIGHTS_PRIVATE_H
#define OCR2_MODEL_WEIGHTS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Files are mapped at a 2 MiB boundary so that huge pages can back them. */
#define HUGE_PAGE ((size_t)2 << 20)

typedef struct {
	char *path;
	void *map;
	size_t size;
	void *region; /* the reservation map lies in (2 MiB-aligned inside it) */
	size_t region_size;
	bool copied;  /* map is an anonymous copy, not the file */
} wfile;

typedef struct {
	ocr2_tensor t; /* first: ocr2_weights_get returns &entry.t */
	int file;
} entry;

struct ocr2_weights {
	char *where; /* the directory (or the single file) named in messages */
	wfile *files;
	int n_files;
	entry *t; /* sorted by name */
	int n;
	int cap;
	void **owned; /* aligned copies of misaligned tensors */
	int n_owned;
	int n_copied;
	uint64_t bytes;
};

#endif
