/*
 * config.c - table-driven `key value` configuration files (see config.h).
 *
 * One parser serves three inputs: the defaults in the option table, a file
 * on disk, and text from stdin.  A value always goes through convert(),
 * which either produces a value inside the option's bounds or explains in
 * one sentence what is wrong and how to fix it; store() then moves it into
 * the caller's struct.  Everything is driven by the table: there is no
 * per-key code here and no global state.
 *
 * Invariants:
 *  - The text is read line by line with explicit lengths; no line longer
 *    than AS_CONFIG_LINE_MAX is parsed, and every loop is bounded by the
 *    length of its input or by one of the AS_CONFIG_*_MAX limits.
 *  - A load either succeeds with every value in bounds and every required
 *    key present, or fails, frees everything it set and leaves the owned
 *    fields zeroed: the caller never holds half a configuration.
 *  - A value of an AS_CFG_SECRET key never reaches an error message or a
 *    dump, and the buffers that held it are wiped before they are freed.
 *  - An AS_CFG_LIST list of n items has room for the smallest power of two
 *    >= n items, so appends grow it only when n is a power of two.
 *
 * Threads: none of its own; any thread may call it, one target at a time.
 */
#include "anshim/config.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SHOW_MAX 40    /* bytes of a bad value or key echoed in a message */
#define SUGGEST_MAX 64 /* longest word compared for "did you mean" */
#define WRAP_WIDTH 76  /* columns of example-file comments */
#define DEFAULTS_NAME "built-in defaults"
#define TABLE_NAME "option table"

/* Parsing state of one load; the table and target are borrowed. */
struct cfg_ctx {
	const char *name; /* path or "<stdin>" for messages */
	const struct as_config_option *table;
	size_t n_opts;
	void *target;
	size_t *seen; /* per option: line it was set on */
	char *err;
	size_t err_len;
};

/* A converted value before it is stored. */
struct cfg_value {
	int64_t i;  /* INT, DURATION, BOOL, ENUM */
	uint64_t u; /* SIZE */
	char *s;    /* STRING, PATH, LIST: malloc'd, owned until stored */
};

/* ---- messages --------------------------------------------------------- */

/* Write "NAME:LINE: <fmt>" (or "NAME: <fmt>" when line is 0) into the
 * caller's buffer and return rc. */
__attribute__((format(printf, 4, 5))) static int
fail(const struct cfg_ctx *c, size_t line, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->err_len == 0)
		return rc;
	if (line)
		n = snprintf(c->err, c->err_len, "%s:%zu: ", c->name, line);
	else
		n = snprintf(c->err, c->err_len, "%s: ", c->name);
	if (n < 0 || (size_t)n >= c->err_len)
		return rc;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

/* Copy at most SHOW_MAX bytes of s[0..n) into buf, not cutting a UTF-8
 * sequence, with "..." when shortened.  Returns buf. */
static const char *clip(char buf[SHOW_MAX + 4], const char *s, size_t n)
{
	size_t k = n;

	if (k > SHOW_MAX) {
		k = SHOW_MAX;
		while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
	}
	memcpy(buf, s, k);
	memcpy(buf + k, k < n ? "..." : "", k < n ? 4 : 1);
	return buf;
}

/* How a value appears in a message: 'text' (clipped), or "(hidden)" for a
 * secret.  quote = 0 leaves out the quotes (for numbers). */
static const char *shown(const struct as_config_option *o, const char *text,
			 char buf[SHOW_MAX + 8], int quote)
{
	char tmp[SHOW_MAX + 4];

	if (o->flags & AS_CFG_SECRET)
		return "(hidden)";
	clip(tmp, text, strlen(text));
	snprintf(buf, SHOW_MAX + 8, quote ? "'%s'" : "%s", tmp);
	return buf;
}

/* ---- "did you mean" ----------------------------------------------------- */

/* Optimal-string-alignment distance (edits, with adjacent swaps counting
 * one) between two words of at most SUGGEST_MAX bytes. */
static size_t edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
	size_t row[3][SUGGEST_MAX + 1];
	size_t *prev2 = row[0], *prev = row[1], *cur = row[2];

	for (size_t j = 0; j <= bn; j++)
		prev[j] = j;
	for (size_t i = 1; i <= an; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= bn; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = prev[j - 1] + cost;

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[bn];
}

/* The best candidate so far for a misspelt word. */
struct suggestion {
	char word[SUGGEST_MAX + 1]; /* the misspelt word, lowercased */
	size_t len;
	const char *best;
	size_t dist;
};

static void suggest_init(struct suggestion *sg, const char *word, size_t len)
{
	sg->best = NULL;
	sg->dist = (size_t)-1;
	sg->len = len > SUGGEST_MAX ? 0 : len; /* 0: too long, suggest nothing */
	for (size_t i = 0; i < sg->len; i++) {
		char ch = word[i];
		sg->word[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	sg->word[sg->len] = '\0';
}

/* Consider cand: it is a plausible meaning of the word when a few edits
 * turn one into the other (1 for short words, up to 3 for long ones), or
 * when one is a prefix of the other ("retention_dayz" / "retention"). */
static void suggest_consider(struct suggestion *sg, const char *cand)
{
	size_t cl = strlen(cand), longest, shortest, d, allowed;
	int prefix;

	if (sg->len == 0 || cl == 0 || cl > SUGGEST_MAX)
		return;
	longest = cl > sg->len ? cl : sg->len;
	shortest = cl < sg->len ? cl : sg->len;
	d = edit_distance(sg->word, sg->len, cand, cl);
	allowed = longest <= 4 ? 1 : longest <= 8 ? 2 : 3;
	prefix = shortest >= 3 && memcmp(sg->word, cand, shortest) == 0;
	if ((d <= allowed || prefix) && d < sg->dist) {
		sg->best = cand;
		sg->dist = d;
	}
}

/* Write " (did you mean 'x'?)" or "" into buf; returns buf. */
static const char *suggest_text(const struct suggestion *sg, char *buf, size_t len)
{
	if (sg->best)
		snprintf(buf, len, " (did you mean '%s'?)", sg->best);
	else
		buf[0] = '\0';
	return buf;
}

/* ---- numbers with units ------------------------------------------------- */

/* Split text into leading digits and a unit.  Returns the number of digits
 * (0 if there are none) and points *unit at the rest. */
static size_t split_number(const char *text, const char **unit)
{
	size_t d = 0;

	while (text[d] >= '0' && text[d] <= '9')
		d++;
	*unit = text + d;
	return d;
}

/* Parse the digits text[0..d) as a value in 0..max through as_parse_int64.
 * Returns 0, or -1 when the number is too large. */
static int digits_value(const char *text, size_t d, int64_t max, int64_t *out)
{
	char buf[24];

	if (d >= sizeof buf)
		return -1;
	memcpy(buf, text, d);
	buf[d] = '\0';
	return as_parse_int64(buf, 0, max, out) ? -1 : 0;
}

static const char size_suffixes[] = "kmgt"; /* 2^10, 2^20, 2^30, 2^40 */

/* "1048576", "512k", "64M", "1G", "2T" to bytes.  Returns 0, -1 when the
 * text is not a size, -2 when it is one too large for int64. */
static int parse_size(const char *text, uint64_t *out)
{
	const char *unit;
	size_t d = split_number(text, &unit);
	unsigned shift = 0;
	int64_t v;

	if (d == 0 || (unit[0] && unit[1]))
		return -1;
	if (unit[0]) {
		char u = unit[0] >= 'A' && unit[0] <= 'Z' ? (char)(unit[0] - 'A' + 'a')
							  : unit[0];
		const char *p = strchr(size_suffixes, u);
		if (!p || u == '\0')
			return -1;
		shift = 10u * (unsigned)(p - size_suffixes + 1);
	}
	if (digits_value(text, d, INT64_MAX >> shift, &v))
		return -2;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Bytes in the largest power-of-1024 unit that holds them exactly. */
static const char *format_size(char buf[32], uint64_t b)
{
	static const char units[] = "kMGT";
	int k = -1;

	while (b != 0 && k < 3 && (b & 1023) == 0) {
		b >>= 10;
		k++;
	}
	if (k < 0)
		snprintf(buf, 32, "%" PRIu64, b);
	else
		snprintf(buf, 32, "%" PRIu64 "%c", b, units[k]);
	return buf;
}

/* ---- converting one value ----------------------------------------------- */

static size_t count_choices(const char *const *choices)
{
	size_t n = 0;

	while (choices && n < AS_CONFIG_CHOICES_MAX && choices[n])
		n++;
	return n;
}

/* "a, b, c" into buf. */
static const char *list_choices(const char *const *choices, char *buf, size_t len)
{
	size_t used = 0, n = count_choices(choices);

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 choices[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

static int is_true_word(const char *t)
{
	static const char *const words[] = {"yes", "true", "on", "1"};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(t, words[i]) == 0)
			return 1;
	return 0;
}

static int is_false_word(const char *t)
{
	static const char *const words[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(t, words[i]) == 0)
			return 1;
	return 0;
}

/* A copy of a string value after its length and form checks. */
static int convert_string(const struct as_config_option *o, const char *text, size_t len,
			  struct cfg_value *v, char *why, size_t why_len)
{
	char sb[SHOW_MAX + 8];

	if (o->max > 0 && ((int64_t)len < o->min || (int64_t)len > o->max)) {
		snprintf(why, why_len,
			 "value is %zu bytes long (use %" PRId64 " to %" PRId64 " bytes)",
			 len, o->min, o->max);
		return AS_E_CONFIG;
	}
	if (o->type == AS_CFG_PATH && text[0] != '/') {
		snprintf(why, why_len, "%s is not an absolute path (start it with '/')",
			 shown(o, text, sb, 1));
		return AS_E_CONFIG;
	}
	v->s = malloc(len + 1);
	if (!v->s) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	memcpy(v->s, text, len + 1);
	return 0;
}

/*
 * Turn the text of a value (NUL-terminated, len bytes, no NUL inside) into
 * a value of o's type inside o's bounds.  Returns 0; AS_E_CONFIG with a
 * reason in why ("'900x' is not a duration (...)"); or -ENOMEM.
 */
static int convert(const struct as_config_option *o, const char *text, size_t len,
		   struct cfg_value *v, char *why, size_t why_len)
{
	char sb[SHOW_MAX + 8], lo[32], hi[32], more[SUGGEST_MAX + 40], all[512];
	int rc;

	memset(v, 0, sizeof *v);
	switch (o->type) {
	case AS_CFG_STRING:
	case AS_CFG_PATH:
	case AS_CFG_LIST:
		return convert_string(o, text, len, v, why, why_len);
	case AS_CFG_INT: {
		size_t k = text[0] == '-' || text[0] == '+';
		int64_t any;

		if (text[k] == '\0' || strspn(text + k, "0123456789") != len - k) {
			snprintf(why, why_len,
				 "%s is not an integer (use a whole number from "
				 "%" PRId64 " to %" PRId64 ")",
				 shown(o, text, sb, 1), o->min, o->max);
			return AS_E_CONFIG;
		}
		rc = as_parse_int64(text, INT64_MIN, INT64_MAX, &any);
		if (rc == 0)
			rc = as_parse_int64(text, o->min, o->max, &v->i);
		if (rc) {
			snprintf(why, why_len,
				 "value %s out of range (%" PRId64 "..%" PRId64 ")",
				 shown(o, text, sb, 0), o->min, o->max);
			return AS_E_CONFIG;
		}
		return 0;
	}
	case AS_CFG_BOOL:
		if (is_true_word(text) || is_false_word(text)) {
			v->i = is_true_word(text);
			return 0;
		}
		snprintf(why, why_len, "%s is not a boolean (use yes or no)",
			 shown(o, text, sb, 1));
		return AS_E_CONFIG;
	case AS_CFG_DURATION:
		rc = as_parse_duration(text, &v->i);
		if (rc == AS_E_FIELD) {
			snprintf(why, why_len,
				 "%s is not a duration (use e.g. 90s, 15m, 24h, 56d)",
				 shown(o, text, sb, 1));
			return AS_E_CONFIG;
		}
		if (rc || v->i < o->min || v->i > o->max) {
			snprintf(why, why_len, "value %s out of range (%s..%s)",
				 shown(o, text, sb, 0), as_format_duration(lo, o->min),
				 as_format_duration(hi, o->max));
			return AS_E_CONFIG;
		}
		return 0;
	case AS_CFG_SIZE:
		rc = parse_size(text, &v->u);
		if (rc == -1) {
			snprintf(why, why_len,
				 "%s is not a size (use e.g. 512k, 64M, 1G)",
				 shown(o, text, sb, 1));
			return AS_E_CONFIG;
		}
		if (rc || v->u < (uint64_t)o->min || v->u > (uint64_t)o->max) {
			snprintf(why, why_len, "value %s out of range (%s..%s)",
				 shown(o, text, sb, 0), format_size(lo, (uint64_t)o->min),
				 format_size(hi, (uint64_t)o->max));
			return AS_E_CONFIG;
		}
		return 0;
	case AS_CFG_ENUM: {
		size_t n = count_choices(o->choices);
		struct suggestion sg;

		for (size_t i = 0; i < n; i++) {
			if (strcmp(text, o->choices[i]) == 0) {
				v->i = (int64_t)i;
				return 0;
			}
		}
		suggest_init(&sg, text, len);
		for (size_t i = 0; i < n; i++)
			suggest_consider(&sg, o->choices[i]);
		if (o->flags & AS_CFG_SECRET)
			sg.best = NULL;
		snprintf(why, why_len, "%s is not one of: %s%s", shown(o, text, sb, 1),
			 list_choices(o->choices, all, sizeof all),
			 suggest_text(&sg, more, sizeof more));
		return AS_E_CONFIG;
	}
	}
	snprintf(why, why_len, "option has unknown type %d", (int)o->type);
	return AS_E_CONFIG;
}

/* ---- storing ------------------------------------------------------------ */

static void *field(void *target, const struct as_config_option *o)
{
	return (char *)target + o->offset;
}

static void free_string(const struct as_config_option *o, char *s)
{
	if (!s)
		return;
	if (o->flags & AS_CFG_SECRET)
		sodium_memzero(s, strlen(s));
	free(s);
}

static void free_list(const struct as_config_option *o, struct as_config_list *l)
{
	for (size_t i = 0; i < l->n && l->items; i++)
		free_string(o, l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Move v into target.  replace: an AS_CFG_LIST drops its old items first.
 * On failure v->s is still the caller's. */
static int store(const struct cfg_ctx *c, size_t line, const struct as_config_option *o,
		 struct cfg_value *v, int replace)
{
	void *f = field(c->target, o);

	switch (o->type) {
	case AS_CFG_STRING:
	case AS_CFG_PATH: {
		char **p = f;
		free_string(o, *p);
		*p = v->s;
		v->s = NULL;
		return 0;
	}
	case AS_CFG_INT:
	case AS_CFG_DURATION:
		*(int64_t *)f = v->i;
		return 0;
	case AS_CFG_BOOL:
	case AS_CFG_ENUM:
		*(int *)f = (int)v->i;
		return 0;
	case AS_CFG_SIZE:
		*(uint64_t *)f = v->u;
		return 0;
	case AS_CFG_LIST: {
		struct as_config_list *l = f;

		if (replace)
			free_list(o, l);
		if (l->n >= AS_CONFIG_LIST_MAX)
			return fail(
				c, line, AS_E_CONFIG,
				"key '%s': more than %d values (the limit is %d lines)",
				o->key, AS_CONFIG_LIST_MAX, AS_CONFIG_LIST_MAX);
		if ((l->n & (l->n - 1)) == 0) { /* full: 0, 1, 2, 4, ... */
			size_t cap = l->n ? 2 * l->n : 1;
			char **items = realloc(l->items, cap * sizeof *items);
			if (!items)
				return fail(c, line, -ENOMEM, "out of memory");
			l->items = items;
		}
		l->items[l->n++] = v->s;
		v->s = NULL;
		return 0;
	}
	}
	return fail(c, line, AS_E_CONFIG, "key '%s': unknown type", o->key);
}

/* Convert text for option index idx and store it; the file's line (0 for
 * a default). */
static int set_value(struct cfg_ctx *c, size_t line, size_t idx, const char *text,
		     size_t len)
{
	const struct as_config_option *o = &c->table[idx];
	struct cfg_value v;
	char why[800];
	int rc;

	rc = convert(o, text, len, &v, why, sizeof why);
	if (rc)
		return fail(c, line, rc, "key '%s': %s", o->key, why);
	rc = store(c, line, o, &v, line && !c->seen[idx]);
	free_string(o, v.s);
	return rc;
}

/* ---- the table and its defaults ----------------------------------------- */

static int key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static int valid_key(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!key_char(s[i]))
			return 0;
	return 1;
}

/* Check that the table makes sense and count its options. */
static int check_table(struct cfg_ctx *c)
{
	const struct as_config_option *t = c->table;
	size_t n = 0;
	const char *saved = c->name;
	int rc = 0;

	c->name = TABLE_NAME;
	while (t && n < AS_CONFIG_TABLE_MAX && t[n].key)
		n++;
	if (!t || n == AS_CONFIG_TABLE_MAX) {
		rc = fail(c, 0, AS_E_CONFIG,
			  "missing, or more than %d options (is the {0} "
			  "entry at its end?)",
			  AS_CONFIG_TABLE_MAX - 1);
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct as_config_option *o = &t[i];
		int numeric = o->type == AS_CFG_INT || o->type == AS_CFG_DURATION ||
			      o->type == AS_CFG_SIZE;
		int text = o->type == AS_CFG_STRING || o->type == AS_CFG_PATH ||
			   o->type == AS_CFG_LIST;

		if (!valid_key(o->key, strlen(o->key)))
			rc = fail(c, 0, AS_E_CONFIG, "key '%s' is not [a-z0-9_]+",
				  o->key);
		else if (o->type < AS_CFG_STRING || o->type > AS_CFG_LIST)
			rc = fail(c, 0, AS_E_CONFIG, "key '%s': unknown type %d", o->key,
				  (int)o->type);
		else if (o->flags & ~(unsigned)(AS_CFG_REQUIRED | AS_CFG_SECRET))
			rc = fail(c, 0, AS_E_CONFIG, "key '%s': unknown flags 0x%x",
				  o->key, o->flags);
		else if (!o->help || !o->help[0])
			rc = fail(c, 0, AS_E_CONFIG,
				  "key '%s' has no help text (every key is "
				  "documented in the example file)",
				  o->key);
		else if (numeric && o->min > o->max)
			rc = fail(c, 0, AS_E_CONFIG, "key '%s': min > max", o->key);
		else if ((o->type == AS_CFG_DURATION || o->type == AS_CFG_SIZE) &&
			 o->min < 0)
			rc = fail(c, 0, AS_E_CONFIG, "key '%s': min < 0", o->key);
		else if (text &&
			 (o->max > 0 ? o->min < 0 || o->min > o->max : o->min != 0))
			rc = fail(c, 0, AS_E_CONFIG,
				  "key '%s': bad length bounds (max 0 means "
				  "none; else 0 <= min <= max)",
				  o->key);
		else if (o->type == AS_CFG_ENUM &&
			 (count_choices(o->choices) == 0 ||
			  o->choices[count_choices(o->choices)] != NULL))
			rc = fail(c, 0, AS_E_CONFIG,
				  "key '%s': choices must hold 1 to %d words "
				  "and end with NULL",
				  o->key, AS_CONFIG_CHOICES_MAX);
		for (size_t j = 0; j < i && rc == 0; j++)
			if (strcmp(t[j].key, o->key) == 0)
				rc = fail(c, 0, AS_E_CONFIG, "key '%s' is listed twice",
					  o->key);
	}
	c->n_opts = n;
out:
	c->name = saved;
	return rc;
}

/* Set up c for table and target; allocates c->seen. */
static int ctx_init(struct cfg_ctx *c, const char *name,
		    const struct as_config_option *table, void *target, char *err,
		    size_t err_len)
{
	int rc;

	memset(c, 0, sizeof *c);
	c->name = name;
	c->table = table;
	c->target = target;
	c->err = err;
	c->err_len = err_len;
	if (err && err_len)
		err[0] = '\0';
	rc = check_table(c);
	if (rc)
		return rc;
	if (!target)
		return fail(c, 0, AS_E_CONFIG, "no target struct to fill");
	c->seen = calloc(c->n_opts + 1, sizeof *c->seen);
	if (!c->seen)
		return fail(c, 0, -ENOMEM, "out of memory");
	return 0;
}

/* Apply every default (validate a required key's sample without applying
 * it). */
static int apply_defaults(struct cfg_ctx *c)
{
	const char *saved = c->name;
	int rc = 0;

	c->name = DEFAULTS_NAME;
	for (size_t i = 0; i < c->n_opts && rc == 0; i++) {
		const struct as_config_option *o = &c->table[i];
		const char *d = o->default_value;
		struct cfg_value v;
		char why[800];

		if (!d)
			continue;
		if (strlen(d) > AS_CONFIG_LINE_MAX) {
			rc = fail(c, 0, AS_E_CONFIG,
				  "key '%s': default longer than a line", o->key);
		} else if (o->flags & AS_CFG_REQUIRED) {
			rc = convert(o, d, strlen(d), &v, why, sizeof why);
			if (rc)
				rc = fail(c, 0, rc, "key '%s': sample value: %s", o->key,
					  why);
			else
				free_string(o, v.s);
		} else {
			rc = set_value(c, 0, i, d, strlen(d));
		}
	}
	c->name = saved;
	return rc;
}

/* ---- reading text ------------------------------------------------------- */

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t need;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		need = 2, cp = s[0] & 0x1Fu, min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		need = 3, cp = s[0] & 0x0Fu, min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		need = 4, cp = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return need;
}

/* Reject NUL, control characters other than tab, and invalid UTF-8. */
static int check_bytes(const struct cfg_ctx *c, size_t line, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (u[i] == 0)
			return fail(c, line, AS_E_CONFIG,
				    "NUL byte at column %zu (the file must "
				    "be text)",
				    i + 1);
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7F)
			return fail(c, line, AS_E_CONFIG,
				    "control character 0x%02x at column %zu "
				    "(remove it)",
				    u[i], i + 1);
		k = utf8_seq(u + i, n - i);
		if (k == 0)
			return fail(c, line, AS_E_CONFIG,
				    "byte 0x%02x at column %zu is not valid "
				    "UTF-8 (save the file as UTF-8)",
				    u[i], i + 1);
		i += k;
	}
	return 0;
}

/* Index of the option named s[0..n), or c->n_opts. */
static size_t find_option(const struct cfg_ctx *c, const char *s, size_t n)
{
	size_t i = 0;

	while (i < c->n_opts &&
	       !(strlen(c->table[i].key) == n && memcmp(c->table[i].key, s, n) == 0))
		i++;
	return i;
}

/* A key that is not in the table, or not a key at all. */
static int bad_key(const struct cfg_ctx *c, size_t line, const char *s, size_t n)
{
	char kb[SHOW_MAX + 4], more[SUGGEST_MAX + 40];
	struct suggestion sg;
	const char *eq = memchr(s, '=', n);

	suggest_init(&sg, s, eq ? (size_t)(eq - s) : n);
	for (size_t i = 0; i < c->n_opts; i++)
		suggest_consider(&sg, c->table[i].key);
	suggest_text(&sg, more, sizeof more);
	clip(kb, s, n);
	if (eq)
		return fail(c, line, AS_E_CONFIG,
			    "'%s' is not a key: write 'key value' with a "
			    "space, not '='%s",
			    kb, more);
	if (!valid_key(s, n))
		return fail(c, line, AS_E_CONFIG,
			    "'%s' is not a valid key: keys use only a-z, "
			    "0-9 and '_'%s",
			    kb, more);
	if (sg.best)
		return fail(c, line, AS_E_CONFIG, "unknown key '%s'%s", kb, more);
	return fail(c, line, AS_E_CONFIG,
		    "unknown key '%s' (not a setting of this program; "
		    "check the example file)",
		    kb);
}

/* Unquote the value starting at s[0] == '"' into val; *vlen its length.
 * Only whitespace and a comment may follow the closing quote. */
static int unquote(const struct cfg_ctx *c, size_t line, const char *key, const char *s,
		   size_t n, char *val, size_t *vlen)
{
	size_t i = 1, o = 0;

	while (i < n && s[i] != '"') {
		if (s[i] == '\\') {
			if (i + 1 == n || (s[i + 1] != '"' && s[i + 1] != '\\'))
				return fail(c, line, AS_E_CONFIG,
					    "key '%s': a '\\' in a quoted value "
					    "must be followed by '\"' or '\\' (write "
					    "\\\\ for one "
					    "backslash)",
					    key);
			i++;
		}
		val[o++] = s[i++];
	}
	if (i == n)
		return fail(c, line, AS_E_CONFIG,
			    "key '%s': quoted value has no closing '\"' "
			    "(add one at its end)",
			    key);
	val[o] = '\0';
	*vlen = o;
	i++;
	{
		size_t after = i;
		while (i < n && is_space(s[i]))
			i++;
		if (i < n && !(s[i] == '#' && i > after))
			return fail(c, line, AS_E_CONFIG,
				    "key '%s': text after the closing quote "
				    "(only a comment may follow, after a space and '#')",
				    key);
	}
	return 0;
}

/* Parse one line of n bytes (no line end); val is scratch of
 * AS_CONFIG_LINE_MAX + 1 bytes. */
static int parse_line(struct cfg_ctx *c, size_t line, const char *s, size_t n, char *val)
{
	size_t i = 0, ks, kn, idx, vlen = 0;
	const struct as_config_option *o;
	int rc;

	rc = check_bytes(c, line, s, n);
	if (rc)
		return rc;
	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	ks = i;
	while (i < n && !is_space(s[i]))
		i++;
	kn = i - ks;
	idx = valid_key(s + ks, kn) ? find_option(c, s + ks, kn) : c->n_opts;
	if (idx == c->n_opts)
		return bad_key(c, line, s + ks, kn);
	o = &c->table[idx];
	if (o->type != AS_CFG_LIST && c->seen[idx])
		return fail(c, line, AS_E_CONFIG,
			    "key '%s' is given twice (lines %zu and %zu); "
			    "keep one",
			    o->key, c->seen[idx], line);
	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return fail(c, line, AS_E_CONFIG,
			    "key '%s' has no value (write '%s <value>', or "
			    "remove the line to use the default)",
			    o->key, o->key);
	if (s[i] == '"') {
		rc = unquote(c, line, o->key, s + i, n - i, val, &vlen);
		if (rc)
			return rc;
	} else {
		size_t e = i;
		while (e < n && !(s[e] == '#' && is_space(s[e - 1])))
			e++;
		while (e > i && is_space(s[e - 1]))
			e--;
		vlen = e - i;
		memcpy(val, s + i, vlen);
		val[vlen] = '\0';
	}
	rc = set_value(c, line, idx, val, vlen);
	if (rc == 0)
		c->seen[idx] = line;
	return rc;
}

/* Split text into lines and parse each. */
static int parse_text(struct cfg_ctx *c, const char *text, size_t len)
{
	char *val = malloc(AS_CONFIG_LINE_MAX + 1);
	size_t pos = 0, line = 0;
	int rc = 0;

	if (!val)
		return fail(c, 0, -ENOMEM, "out of memory");
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* UTF-8 byte order mark */
	while (pos < len && rc == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t n = end - pos;

		line++;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (n > AS_CONFIG_LINE_MAX)
			rc = fail(c, line, AS_E_CONFIG,
				  "line is %zu bytes long; the limit is %d "
				  "(shorten it)",
				  n, AS_CONFIG_LINE_MAX);
		else
			rc = parse_line(c, line, text + pos, n, val);
		pos = nl ? end + 1 : len;
	}
	sodium_memzero(val, AS_CONFIG_LINE_MAX + 1);
	free(val);
	return rc;
}

/* Every required key was set by the file. */
static int check_required(const struct cfg_ctx *c)
{
	size_t missing = 0, first = 0;

	for (size_t i = 0; i < c->n_opts; i++) {
		if ((c->table[i].flags & AS_CFG_REQUIRED) && !c->seen[i]) {
			if (missing++ == 0)
				first = i;
		}
	}
	if (missing == 0)
		return 0;
	if (missing == 1)
		return fail(c, 0, AS_E_CONFIG,
			    "missing required key '%s' (add a line "
			    "'%s <value>')",
			    c->table[first].key, c->table[first].key);
	return fail(c, 0, AS_E_CONFIG,
		    "missing required key '%s' (add a line '%s <value>'), "
		    "and %zu more required keys",
		    c->table[first].key, c->table[first].key, missing - 1);
}

/* ---- public entry points ------------------------------------------------ */

int as_config_defaults(const struct as_config_option *table, void *target, char *err,
		       size_t err_len)
{
	struct cfg_ctx c;
	int rc = ctx_init(&c, DEFAULTS_NAME, table, target, err, err_len);

	if (rc)
		return rc;
	rc = apply_defaults(&c);
	if (rc)
		as_config_free(table, target);
	free(c.seen);
	return rc;
}

/* A file that sets a secret must not be readable by every user of the
 * machine (the same rule as key files, one step looser: the service's
 * group may read a configuration).  mode < 0: the text came from no file. */
static int check_secret_mode(const struct cfg_ctx *c, long mode)
{
	for (size_t i = 0; mode >= 0 && i < c->n_opts; i++) {
		if ((c->table[i].flags & AS_CFG_SECRET) && c->seen[i] && (mode & 0004))
			return fail(c, 0, AS_E_CONFIG,
				    "sets the secret '%s' but every user of this machine may "
				    "read it (mode %04lo); refusing to use it. Make it readable "
				    "by the service alone: chmod o-rwx %s (e.g. mode 0640, owner "
				    "root, group of the service's user)",
				    c->table[i].key, (unsigned long)mode & 07777, c->name);
	}
	return 0;
}

static int load_text(const char *name, const char *text, size_t len, long mode,
		     const struct as_config_option *table, void *target, char *err,
		     size_t err_len)
{
	struct cfg_ctx c;
	int rc = ctx_init(&c, name ? name : "<config>", table, target, err, err_len);

	if (rc)
		return rc;
	rc = apply_defaults(&c);
	if (rc == 0 && len > 0 && !text)
		rc = fail(&c, 0, AS_E_CONFIG, "no text");
	if (rc == 0 && len > 0)
		rc = parse_text(&c, text, len);
	if (rc == 0)
		rc = check_required(&c);
	if (rc == 0)
		rc = check_secret_mode(&c, mode);
	if (rc)
		as_config_free(table, target);
	free(c.seen);
	return rc;
}

int as_config_load_string(const char *name, const char *text, size_t len,
			  const struct as_config_option *table, void *target, char *err,
			  size_t err_len)
{
	return load_text(name, text, len, -1, table, target, err, err_len);
}

int as_config_load_file(const char *path, const struct as_config_option *table,
			void *target, char *err, size_t err_len)
{
	struct cfg_ctx c;
	struct stat st;
	unsigned char *buf;
	size_t len;
	int rc;

	memset(&c, 0, sizeof c);
	c.name = path;
	c.err = err;
	c.err_len = err_len;
	rc = as_file_read_all(path, AS_CONFIG_FILE_MAX, &buf, &len);
	if (rc == AS_E_OVERSIZE)
		return fail(&c, 0, AS_E_CONFIG,
			    "file is larger than %d bytes (is this a "
			    "configuration file?)",
			    AS_CONFIG_FILE_MAX);
	if (rc == -EINVAL)
		return fail(&c, 0, AS_E_CONFIG, "not a regular file");
	if (rc)
		return fail(&c, 0, rc <= AS_ERR_BASE ? AS_E_CONFIG : rc,
			    "cannot read: %s", as_strerror(rc));
	/* The mode of the file as it is now; a chmod between this and the
	 * read only matters to an owner racing against himself. */
	rc = stat(path, &st) == 0 ? 0 : -errno;
	if (rc) {
		sodium_memzero(buf, len);
		free(buf);
		return fail(&c, 0, rc, "cannot read: %s", as_strerror(rc));
	}
	rc = load_text(path, (const char *)buf, len, (long)(st.st_mode & 07777), table,
		       target, err, err_len);
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

void as_config_free(const struct as_config_option *table, void *target)
{
	for (size_t i = 0; table && target && i < AS_CONFIG_TABLE_MAX && table[i].key;
	     i++) {
		const struct as_config_option *o = &table[i];

		if (o->type == AS_CFG_STRING || o->type == AS_CFG_PATH) {
			char **p = field(target, o);
			free_string(o, *p);
			*p = NULL;
		} else if (o->type == AS_CFG_LIST) {
			free_list(o, field(target, o));
		}
	}
}

/* ---- writing ------------------------------------------------------------ */

/* Write s as a value the parser reads back unchanged: quoted, with \" and
 * \\, only when it must be: when it is empty, has edge spaces, starts with
 * '"' or '#', or holds a '#' after a blank (a comment, unquoted).  Quoting
 * what need not be would double every '"' and '\\' in it, and a long value
 * would no longer fit on a line the parser accepts. */
static void put_value(FILE *out, const char *s)
{
	size_t n = strlen(s);
	int quote = n == 0 || is_space(s[0]) || is_space(s[n - 1]) || s[0] == '"' ||
		    s[0] == '#';

	for (size_t i = 1; i < n && !quote; i++)
		quote = s[i] == '#' && is_space(s[i - 1]);

	if (!quote) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fputc('\\', out);
		fputc(s[i], out);
	}
	fputc('"', out);
}

/* Write text as "# " comment lines of at most WRAP_WIDTH columns (a longer
 * word gets a line of its own); '\n' breaks the line, "\n\n" leaves an
 * empty comment line. */
static void put_wrapped(FILE *out, const char *text)
{
	const char *p = text;
	size_t col = 0;

	while (*p) {
		size_t w;

		if (*p == '\n') {
			fputs(col ? "\n" : "#\n", out);
			col = 0;
			p++;
			continue;
		}
		if (*p == ' ') {
			p++;
			continue;
		}
		w = strcspn(p, " \n");
		if (col && col + 1 + w > WRAP_WIDTH) {
			fputc('\n', out);
			col = 0;
		}
		fputs(col ? " " : "# ", out);
		col += col ? 1 : 2;
		fwrite(p, 1, w, out);
		col += w;
		p += w;
	}
	if (col)
		fputc('\n', out);
}

/* One sentence on what o accepts, for the example file. */
static const char *describe(const struct as_config_option *o, char *buf, size_t len)
{
	char lo[32], hi[32], all[512];
	size_t used = 0;
	int w = 0;

	buf[0] = '\0';
	switch (o->type) {
	case AS_CFG_STRING:
	case AS_CFG_LIST:
		if (o->max > 0)
			w = snprintf(buf, len,
				     "Text of %" PRId64 " to %" PRId64 " bytes.", o->min,
				     o->max);
		else
			w = snprintf(buf, len, "Text.");
		break;
	case AS_CFG_PATH:
		w = snprintf(buf, len, "An absolute path.");
		break;
	case AS_CFG_INT:
		w = snprintf(buf, len, "An integer from %" PRId64 " to %" PRId64 ".",
			     o->min, o->max);
		break;
	case AS_CFG_BOOL:
		w = snprintf(buf, len, "yes or no.");
		break;
	case AS_CFG_DURATION:
		w = snprintf(buf, len,
			     "A duration from %s to %s (e.g. 90s, 15m, 24h, 56d, 8w).",
			     as_format_duration(lo, o->min), as_format_duration(hi, o->max));
		break;
	case AS_CFG_SIZE:
		w = snprintf(buf, len,
			     "A size from %s to %s (e.g. 512k, 64M, 1G; k = 1024).",
			     format_size(lo, (uint64_t)o->min),
			     format_size(hi, (uint64_t)o->max));
		break;
	case AS_CFG_ENUM:
		w = snprintf(buf, len, "One of: %s.",
			     list_choices(o->choices, all, sizeof all));
		break;
	}
	used = w > 0 && (size_t)w < len ? (size_t)w : 0;
	if (o->type == AS_CFG_LIST && used < len)
		used += (size_t)snprintf(buf + used, len - used,
					 " Repeat the line to give several values.");
	if ((o->flags & AS_CFG_REQUIRED) && used < len)
		used += (size_t)snprintf(buf + used, len - used, " Required.");
	else if (!o->default_value && used < len)
		used += (size_t)snprintf(buf + used, len - used, " Not set by default.");
	if ((o->flags & AS_CFG_SECRET) && used < len)
		snprintf(buf + used, len - used,
			 " Secret: keep this file readable only by "
			 "the service; a file that sets it and that every user "
			 "may read is refused.");
	return buf;
}

static int finish_output(FILE *out)
{
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}

int as_config_write_example(FILE *out, const struct as_config_option *table,
			    const char *title)
{
	char buf[1024];
	struct cfg_ctx c;

	memset(&c, 0, sizeof c);
	c.name = TABLE_NAME;
	c.table = table;
	if (check_table(&c))
		return AS_E_CONFIG;
	if (title) {
		put_wrapped(out, title);
		fputs("#\n", out);
	}
	put_wrapped(
		out,
		"One setting per line: a key, spaces, a value.  A line starting "
		"with '#' is a comment; remove the '#' to change a setting from the "
		"default shown.  Quote a value (\"...\") to keep spaces at its ends or a "
		"'#'; inside quotes write \\\" and \\\\ for a quote and a backslash.");
	for (size_t i = 0; table && i < AS_CONFIG_TABLE_MAX && table[i].key; i++) {
		const struct as_config_option *o = &table[i];
		int active = (o->flags & AS_CFG_REQUIRED) && o->default_value;

		fputc('\n', out);
		put_wrapped(out, o->help ? o->help : "");
		put_wrapped(out, describe(o, buf, sizeof buf));
		fprintf(out, "%s%s", active ? "" : "#", o->key);
		if (o->default_value) {
			fputc(' ', out);
			put_value(out, o->default_value);
		}
		fputc('\n', out);
	}
	return finish_output(out);
}

int as_config_dump(FILE *out, const struct as_config_option *table, const void *target)
{
	char buf[32];

	for (size_t i = 0; table && target && i < AS_CONFIG_TABLE_MAX && table[i].key;
	     i++) {
		const struct as_config_option *o = &table[i];
		const void *f = (const char *)target + o->offset;

		if (o->flags & AS_CFG_SECRET) {
			int set = 1;
			if (o->type == AS_CFG_STRING || o->type == AS_CFG_PATH)
				set = *(char *const *)f != NULL;
			else if (o->type == AS_CFG_LIST)
				set = ((const struct as_config_list *)f)->n > 0;
			fprintf(out, "# %s %s\n", o->key,
				set ? "is set (value hidden)" : "is not set");
			continue;
		}
		switch (o->type) {
		case AS_CFG_STRING:
		case AS_CFG_PATH: {
			const char *s = *(char *const *)f;
			if (!s) {
				fprintf(out, "# %s is not set\n", o->key);
			} else {
				fprintf(out, "%s ", o->key);
				put_value(out, s);
				fputc('\n', out);
			}
			break;
		}
		case AS_CFG_INT:
			fprintf(out, "%s %" PRId64 "\n", o->key, *(const int64_t *)f);
			break;
		case AS_CFG_BOOL:
			fprintf(out, "%s %s\n", o->key, *(const int *)f ? "yes" : "no");
			break;
		case AS_CFG_DURATION:
			fprintf(out, "%s %s\n", o->key,
				as_format_duration(buf, *(const int64_t *)f));
			break;
		case AS_CFG_SIZE:
			fprintf(out, "%s %s\n", o->key,
				format_size(buf, *(const uint64_t *)f));
			break;
		case AS_CFG_ENUM: {
			int v = *(const int *)f;
			if (v >= 0 && (size_t)v < count_choices(o->choices))
				fprintf(out, "%s %s\n", o->key, o->choices[v]);
			else
				fprintf(out, "# %s has no valid value (%d)\n", o->key, v);
			break;
		}
		case AS_CFG_LIST: {
			const struct as_config_list *l = f;
			if (l->n == 0)
				fprintf(out, "# %s is empty\n", o->key);
			for (size_t k = 0; k < l->n && l->items; k++) {
				fprintf(out, "%s ", o->key);
				put_value(out, l->items[k]);
				fputc('\n', out);
			}
			break;
		}
		}
	}
	return finish_output(out);
}
