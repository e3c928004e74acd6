/* error.h - the library's one way to fail: a status plus a one-line message
 * for ocr2_errmsg(), kept per thread (lib/base/error.c); and a clock. */
#ifndef OCR2_BASE_ERROR_H
#define OCR2_BASE_ERROR_H

#include "ocr2.h"

/* Records a one-line message for ocr2_errmsg() and returns s, so callers can
 * write `return ocr2_fail(OCR2_ERR_IO, "%s: cannot open", path);`. */
ocr2_status ocr2_fail(ocr2_status s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
double ocr2_now(void); /* monotonic seconds */

#endif
