/* fs.h - the file-system utilities every room uses (lib/base/fs.c): each
 * exists once here. */
#ifndef OCR2_BASE_FS_H
#define OCR2_BASE_FS_H

#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>

#include "ocr2.h"

/* ---- whole files ---- */

/* Reads fd to its end into a malloc'd buffer with a NUL after the last byte
 * (the bytes may hold NULs of their own: use *len). Returns 0, or -1 with
 * errno: EFBIG when there are more than max bytes, ENOMEM, or read's own. */
int ocr2_read_fd(int fd, size_t max, char **out, size_t *len);
/* ocr2_read_fd that gives up when *cancel is raised (a signal handler's
 * flag): it waits for bytes in steps of 100 ms that look at the flag, so a
 * read blocked on a pipe or a terminal ends within that time, with -1 and
 * errno EINTR. cancel NULL is ocr2_read_fd. */
int ocr2_read_fd_cancel(int fd, size_t max, volatile int *cancel, char **out, size_t *len);
/* Reads a whole (small) file into a malloc'd, NUL-terminated buffer. Failures
 * are one line naming the file ("cannot open: ...", "file too large" past max
 * bytes, "read error") with status err; out of memory is OCR2_ERR_NOMEM. */
ocr2_status ocr2_read_file(const char *path, size_t max, ocr2_status err, char **out,
			   size_t *len);

/* ---- paths and directories ---- */

/* "dir/name", malloc'd (NULL when out of memory); no second slash when dir
 * ends in one ("" gives "/name", as "%s/%s" always did). */
char *ocr2_path_join(const char *dir, const char *name);
/* The directory part of path, malloc'd: "a/b" -> "a", "/b" -> "/", "b" -> "."
 * (NULL when out of memory). */
char *ocr2_path_dir(const char *path);
/* path with its symbolic links followed (the last component, link after link,
 * up to 40; a relative target is taken from the link's directory), malloc'd:
 * the name of what an output written to path lands in. A dangling link gives
 * the name it points to. NULL when out of memory. */
char *ocr2_path_follow(const char *path);
/* mkdir -p: path and each missing parent, with mode (less the umask). A name
 * that exists already counts as made, whatever it is: a file in the way is
 * reported by the next step that needs a directory there (ENOTDIR). Returns
 * 0, or -1 with errno. */
int ocr2_mkdir_p(const char *path, mode_t mode);
/* The order directories are walked and models listed in, "natural" as file
 * managers show names: runs of ASCII digits compare by their numeric value
 * (leading zeros aside), everything else byte by byte, so f2 < f10 < g1; two
 * names equal that way ("f02", "f2") fall back to plain byte order, so the
 * order is total and the same on every machine (no locale). <0, 0, >0. */
int ocr2_natural_cmp(const char *a, const char *b);
/* fsync of a directory, after a rename into it. Returns -1 with errno only
 * when it cannot be opened: some file systems refuse the fsync itself, and the
 * rename is what matters. */
int ocr2_fsync_dir(const char *dir);

/* ---- atomic output ---- */

/* An output that appears whole or not at all: written to a temporary file
 * beside the final one, then ocr2_atomic_commit flushes it, fsyncs it, renames
 * it over the final name and fsyncs the directory (a crash leaves the old file
 * or the new one, never a part). A new file gets the mode any new file gets
 * (0666 less the umask); a file it replaces keeps its mode, and its owner and
 * group where the process may give them. The final name is followed through
 * symbolic links (ocr2_path_follow): the link stays and its target is
 * replaced. A final name that is a FIFO or a device is written into directly
 * ("direct"): no temporary, commit only flushes and closes, abort only
 * closes. The temporary is the final name hidden, ".NAME.tmp" (a name that
 * starts with a dot keeps its one dot), and: */
typedef enum {
	/* ".NAME.tmp.XXXXXX", unique: several writers may race for NAME; a killed
	 * run leaves its temporary (see ocr2_atomic_remove_stale) */
	OCR2_ATOMIC_SHARED,
	/* ".NAME.tmp" exactly: the caller is the only writer (a lock, or one run
	 * at a time by contract), and the next run overwrites what a killed one
	 * left */
	OCR2_ATOMIC_ALONE,
} ocr2_atomic_kind;

typedef struct {
	FILE *f;     /* the temporary, open for writing; NULL after ocr2_atomic_sync */
	char *tmp;   /* its path, for writers that open files by name (PNG); NULL when released */
	char *final; /* the name written, symbolic links followed */
	int direct;  /* final is a FIFO or device, written into as it is */
} ocr2_atomic;

/* Creates the temporary for final. Returns 0, or -1 with errno (nothing to
 * release). */
int ocr2_atomic_open(ocr2_atomic *a, const char *final, ocr2_atomic_kind kind);
/* The name ocr2_atomic_open gives the temporary of final, ".NAME.tmp" beside
 * it (OCR2_ATOMIC_SHARED adds ".XXXXXX"), malloc'd: for the message when the
 * open failed. NULL when out of memory. */
char *ocr2_atomic_tmp_path(const char *final);
/* The first half of commit, for a caller with more to do between writing and
 * renaming: fflush, fsync and fclose. Returns 0, or -1 with errno; either way
 * the temporary stays until ocr2_atomic_commit or ocr2_atomic_abort. */
int ocr2_atomic_sync(ocr2_atomic *a);
/* ocr2_atomic_sync (when not done), rename over the final name, fsync of the
 * directory (best effort, see ocr2_fsync_dir). Returns 0, or -1 with errno
 * and the temporary removed. Releases a either way. */
int ocr2_atomic_commit(ocr2_atomic *a);
/* Closes and removes the temporary and releases a; nothing when a holds none
 * (zeroed, committed or aborted). errno is kept. */
void ocr2_atomic_abort(ocr2_atomic *a);
/* Removes the ".NAME.tmp.XXXXXX" temporaries that killed runs left beside
 * final (links followed; OCR2_ATOMIC_SHARED): for a caller that knows it is the only one
 * writing final now. */
void ocr2_atomic_remove_stale(const char *final);

#endif
