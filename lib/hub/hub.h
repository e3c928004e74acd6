/* hub.h - model downloads from a Hugging Face hub and the offline check of
 * what was downloaded (lib/hub/). */
#ifndef OCR2_HUB_HUB_H
#define OCR2_HUB_HUB_H

#include <stdint.h>

#include "ocr2.h"

/* Downloads a model repository's files from a Hugging Face hub (or a mirror)
 * into a directory: each file goes to DIR/.incomplete/NAME.part, is hashed
 * while it is written, resumed with an HTTP Range after an interruption,
 * fsync'd, checked against the hash the hub publishes and only then renamed
 * to DIR/NAME. DIR/.ocr2-fetch.json records the repository, commit and the
 * expected size and hash of each file (it is what --offline verifies). */

#define OCR2_FETCH_REPO "deepseek-ai/DeepSeek-OCR-2"
/* The commit of OCR2_FETCH_REPO downloaded by default (see man ocr2-model). */
#define OCR2_FETCH_REVISION "aaa02f3811945a91062062994c5c4a3f4c0af2b0"
#define OCR2_FETCH_ENDPOINT "https://huggingface.co"
#define OCR2_FETCH_MANIFEST ".ocr2-fetch.json"

typedef enum {
	OCR2_FETCH_LISTED,   /* the file list came: done = bytes already there, total = all bytes */
	OCR2_FETCH_SKIP,     /* file present and verified; total = its size */
	OCR2_FETCH_START,    /* download starts; done = bytes kept from an earlier try */
	OCR2_FETCH_PROGRESS, /* done of total bytes of this file */
	OCR2_FETCH_RETRY,    /* the transfer broke after progress; resuming (done = attempt) */
	OCR2_FETCH_DONE,     /* verified and moved into place */
	OCR2_FETCH_BAD,      /* offline: present but its hash or size is wrong */
	OCR2_FETCH_MISSING,  /* offline: not there */
} ocr2_fetch_event;

typedef struct {
	const char *endpoint;   /* NULL: OCR2_FETCH_ENDPOINT */
	const char *repo;       /* NULL: OCR2_FETCH_REPO */
	const char *revision;   /* NULL: OCR2_FETCH_REVISION for the default repo, else "main" */
	const char *token;      /* sent as "Authorization: Bearer" to the endpoint's host only */
	const char *user_agent; /* NULL: "ocr2/VERSION" */
	int timeout_s;          /* connect timeout and the longest stall tolerated; 0: 60 */
	int retries;            /* resumptions of a transfer that broke after progress; <0: 3 */
	int offline;            /* never touch the network: verify what is there */
	const volatile int *cancel; /* set (from a signal handler) to stop; parts are kept */
	void (*cb)(void *arg, ocr2_fetch_event ev, const char *file, uint64_t done,
		   uint64_t total);
	void *cb_arg;
} ocr2_fetch_params;

typedef struct {
	int n_files;          /* files of the model */
	int n_skipped;        /* already there and verified */
	int n_fetched;        /* downloaded and verified */
	int n_missing;        /* offline: missing or bad */
	uint64_t bytes_total;   /* size of all files */
	uint64_t bytes_fetched; /* bytes received in this run */
	char commit[41];      /* the commit the revision resolved to ("" offline without record) */
} ocr2_fetch_result;

/* Whether this build can download (libcurl); when not, ocr2_fetch fails with
 * OCR2_ERR_INVALID unless p->offline. */
int ocr2_fetch_available(void);
/* Fetches (or, offline, verifies) the model into dir, creating it. Failures:
 * OCR2_ERR_NETWORK ("URL: could not resolve host (no network?)"),
 * OCR2_ERR_CHECKSUM (the .part is deleted), OCR2_ERR_IO (disk),
 * OCR2_ERR_MODEL (offline: files missing or bad; the repository lacks a
 * needed file), OCR2_ERR_INTERRUPTED (*cancel; parts kept for a resume). */
ocr2_status ocr2_fetch(const char *dir, const ocr2_fetch_params *p, ocr2_fetch_result *r);

typedef struct {
	uint64_t bytes;  /* regular files directly in dir */
	int complete;    /* every recorded (or, without a record, every needed) file is there */
	int partial;     /* .incomplete/ holds parts of an interrupted fetch */
	char repo[128], commit[41];
	char why[160];   /* when not complete: what is missing */
} ocr2_model_dir_state;

/* Describes an installed model directory for `ocr2 model list` (sizes only,
 * no hashing). */
ocr2_status ocr2_model_dir_describe(const char *dir, ocr2_model_dir_state *st);

#endif
