/* hub.h - model downloads from a Hugging Face hub and the offline check of
 * what was downloaded (lib/hub/). */
#ifndef OCR2_HUB_HUB_H
#define OCR2_HUB_HUB_H

#include <stddef.h>
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
	/* dir is a Hugging Face cache (ocr2_hf_cache_root) to download into in its
	 * own layout: blobs/HASH (parts grow as blobs/HASH.incomplete, as
	 * huggingface_hub's do), snapshots/COMMIT/NAME linked to them, refs/REV
	 * (and refs/main when there is none yet); the record goes in the snapshot */
	int hf_cache;
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
	char dir[4096];       /* where the model is: dir, or the snapshot in a cache */
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

/* ---- the Hugging Face cache (hfcache.c) ---- */

/* $HF_HUB_CACHE, else $HF_HOME/hub, else ${XDG_CACHE_HOME:-~/.cache}/huggingface/hub
 * (malloc'd). */
char *ocr2_hf_cache_root(void);
/* root/models--OWNER--NAME for "OWNER/NAME" (malloc'd). */
char *ocr2_hf_repo_dir(const char *root, const char *repo);
/* A refs/ file's text: 0 and the commit when it is 40 lowercase hex digits
 * (trailing white space allowed), else -1. */
int ocr2_hf_parse_ref(const char *text, size_t n, char commit[41]);
/* repo_dir/refs/NAME's commit: 0, or -1 when absent or not a commit. */
int ocr2_hf_read_ref(const char *repo_dir, const char *name, char commit[41]);
/* The snapshot of repo at revision (a commit, or a ref; NULL: main) when its
 * folder exists, else NULL (malloc'd). */
char *ocr2_hf_snapshot(const char *root, const char *repo, const char *revision);
/* The commits under repo_dir/snapshots/ in natural order (*out malloc'd,
 * each name too); how many. */
int ocr2_hf_snapshots(const char *repo_dir, char ***out);
/* The snapshot of repo to use: the one whose commit starts with prefix (when
 * given, and only one does), else main's, else ocr2's pinned commit, else the
 * only one; NULL when none (malloc'd). */
char *ocr2_hf_find(const char *root, const char *repo, const char *prefix);
/* "models--OWNER--NAME" -> "OWNER/NAME": 0, or -1 when folder is not a model's. */
int ocr2_hf_repo_of(const char *folder, char *repo, size_t n);

typedef struct {
	uint64_t bytes;  /* regular files directly in dir */
	int complete;    /* every recorded (or, without a record, every needed) file is there */
	int partial;     /* .incomplete/ holds parts of an interrupted fetch */
	char repo[128], commit[41];
	char why[160];   /* when not complete: what is missing */
} ocr2_model_dir_state;

/* Describes an installed model directory for `ocr2 model list` (sizes only,
 * no hashing): against the record of its fetch, or without one against what
 * the safetensors headers say each file holds (a truncated file makes it
 * incomplete, with why naming the file). */
ocr2_status ocr2_model_dir_describe(const char *dir, ocr2_model_dir_state *st);

#endif
