/*
 * collectsched.c - the collection schedule by venue category
 * (collectsched.h), read from the policy history with jansson.
 *
 * Invariants: periods are sorted by issue time (the history is appended in
 * issue order, but a clock step could break that, so they are sorted); a
 * reload builds a new schedule and replaces the old one only when the whole
 * file parsed, so a bad line never leaves a half schedule.  Lines are
 * bounded by the reader (a longer one is an error naming its line).
 * Single-threaded per schedule.
 */
#include "collectsched.h"

#include "anshim/error.h"
#include "anshim/parse.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LINE_MAX_BYTES 65536
#define PERIODS_MAX 1000000

static void periods_free(struct cl_collect_period *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].categories);
	free(p);
}

/* One history line into *out.  0 or AS_E_FIELD. */
static int parse_line(const char *line, struct cl_collect_period *out)
{
	json_error_t jerr;
	json_t *root = json_loads(line, 0, &jerr), *cats, *value;
	const char *issued, *name;
	json_int_t level;
	int rc = AS_E_FIELD;

	memset(out, 0, sizeof *out);
	if (!root || !json_is_object(root))
		goto out;
	issued = json_string_value(json_object_get(root, "issued"));
	value = json_object_get(root, "level");
	if (!issued || as_parse_time(issued, &out->from) || !json_is_integer(value))
		goto out;
	level = json_integer_value(value);
	if (level < 1 || level > 4)
		goto out;
	out->level = (uint8_t)level;
	cats = json_object_get(root, "categories"); /* absent in older lines */
	if (cats && !json_is_object(cats))
		goto out;
	if (cats && json_object_size(cats)) {
		if (json_object_size(cats) > AS_POLICY_MAX_CATEGORIES)
			goto out;
		out->categories = calloc(json_object_size(cats), sizeof *out->categories);
		if (!out->categories) {
			rc = -ENOMEM;
			goto out;
		}
		json_object_foreach(cats, name, value) {
			struct as_policy_category *c = &out->categories[out->n_categories];

			if (as_policy_category_check(name) || !json_is_integer(value) ||
			    json_integer_value(value) < 1 || json_integer_value(value) > 4)
				goto out;
			memcpy(c->name, name, strlen(name) + 1);
			c->min_level = (uint8_t)json_integer_value(value);
			out->n_categories++;
		}
	}
	rc = 0;
out:
	if (rc) {
		free(out->categories);
		out->categories = NULL;
	}
	json_decref(root);
	return rc;
}

static int period_cmp(const void *a, const void *b)
{
	const struct cl_collect_period *x = a, *y = b;

	return (x->from > y->from) - (x->from < y->from);
}

int cl_collect_sched_refresh(struct cl_collect_sched *s, const char *path, char *err,
			     size_t err_len)
{
	struct cl_collect_period *periods = NULL;
	size_t n = 0, cap = 0;
	unsigned line_no = 0;
	struct stat st;
	char *line;
	FILE *f;
	int rc = 0;

	if (stat(path, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(err, err_len, "%s: %s", path, strerror(errno));
			return -errno;
		}
		if (s->loaded && s->n == 0)
			return 0;
		cl_collect_sched_free(s);
		s->loaded = 1;
		return 1;
	}
	if (s->loaded && s->dev == st.st_dev && s->ino == st.st_ino && s->size == st.st_size &&
	    s->mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec)
		return 0;
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	line = malloc(LINE_MAX_BYTES);
	if (!line) {
		fclose(f);
		return -ENOMEM;
	}
	/* Bounded: PERIODS_MAX lines at most. */
	while (fgets(line, LINE_MAX_BYTES, f)) {
		size_t len = strlen(line);

		line_no++;
		if (len == LINE_MAX_BYTES - 1 && line[len - 1] != '\n') {
			snprintf(err, err_len, "%s: line %u is too long", path, line_no);
			rc = AS_E_FIELD;
			break;
		}
		if (len <= 1)
			continue;
		if (n == PERIODS_MAX) {
			snprintf(err, err_len, "%s: more than %d policies", path, PERIODS_MAX);
			rc = AS_E_LENGTH;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			void *p = realloc(periods, ncap * sizeof *periods);
			if (!p) {
				rc = -ENOMEM;
				break;
			}
			periods = p;
			cap = ncap;
		}
		rc = parse_line(line, &periods[n]);
		if (rc) {
			snprintf(err, err_len, "%s: line %u is not a policy record (issued, level "
				 "1-4, categories)", path, line_no);
			break;
		}
		n++;
	}
	if (!rc && ferror(f)) {
		snprintf(err, err_len, "%s: read error", path);
		rc = -EIO;
	}
	free(line);
	fclose(f);
	if (rc) {
		periods_free(periods, n);
		return rc;
	}
	qsort(periods, n, sizeof *periods, period_cmp);
	cl_collect_sched_free(s);
	s->periods = periods;
	s->n = n;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	s->loaded = 1;
	return 1;
}

int cl_collect_sched_collecting(const struct cl_collect_sched *s, const char *category,
				int64_t t)
{
	const struct cl_collect_period *p;
	size_t lo = 0, hi;
	uint8_t min = AS_POLICY_DEFAULT_MIN_LEVEL;

	if (s->n == 0)
		return 1;
	/* The last period with from <= t, else the first. */
	hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->periods[mid].from <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	p = &s->periods[lo ? lo - 1 : 0];
	if (category && category[0])
		for (uint32_t i = 0; i < p->n_categories; i++)
			if (strcmp(p->categories[i].name, category) == 0)
				min = p->categories[i].min_level;
	return p->level >= min;
}

void cl_collect_sched_free(struct cl_collect_sched *s)
{
	periods_free(s->periods, s->n);
	memset(s, 0, sizeof *s);
}
