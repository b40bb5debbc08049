/*
 * args.c - strict getopt_long for every program (see args.h).
 *
 * Before each step the remaining arguments are checked: every "--name" or
 * "--name=value" must name a long option exactly, carry a value when the
 * option needs one (attached, or as the next argument, which is then
 * skipped) and none when it takes none.  Only then does getopt_long run, so
 * its prefix matching never applies (an exact name always wins there) and
 * its own messages are switched off: short-option errors are worded here.
 * The scan stops at "--", after which everything is an operand.
 *
 * Invariants: loops are bounded by argc and by the lengths of the option
 * tables; argv is only permuted by getopt_long itself.  Single-threaded.
 */
#include "anshim/args.h"

#include "anshim/usage.h"

#include <stdio.h>
#include <string.h>

/* Does short option ch take a value?  0 no, 1 required, 2 optional, -1
 * unknown. */
static int short_kind(const char *shortopts, int ch)
{
	const char *p;

	if (ch == ':' || ch == '+' || ch == '-')
		return -1;
	p = strchr(shortopts, ch);
	if (!p)
		return -1;
	if (p[1] != ':')
		return 0;
	return p[2] == ':' ? 2 : 1;
}

/* The long option that name[0..len) abbreviates, if exactly one does. */
static const char *abbreviated(const struct option *longopts, const char *name, size_t len)
{
	const char *match = NULL;

	for (const struct option *o = longopts; o && o->name; o++) {
		if (strncmp(o->name, name, len) == 0) {
			if (match)
				return NULL;
			match = o->name;
		}
	}
	return match;
}

/* Check argv[from..argc); print the first problem and return -1, or 0. */
static int check_remaining(const char *prog, int argc, char **argv, int from,
			   const char *shortopts, const struct option *longopts)
{
	for (int i = from; i < argc; i++) {
		const char *arg = argv[i], *eq, *name;
		const struct option *o = NULL;
		size_t len;

		if (strcmp(arg, "--") == 0)
			return 0;
		if (arg[0] != '-' || arg[1] == '\0')
			continue; /* an operand (or "-" for standard input) */
		if (arg[1] != '-') {
			/* a cluster of short options: only its last one may take
			 * the next argument as its value */
			for (size_t k = 1; arg[k]; k++) {
				int kind = short_kind(shortopts, (unsigned char)arg[k]);
				if (kind == 1 || kind == 2) {
					if (kind == 1 && arg[k + 1] == '\0')
						i++;
					break;
				}
			}
			continue;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		for (const struct option *p = longopts; p && p->name; p++) {
			if (strlen(p->name) == len && strncmp(p->name, name, len) == 0) {
				o = p;
				break;
			}
		}
		if (!o) {
			const char *full = len ? abbreviated(longopts, name, len) : NULL;
			if (full)
				as_usage_error(prog, "unknown option '--%.*s': options are never "
					       "abbreviated; did you mean '--%s'?", (int)len, name,
					       full);
			else
				as_usage_error(prog, "unknown option '--%.*s'", (int)len, name);
			return -1;
		}
		if (o->has_arg == no_argument && eq) {
			as_usage_error(prog, "option '--%s' takes no value (got '%s')", o->name,
				       arg);
			return -1;
		}
		if (o->has_arg == required_argument && !eq) {
			if (i + 1 >= argc) {
				as_usage_error(prog, "option '--%s' needs a value", o->name);
				return -1;
			}
			i++;
		}
	}
	return 0;
}

int as_args_next(const char *prog, int argc, char **argv, const char *shortopts,
		 const struct option *longopts, int *longindex)
{
	char opts[128];
	int c;

	if (optind < 1)
		optind = 1;
	if (check_remaining(prog, argc, argv, optind, shortopts, longopts))
		return '?';
	/* A leading ':' makes getopt return ':' for a missing value. */
	snprintf(opts, sizeof opts, ":%s", shortopts[0] == ':' ? shortopts + 1 : shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts, longindex);
	if (c == ':') {
		as_usage_error(prog, "option '-%c' needs a value", optopt);
		return '?';
	}
	if (c == '?') {
		if (optopt)
			as_usage_error(prog, "unknown option '-%c'", optopt);
		else
			as_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
		return '?';
	}
	return c;
}

int as_args_text_operand(const char *prog, const char *operand, const char *what, char *line,
			 size_t line_size, const char **text)
{
	*text = operand;
	if (strcmp(operand, "-") != 0)
		return 0;
	if (!fgets(line, (int)line_size, stdin)) {
		fprintf(stderr, "%s: no %s on standard input\n", prog, what);
		return 1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	*text = line;
	return 0;
}
