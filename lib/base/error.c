/* error.c - status codes, the per-thread error message and the clock.
 * Every library failure passes through ocr2_fail(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "ocr2-config.h"

static _Thread_local char errbuf[1024];

const char *ocr2_strerror(ocr2_status s)
{
	switch (s) {
	case OCR2_OK: return "success";
	case OCR2_ERR_IO: return "input/output error";
	case OCR2_ERR_FORMAT: return "unsupported or corrupt format";
	case OCR2_ERR_ENCRYPTED: return "encrypted document";
	case OCR2_ERR_TOO_LARGE: return "image dimensions too large";
	case OCR2_ERR_EMPTY: return "document has no pages";
	case OCR2_ERR_MODEL: return "model missing or invalid";
	case OCR2_ERR_NOMEM: return "out of memory";
	case OCR2_ERR_INVALID: return "invalid argument";
	case OCR2_ERR_UTF8: return "invalid UTF-8";
	case OCR2_ERR_INTERRUPTED: return "interrupted";
	case OCR2_ERR_NETWORK: return "network error";
	case OCR2_ERR_CHECKSUM: return "checksum mismatch";
	case OCR2_ERR_INTERNAL: return "internal error";
	}
	return "unknown error";
}

const char *ocr2_errmsg(void)
{
	return errbuf;
}

const char *ocr2_version(void)
{
	return OCR2_VERSION;
}

ocr2_status ocr2_fail(ocr2_status s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	/* one line, always */
	for (char *p = errbuf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

double ocr2_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
