/* manifest.h - what the two halves of lib/hub share: the list of a model's
 * files with their sizes and hashes, the record of a fetch, hashing. */
#ifndef OCR2_HUB_MANIFEST_H
#define OCR2_HUB_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/sha.h"
#include "hub/hub.h"

enum { HASH_SHA256, HASH_GITSHA1 };

typedef struct {
	char *path;
	uint64_t size;
	int kind;
	char hash[65];
	int required;
	long long vsec, vnsec; /* mtime when last verified; vsec < 0: never */
} fentry;

typedef struct {
	fentry *f;
	int n, cap;
	char repo[128];
	char revision[256];
	char commit[41];
} listing;

typedef struct {
	int kind;
	ocr2_sha256 s256;
	ocr2_sha1 s1;
} hasher;

void ocr2_hub_listing_clear(listing *l);
/* A new entry for path (vsec -1: never verified); NULL when out of memory. */
fentry *ocr2_hub_listing_add(listing *l, const char *path);
/* s is n lowercase hex digits */
int ocr2_hub_is_hex(const char *s, size_t n);
/* A file name the hub may give us: top level, no dot file, plain characters
 * (a hostile mirror must not write outside DIR). */
int ocr2_hub_safe_name(const char *s);
/* A repository ("owner/name", slashes 1), revision or ref name that is safe
 * in a URL and a path: plain characters, no "..", no leading dot or slash. */
int ocr2_hub_safe_ref(const char *s, int slashes);
int ocr2_hub_ends_with(const char *s, const char *suffix);
/* 2: needed, 1: wanted when published, 0: not ours (code, README, assets). */
int ocr2_hub_wanted(const char *name);
/* git blob sha1 hashes "blob SIZE\0" first, so the size is needed up front */
void ocr2_hub_hasher_init(hasher *h, int kind, uint64_t size);
void ocr2_hub_hasher_update(hasher *h, const void *p, size_t n);
void ocr2_hub_hasher_hex(hasher *h, char out[65]);
/* Feeds the first `limit` bytes of fd (from offset 0) to h. Returns 0, or -1
 * with errno (EIO-like when the file is shorter). */
int ocr2_hub_hash_fd(int fd, hasher *h, uint64_t limit, const volatile int *cancel);
/* 1: path holds exactly e's content, 0: it does not (or is absent), -1: I/O
 * error (message set), -2: cancelled. */
int ocr2_hub_verify_path(const char *path, const fentry *e, const volatile int *cancel,
			 struct stat *st_out);
/* Reads the record; OCR2_ERR_IO when absent, OCR2_ERR_FORMAT when damaged. */
ocr2_status ocr2_hub_manifest_read(const char *dir, listing *l);
/* Writes the record, atomically. */
ocr2_status ocr2_hub_manifest_write(const char *dir, const listing *l);
/* p->cb, when there is one */
void ocr2_hub_emit(const ocr2_fetch_params *p, ocr2_fetch_event ev, const char *file,
		   uint64_t done, uint64_t total);
/* ocr2_fetch with p->offline: every recorded file checked against its hash */
ocr2_status ocr2_hub_verify_offline(const char *dir, const ocr2_fetch_params *p,
				    ocr2_fetch_result *r);

#endif
