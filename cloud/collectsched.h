/*
 * collectsched.h - when each venue category was collecting, from the
 * policies the authority issued (STORE/policy-history, one JSON line per
 * policy: its issue time, alert level and category table).
 *
 * A venue of category C collected at time t when the policy in force at t
 * (the last one issued at or before t) had an alert level at least C's
 * level in that policy's table (3 for a category it does not list, and
 * for a venue without a category).  A time before the first policy is
 * judged by the first policy (paper-register entries are typed after the
 * visit).  With no history at all nothing is refused: the cloud has no
 * basis to.  The ingest thread of anshim-cloudd uses it; one thread per
 * schedule.
 */
#ifndef CL_COLLECTSCHED_H
#define CL_COLLECTSCHED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "anshim/policy.h"

struct cl_collect_period {
	int64_t from;                        /* the policy's issue time */
	uint8_t level;                       /* its alert level */
	uint32_t n_categories;
	struct as_policy_category *categories; /* owned by the schedule */
};

struct cl_collect_sched {
	struct cl_collect_period *periods;   /* by from, ascending */
	size_t n;
	/* what was read, to reload only a changed file */
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	int loaded;
};

/*
 * (Re)load the schedule from the history file at path when it changed
 * since the last load (a missing file is an empty history).  On an error
 * the schedule keeps what it had and err names the file and line.
 * Returns 1 reloaded, 0 unchanged, or an error.
 */
int cl_collect_sched_refresh(struct cl_collect_sched *s, const char *path, char *err,
			     size_t err_len);

/* 1 if a venue of category (NULL or "" for none) was collecting at t. */
int cl_collect_sched_collecting(const struct cl_collect_sched *s, const char *category,
				int64_t t);

/* Release everything (the schedule can be refreshed again after). */
void cl_collect_sched_free(struct cl_collect_sched *s);

#endif
