/*
 * config.h - table-driven `key value` configuration files.
 *
 * A program describes its settings once, as a table of struct
 * as_config_option ending with an all-zero entry ({0}).  Each entry names a
 * key, its type, where the value lives in the program's own config struct
 * (offsetof), its bounds, its default and its help text.  From that one
 * table this module parses files, applies and validates defaults, writes the
 * commented example file that is shipped, and prints the effective
 * configuration for --check-config.
 *
 * File format (UTF-8 text, an optional BOM is skipped):
 *
 *     # a comment: '#' at line start or after whitespace
 *     freshness 15m            # trailing comment
 *     venue_name "  spaces and a # kept  "
 *     upstream mqtt://a.example   # a list key may repeat:
 *     upstream mqtt://b.example   # each line adds one item
 *
 *   - one `key value` per line; a key is [a-z0-9_]+, separated from its
 *     value by spaces or tabs; the value is the rest of the line, trimmed;
 *   - a value that starts with '"' is quoted: it ends at the next unescaped
 *     '"', keeps spaces and '#', and knows two escapes, \" and \\;
 *   - blank lines and comment lines are ignored; LF or CRLF line ends;
 *   - a line is at most AS_CONFIG_LINE_MAX bytes (without its line end);
 *     control characters other than tab, NUL bytes and invalid UTF-8 are
 *     errors;
 *   - every key is known to the table (unknown keys are errors, with a
 *     "did you mean" suggestion), and a key other than an AS_CFG_LIST key
 *     may appear only once.
 *
 * Value types and the C type at `offset` in the target struct:
 *
 *   AS_CFG_STRING    char *      malloc'd copy; NULL when unset.  If max > 0
 *                                its length in bytes must be in min..max.
 *   AS_CFG_PATH      char *      like STRING, and must start with '/'.
 *   AS_CFG_INT       int64_t     decimal, in min..max.
 *   AS_CFG_BOOL      int         yes/no, true/false, on/off, 1/0 (any case)
 *                                stored as 1 or 0.
 *   AS_CFG_DURATION  int64_t     seconds: 90, 90s, 15m, 24h, 56d, 8w; in
 *                                min..max seconds.
 *   AS_CFG_SIZE      uint64_t    bytes: 1048576, 512k, 64M, 1G, 2T (k/m/g/t
 *                                in any case, powers of 1024); in min..max
 *                                bytes (min >= 0).
 *   AS_CFG_ENUM      int         index into `choices` (a NULL-terminated
 *                                array of lowercase words, at most
 *                                AS_CONFIG_CHOICES_MAX).
 *   AS_CFG_LIST      struct as_config_list
 *                                each occurrence of the key appends one
 *                                malloc'd item (length bounds as STRING);
 *                                at most AS_CONFIG_LIST_MAX items.  The first
 *                                occurrence in a file replaces the default.
 *
 * Flags: AS_CFG_REQUIRED - the file must set the key.  A required key has
 * no default; its `default_value`, if any, is only the sample value written
 * (uncommented) into the example file, and is validated like a default.
 * AS_CFG_SECRET - the value is never echoed: error messages and
 * as_config_dump say "(hidden)", and the string is wiped before it is freed.
 * A file that sets a secret key and that every user may read (mode o+r) is
 * refused by as_config_load_file(), naming the key and the chmod to run.
 *
 * Errors are written into the caller's buffer as
 *     "PATH:LINE: key 'foo': what is wrong (how to fix it)"
 * and the functions return 0, AS_E_CONFIG (the text or the table is wrong),
 * -ENOMEM, or -errno when the file cannot be read or written.
 *
 * Ownership: the target struct owns every string and list the parser puts
 * in it, until as_config_free().  Tables and their strings are borrowed and
 * must outlive every call that takes them (in practice: static const).
 * There is no global state; every function may be called from any thread,
 * as long as one target is not used by two threads at once.
 */
#ifndef ANSHIM_CONFIG_H
#define ANSHIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AS_CONFIG_LINE_MAX 4096		 /* bytes per line, without "\r\n" */
#define AS_CONFIG_FILE_MAX (1024 * 1024) /* bytes per file */
#define AS_CONFIG_LIST_MAX 1024		 /* items per AS_CFG_LIST key */
#define AS_CONFIG_CHOICES_MAX 64	 /* choices per AS_CFG_ENUM key */
#define AS_CONFIG_TABLE_MAX 512		 /* options per table */

enum as_config_type {
	AS_CFG_STRING = 1,
	AS_CFG_PATH,
	AS_CFG_INT,
	AS_CFG_BOOL,
	AS_CFG_DURATION,
	AS_CFG_SIZE,
	AS_CFG_ENUM,
	AS_CFG_LIST
};

enum as_config_flags {
	AS_CFG_REQUIRED = 1u << 0, /* the file must set this key */
	AS_CFG_SECRET = 1u << 1	   /* never echo the value */
};

/* The value of an AS_CFG_LIST key: n items, each a malloc'd string owned
 * (with the array) by the target until as_config_free(). */
struct as_config_list {
	size_t n;
	char **items;
};

/* One setting.  A table is an array of these ending with {0}. */
struct as_config_option {
	const char *key;            /* [a-z0-9_]+; NULL ends the table */
	enum as_config_type type;
	size_t offset;              /* offsetof(struct my_config, field) */
	int64_t min, max;           /* bounds; see the type list above */
	const char *const *choices; /* AS_CFG_ENUM only; NULL-terminated */
	unsigned flags;             /* enum as_config_flags */
	const char *default_value;  /* text, parsed like a file value; or NULL */
	const char *help;           /* required: sentences for the example file;
	                               "\n\n" starts a new paragraph */
};

/*
 * Check the table (keys valid and unique, known types and flags, help text
 * present, min <= max, enum choices present) and apply every default_value
 * to target through the same parser as file values, so a bad default is
 * caught here.  Keys without a default (and required keys) are left as they
 * are: target should start zeroed.  A required key's sample value is
 * validated but not applied.
 *
 * target (not NULL) must own nothing when called: zero-initialised, or
 * cleared by as_config_free().  On success it owns the strings and lists
 * set; on failure everything is freed and the fields are zeroed again.  On error a
 * message (starting "built-in defaults: ") is written to err (err may be
 * NULL when err_len is 0).  Returns 0, AS_E_CONFIG or -ENOMEM.
 */
int as_config_defaults(const struct as_config_option *table, void *target, char *err,
		       size_t err_len);

/*
 * Apply the defaults, then read the file at path (at most
 * AS_CONFIG_FILE_MAX bytes) and set each key found; finally check that
 * every required key was given.  Same ownership rules as
 * as_config_defaults(): target must own nothing before the call, owns the
 * values after success, and owns nothing (all zeroed) after failure.  To
 * reload, load into a fresh zeroed struct and swap it in on success.
 * Returns 0, AS_E_CONFIG (message names path and line), -ENOMEM, or -errno
 * when the file cannot be read ("PATH: cannot read: ...").
 */
int as_config_load_file(const char *path, const struct as_config_option *table,
			void *target, char *err, size_t err_len);

/*
 * As as_config_load_file(), on len bytes of text (which need not be
 * NUL-terminated and may come from stdin).  name is used in place of a
 * path in error messages, e.g. "<stdin>".  The text is borrowed.
 */
int as_config_load_string(const char *name, const char *text, size_t len,
			  const struct as_config_option *table, void *target, char *err,
			  size_t err_len);

/*
 * Free every string and list the table's options hold in target (wiping
 * AS_CFG_SECRET strings first) and zero those fields.  Other fields are not
 * touched.  Safe to call twice, and on a zeroed target.  Any thread.
 */
void as_config_free(const struct as_config_option *table, void *target);

/*
 * Write a commented example configuration to out: a title comment, then for
 * each option its help text and accepted values as '#' comment lines
 * (wrapped at 76 columns) and a `#key default` line; a required key is
 * written uncommented with its sample value (`key sample`), or as `#key`
 * when it has none.  Values are quoted where needed, so the output parses
 * back to the defaults (plus the samples) when every required key has a
 * sample.  title may be NULL.  Returns 0, AS_E_CONFIG if the table itself
 * is malformed (nothing written), or -EIO if writing failed.
 */
int as_config_write_example(FILE *out, const struct as_config_option *table,
			    const char *title);

/*
 * Print the effective configuration in target as `key value` lines in
 * table order, in the same syntax the parser reads (durations and sizes in
 * their largest exact unit, strings quoted where needed, one line per list
 * item).  Unset strings, empty lists and AS_CFG_SECRET values are printed as
 * comments ("# key is set (value hidden)").  Returns 0, or -EIO if
 * writing failed.
 */
int as_config_dump(FILE *out, const struct as_config_option *table, const void *target);

#endif
