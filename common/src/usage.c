/*
 * usage.c - bad-usage messages for the CLIs, and one command's part of a
 * CLI's manual for 'PROG COMMAND --help' (see usage.h).  The manual is
 * the program's --help text: its "Commands:" list has a heading line per
 * command, indented two spaces, with the lines under it indented more.
 * Single-threaded CLI use.
 */
#include "anshim/usage.h"

#include <stdio.h>
#include <string.h>

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

/* Does the manual line (a command heading, "  NAME ..." or "  A | B")
 * name command? */
static int heading_names(const char *line, size_t len, const char *command)
{
	size_t n = strlen(command), i = 2;

	for (;;) {
		if (len - i >= n && memcmp(line + i, command, n) == 0 &&
		    (i + n == len || line[i + n] == ' '))
			return 1;
		/* the next alternative: after " | " */
		while (i < len && !(line[i] == '|' && i + 1 < len && line[i + 1] == ' '))
			i++;
		if (i >= len)
			return 0;
		i += 2;
	}
}

static int line_is_heading(const char *line, size_t len)
{
	return len > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ';
}

int as_usage_command_help(FILE *out, const char *prog, const char *manual, const char *command)
{
	const char *list = strstr(manual, "\nCommands:\n"), *p, *tail = NULL;
	int found = 0, in_section = 0;

	if (!list)
		return 0;
	/* Walk the Commands: list line by line; it ends at the first line that
	 * starts in column 0 (the paragraphs after it: common options, exit
	 * status...), which are printed after the command's own lines. */
	for (p = list + strlen("\nCommands:\n"); *p; ) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 0 && p[0] != ' ') {
			tail = p;
			break;
		}
		if (line_is_heading(p, len))
			in_section = heading_names(p, len, command);
		else if (len == 0)
			in_section = 0;
		if (in_section) {
			if (line_is_heading(p, len))
				fprintf(out, "Usage: %s %.*s\n", prog, (int)(len - 2), p + 2);
			else
				fprintf(out, "%.*s\n", (int)len, p);
			found = 1;
		}
		p = nl ? nl + 1 : p + len;
	}
	if (!found)
		return 0;
	fprintf(out, "\n(from '%s --help', which lists every command)\n", prog);
	if (tail)
		fprintf(out, "\n%s", tail);
	return 1;
}

int as_usage_subcommand_help(int argc, char **argv, const char *prog, const char *manual)
{
	char own[128];

	if (argc < 3 || argv[1][0] == '-')
		return 0;
	/* A command whose entry points to 'PROG COMMAND --help' has a manual
	 * of its own, which the command prints itself. */
	if (snprintf(own, sizeof own, "'%s %s --help'", prog, argv[1]) < (int)sizeof own &&
	    strstr(manual, own))
		return 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return as_usage_command_help(stdout, prog, manual, argv[1]);
	}
	return 0;
}
