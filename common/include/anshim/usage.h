/*
 * usage.h - the one way the command-line tools report bad usage:
 * "PROG: MESSAGE" and "Try 'PROG --help'." on stderr, exit status 2.
 */
#ifndef ANSHIM_USAGE_H
#define ANSHIM_USAGE_H

#include <stdarg.h>

#define AS_EXIT_USAGE 2

/* Print the message for prog and return AS_EXIT_USAGE.  Single-threaded
 * CLI use. */
int as_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int as_usage_verror(const char *prog, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
