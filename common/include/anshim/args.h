/*
 * args.h - the one command-line option parser of every Anshim program and
 * subcommand: getopt_long(3) with the same globals (optind, optarg), made
 * strict and given the house's error messages.
 *
 *  - A long option must be spelt in full.  getopt_long would take '--conf'
 *    for '--config' (or for any option it is the only prefix of), so a
 *    later option with the same prefix would silently change what an old
 *    command line means; here an abbreviation is refused and the message
 *    names the option it would have matched.
 *  - A bad option is reported as "PROG: MESSAGE" and "Try 'PROG --help'."
 *    on stderr (anshim/usage.h), naming the option and what is wrong.
 *
 * Single-threaded CLI use (getopt's state is global).
 */
#ifndef ANSHIM_ARGS_H
#define ANSHIM_ARGS_H

#include <getopt.h>
#include <stddef.h>

/*
 * The next option of argv, as getopt_long(argc, argv, shortopts, longopts,
 * longindex) would return it; set optind (1, or 2 after a subcommand word)
 * before the first call.  Returns the option's val (optarg set for one with
 * a value), -1 when the options end (optind is then the first operand), or
 * '?' after printing the usage error: an unknown or abbreviated option, a
 * missing value, or a value given to an option that takes none.  prog,
 * argv and the tables are borrowed.  Single-threaded.
 */
int as_args_next(const char *prog, int argc, char **argv, const char *shortopts,
		 const struct option *longopts, int *longindex);

/*
 * A TEXT operand that may be '-': then the first line of standard input,
 * without its line end, read into line (line_size bytes) and *text points
 * there; otherwise *text is operand.  Returns 0, or 1 after printing
 * "PROG: no WHAT on standard input" (nothing to read).  Single-threaded.
 */
int as_args_text_operand(const char *prog, const char *operand, const char *what, char *line,
			 size_t line_size, const char **text);

#endif
