/*
 * revealed_set.c - the opened contacts of one trace (revealed_set.h).
 *
 * Invariants: phones and names live only in the set's array, which is
 * zeroed before every free (also when it grows); a contact's reason for
 * not opening points into the set's own whys (the service's text is
 * borrowed for the sink call only).  One thread per set.
 */
#include "revealed_set.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_pid(const void *a, const void *b)
{
	return memcmp(((const struct cl_revealed_contact *)a)->pid,
		      ((const struct cl_revealed_contact *)b)->pid, AS_PID_LEN);
}

int cl_revealed_set_add(void *ctx, const struct cl_revealed_contact *c)
{
	struct cl_revealed_set *o = ctx;

	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		struct cl_revealed_contact *v = calloc(cap, sizeof *v);

		if (!v)
			return -ENOMEM;
		if (o->v) {
			memcpy(v, o->v, o->n * sizeof *v);
			sodium_memzero(o->v, o->cap * sizeof *v);
			free(o->v);
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n] = *c;
	o->v[o->n].why = "";
	if (!c->opened) {
		const char *why = c->why ? c->why : "does not open";
		unsigned k;

		for (k = 0; k < o->n_whys && strcmp(o->whys[k], why) != 0; k++)
			;
		if (k == o->n_whys && k < 8)
			snprintf(o->whys[o->n_whys++], sizeof o->whys[0], "%s", why);
		o->v[o->n].why = k < 8 ? o->whys[k] : "does not open";
	}
	o->n++;
	return 0;
}

void cl_revealed_set_sort(struct cl_revealed_set *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_pid);
}

int cl_revealed_set_open(void *ctx, const uint8_t pid[AS_PID_LEN], struct as_contact *c,
			 const char **why)
{
	const struct cl_revealed_set *o = ctx;
	struct cl_revealed_contact key;
	const struct cl_revealed_contact *hit;

	memcpy(key.pid, pid, AS_PID_LEN);
	hit = o->n ? bsearch(&key, o->v, o->n, sizeof key, cmp_pid) : NULL;
	if (!hit) {
		*why = "found after the audit entry was written; trace again";
		return 0;
	}
	if (!hit->opened) {
		*why = hit->why;
		return 0;
	}
	memcpy(c->phone, hit->phone, strnlen(hit->phone, sizeof c->phone - 1));
	memcpy(c->name, hit->name, strnlen(hit->name, sizeof c->name - 1));
	return 1;
}

void cl_revealed_set_wipe(struct cl_revealed_set *s)
{
	if (s->v) {
		sodium_memzero(s->v, s->cap * sizeof *s->v);
		free(s->v);
	}
	memset(s, 0, sizeof *s);
}
