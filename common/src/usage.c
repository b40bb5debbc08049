/*
 * usage.c - bad-usage messages for the CLIs (see usage.h).
 * Single-threaded CLI use.
 */
#include "anshim/usage.h"

#include <stdio.h>

int as_usage_verror(const char *prog, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return AS_EXIT_USAGE;
}

int as_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = as_usage_verror(prog, fmt, ap);
	va_end(ap);
	return rc;
}
