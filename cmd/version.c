/* version.c - ocr2 --version: what a bug report needs. The version and the
 * commit it was built from, the CPU features found, the kernels that will run
 * on them, and the versions of the libraries linked (as tesseract --version). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

#include <cairo.h>
#include <glib.h>
#include <jpeglib.h>
#include <png.h>
#include <poppler.h>
#include <qpdf/qpdf-c.h>
#include <tiffio.h>

#include "cmd.h"
#include "compute/kernels.h"
#include "ocr2-config.h"
#include "ocr2-vcs.h"
#if OCR2_HAVE_CURL
#include <curl/curl.h>
#endif

/* OpenBLAS's own (cblas.h declares them in some packagings only) */
char *openblas_get_config(void);
char *openblas_get_corename(void);

static const char *yes(int b)
{
	return b ? "yes" : "no";
}

static void cpu_line(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	unsigned a = 0, b = 0, c = 0, d = 0, a1 = 0, b1 = 0, c1 = 0, d1 = 0;
	int amx = 0, bf16 = 0;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		amx = (d >> 24) & 1; /* AMX-TILE */
		if (a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1))
			bf16 = (a1 >> 5) & 1; /* AVX512_BF16 */
	}
	printf("cpu: x86_64, %ld CPUs online; avx2 %s, avx512f %s, avx512bw %s, avx512vl %s, "
	       "avx512_bf16 %s, amx %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), yes(__builtin_cpu_supports("avx2")),
	       yes(__builtin_cpu_supports("avx512f")), yes(__builtin_cpu_supports("avx512bw")),
	       yes(__builtin_cpu_supports("avx512vl")), yes(bf16), yes(amx));
#else
	printf("cpu: %ld CPUs online; no x86-64 features (portable kernels)\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
#endif
}

static void kernels_line(void)
{
	const char *simd = getenv("OCR2_NO_SIMD");
	printf("kernels: matrix-vector (decode, f32/bf16/q8 weights) %s; ", ocr2_gemv_kernel_name());
	printf("encoder products in %s",
	       ocr2_precision_resolve(OCR2_PRECISION_AUTO) == OCR2_PRECISION_BF16
		       ? "bf16 by default (avx512_bf16; --precision f32 for float32)"
		       : "float32 (no avx512_bf16 for --precision bf16)");
	printf("; ocr2's AVX-512 kernels %s\n", ocr2_have_avx512() ? "on" :
	       simd && *simd && strcmp(simd, "0") ? "off (OCR2_NO_SIMD)" : "off (no AVX-512)");
	char *core = openblas_get_corename();
	char *conf = openblas_get_config();
	const char *ct = getenv("OPENBLAS_CORETYPE");
	printf("openblas: core %s%s%s%s; %s\n", core ? core : "?", ct ? " (OPENBLAS_CORETYPE=" : "",
	       ct ? ct : "", ct ? ")" : "", conf ? conf : "?");
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("ocr2 %s (commit %s)\n", ocr2_version(), OCR2_COMMIT);
	cpu_line();
	kernels_line();
	const char *tv = TIFFGetVersion();
	const char *tn = strstr(tv, "Version ");
	int tl = tn ? (int)strcspn(tn + 8, " \n") : 0;
	printf("libraries: poppler %s, cairo %s, glib %u.%u.%u, libtiff %.*s, libpng %s, ",
	       poppler_get_version(), cairo_version_string(), glib_major_version,
	       glib_minor_version, glib_micro_version, tn ? tl : 1, tn ? tn + 8 : "?",
	       png_get_libpng_ver(NULL));
#ifdef LIBJPEG_TURBO_VERSION
#define STR2(x) #x
#define STR(x) STR2(x)
	printf("libjpeg-turbo %s (libjpeg %d)", STR(LIBJPEG_TURBO_VERSION), JPEG_LIB_VERSION);
#else
	printf("libjpeg %d", JPEG_LIB_VERSION);
#endif
	printf(", libqpdf %s", qpdf_get_qpdf_version());
#if OCR2_HAVE_CURL
	printf(", %s\n", curl_version());
#else
	printf(", no libcurl (no 'ocr2 model fetch' downloads)\n");
#endif
	if (fflush(stdout) != 0 || ferror(stdout))
		return EXIT_PARTIAL;
	return EXIT_OK;
}
