/*
 * usage.h - the one way the command-line tools report bad usage:
 * "PROG: MESSAGE" and "Try 'PROG --help'." on stderr, exit status 2; and
 * the one way 'PROG COMMAND --help' prints that command's manual.
 */
#ifndef ANSHIM_USAGE_H
#define ANSHIM_USAGE_H

#include <stdarg.h>
#include <stdio.h>

#define AS_EXIT_USAGE 2

/* Print the message for prog and return AS_EXIT_USAGE.  Single-threaded
 * CLI use. */
int as_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int as_usage_verror(const char *prog, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Print the part of manual (a program's --help text) about one command to
 * out: its entries in the manual's "Commands:" list (a heading line
 * "  COMMAND ..." or "  OTHER | COMMAND", with the indented lines under
 * it), then the paragraphs that follow the list (common options, exit
 * status).  Returns 1 when the manual has the command, else 0 (nothing
 * printed).  Single-threaded CLI use. */
int as_usage_command_help(FILE *out, const char *prog, const char *manual, const char *command);

/* 'PROG COMMAND ... --help' (or -h, before any "--"): print COMMAND's part
 * of manual on stdout and return 1 (exit 0); 0 when argv asks for no help,
 * the manual does not list argv[1], or the manual says "see 'PROG COMMAND
 * --help'" (the command has a manual of its own): the caller goes on as
 * usual. */
int as_usage_subcommand_help(int argc, char **argv, const char *prog, const char *manual);

#endif
