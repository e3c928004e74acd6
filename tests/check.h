/* check.h - the one assertion helper of the C tests (header only; one test
 * program per file includes it).
 *
 *   CHECK(cond, fmt, ...)   counts a check; when cond is false prints
 *                           "FAIL file:line: message" and counts a failure
 *   FAIL(fmt, ...)          a failure with no condition to test
 *   check_done()            prints the tally; main's exit status (0, or 1
 *                           after any failure)
 *   check_skip(fmt, ...)    prints why; exit status 77 (meson: skipped)
 *   check_near(got, want, tol)   |got - want| <= tol, NaN never near
 *   check_max_abs(a, b, n, &at)  max |a[i] - b[i]| over float arrays, a NaN
 *                           counting as infinitely far (where: *at)
 *
 * Messages go to stderr, or to check_out when a test sets it (test-readers
 * watches its own stderr). After CHECK_SHOW_MAX messages (50 unless the test
 * defines it before the include) failures are still counted but not shown. */
#ifndef OCR2_TEST_CHECK_H
#define OCR2_TEST_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifndef CHECK_SHOW_MAX
#define CHECK_SHOW_MAX 50
#endif

#define CHECK_SKIPPED 77 /* meson's exit status for a skipped test */

static int check_count __attribute__((unused));
static int check_failures __attribute__((unused));
static FILE *check_out __attribute__((unused));

__attribute__((format(printf, 3, 4), unused)) static void check_fail_at(const char *file,
									  int line,
									  const char *fmt, ...)
{
	FILE *o = check_out ? check_out : stderr;
	if (check_failures++ < CHECK_SHOW_MAX) {
		const char *base = file;
		for (const char *p = file; *p; p++)
			if (*p == '/')
				base = p + 1;
		fprintf(o, "FAIL %s:%d: ", base, line);
		va_list ap;
		va_start(ap, fmt);
		vfprintf(o, fmt, ap);
		va_end(ap);
		fputc('\n', o);
	} else if (check_failures == CHECK_SHOW_MAX + 1) {
		fprintf(o, "(more failures: counted, not shown)\n");
	}
	fflush(o);
}

#define FAIL(...) (check_count++, check_fail_at(__FILE__, __LINE__, __VA_ARGS__))
#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		check_count++;                                                             \
		if (!(cond))                                                               \
			check_fail_at(__FILE__, __LINE__, __VA_ARGS__);                    \
	} while (0)

__attribute__((unused)) static int check_done(void)
{
	fflush(stdout);
	if (check_failures) {
		fprintf(check_out ? check_out : stderr, "%d of %d checks failed\n", check_failures,
			check_count);
		return 1;
	}
	printf("ok: %d checks\n", check_count);
	return 0;
}

__attribute__((format(printf, 1, 2), unused)) static int check_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return CHECK_SKIPPED;
}

__attribute__((unused)) static bool check_near(double got, double want, double tol)
{
	return fabs(got - want) <= tol;
}

__attribute__((unused)) static double check_max_abs(const float *a, const float *b, size_t n,
						      size_t *at)
{
	double m = 0;
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		if (!(d <= m)) { /* NaN counts as infinite error */
			m = isnan(d) ? INFINITY : d;
			w = i;
		}
	}
	if (at)
		*at = w;
	return m;
}

#endif
