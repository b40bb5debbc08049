/*
 * diary.c - the wallet's diary and outbox in one durable file (format in
 * diary.h).
 *
 * Invariants: what is on disk is always a complete file written by
 * wl_diary_save (temp + fsync + rename + fsync dir), so "recorded" and
 * "queued" never disagree; the loader accepts only a file in which every
 * line parses and every message decodes strictly, and no message appears
 * twice; an entry leaves the queued state only through a verified answer
 * (the caller verifies, wl_diary_answer applies), and only once.  Personal
 * data (the credential inside each message) stays in this file, mode 0600;
 * nothing here prints it.  Single-threaded; the caller holds the lock.
 */
#include "diary.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define DIARY_HEADER "anshim-wallet-diary 1"
/* "rejected 255 -9223372036854775808 " + hex + "\n" */
#define LINE_MAX_LEN (40 + 2 * AS_APP_CHECKIN_MAX)
#define FILE_MAX (sizeof DIARY_HEADER + (size_t)WL_DIARY_MAX * LINE_MAX_LEN)

static const char *const state_names[] = {"queued", "stored", "duplicate", "rejected"};

const char *wl_state_name(uint8_t state)
{
	return state < sizeof state_names / sizeof state_names[0] ? state_names[state] : "unknown";
}

static int state_parse(const char *word)
{
	for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
		if (strcmp(word, state_names[i]) == 0)
			return (int)i;
	return -1;
}

void wl_diary_free(struct wl_diary *d)
{
	free(d->e);
	memset(d, 0, sizeof *d);
}

static int grow(struct wl_diary *d)
{
	size_t cap = d->cap ? d->cap * 2 : 16;
	struct wl_entry *e;

	if (d->n < d->cap)
		return 0;
	if (d->n >= WL_DIARY_MAX)
		return AS_E_FULL;
	if (cap > WL_DIARY_MAX)
		cap = WL_DIARY_MAX;
	e = realloc(d->e, cap * sizeof *e);
	if (!e)
		return -ENOMEM;
	d->e = e;
	d->cap = cap;
	return 0;
}

struct wl_entry *wl_diary_find(struct wl_diary *d, const uint8_t id[AS_APP_CHECKIN_ID_LEN])
{
	for (size_t i = 0; i < d->n; i++)
		if (memcmp(d->e[i].id, id, AS_APP_CHECKIN_ID_LEN) == 0)
			return &d->e[i];
	return NULL;
}

int wl_diary_add(struct wl_diary *d, const uint8_t *msg, size_t len, struct wl_entry **out)
{
	uint8_t id[AS_APP_CHECKIN_ID_LEN];
	struct wl_entry *e;
	int rc;

	if (len > AS_APP_CHECKIN_MAX)
		return AS_E_OVERSIZE;
	as_app_checkin_id(id, msg, len);
	if (wl_diary_find(d, id))
		return AS_E_EXISTS;
	rc = grow(d);
	if (rc)
		return rc;
	e = &d->e[d->n];
	memset(e, 0, sizeof *e);
	rc = as_app_checkin_decode(&e->m, msg, len);
	if (rc)
		return rc;
	memcpy(e->msg, msg, len);
	e->len = len;
	memcpy(e->id, id, sizeof id);
	e->state = WL_QUEUED;
	d->n++;
	if (out)
		*out = e;
	return 0;
}

int wl_diary_answer(struct wl_diary *d, const struct as_app_answer *a)
{
	struct wl_entry *e = wl_diary_find(d, a->checkin_id);

	if (!e || e->state != WL_QUEUED)
		return 0;
	e->state = a->status;
	e->reason = a->reason;
	e->answered_at = a->cloud_time;
	return 1;
}

struct wl_entry *wl_diary_checkout_of(struct wl_diary *d,
				      const uint8_t id[AS_APP_CHECKIN_ID_LEN])
{
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].m.kind == AS_APP_CHECKOUT &&
		    memcmp(d->e[i].m.checkin_id, id, AS_APP_CHECKIN_ID_LEN) == 0)
			return &d->e[i];
	return NULL;
}

struct wl_entry *wl_diary_open_checkin(struct wl_diary *d)
{
	for (size_t i = d->n; i-- > 0;) {
		struct wl_entry *e = &d->e[i];

		if (e->m.kind != AS_APP_CHECKIN)
			continue;
		if (e->state == AS_APP_REJECTED)
			continue;
		return wl_diary_checkout_of(d, e->id) ? NULL : e;
	}
	return NULL;
}

size_t wl_diary_queued(const struct wl_diary *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += d->e[i].state == WL_QUEUED;
	return n;
}

/* Split one line (NUL-terminated, no LF) into its four fields and add it. */
static int parse_line(struct wl_diary *d, char *line, const char **why)
{
	char *f[4], *save = NULL;
	uint8_t msg[AS_APP_CHECKIN_MAX];
	int64_t reason, answered_at;
	struct wl_entry *e;
	int state, rc, i;

	for (i = 0; i < 4; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i]) {
			*why = "missing fields";
			return AS_E_CORRUPT;
		}
	}
	if (strtok_r(NULL, " ", &save)) {
		*why = "extra fields";
		return AS_E_CORRUPT;
	}
	state = state_parse(f[0]);
	if (state < 0) {
		*why = "unknown state";
		return AS_E_CORRUPT;
	}
	if (as_parse_int64(f[1], 0, AS_APP_R_LAST, &reason) ||
	    as_parse_int64(f[2], INT64_MIN, INT64_MAX, &answered_at)) {
		*why = "bad reason or answer time";
		return AS_E_CORRUPT;
	}
	if ((state == WL_QUEUED && (reason || answered_at)) ||
	    ((state == AS_APP_REJECTED) != (reason != 0))) {
		*why = "state and reason disagree";
		return AS_E_CORRUPT;
	}
	if (strlen(f[3]) % 2 || strlen(f[3]) > 2 * sizeof msg ||
	    as_hex_decode(msg, strlen(f[3]) / 2, f[3])) {
		*why = "message is not hex of a possible length";
		return AS_E_CORRUPT;
	}
	rc = wl_diary_add(d, msg, strlen(f[3]) / 2, &e);
	if (rc == AS_E_EXISTS)
		*why = "message listed twice";
	else if (rc == AS_E_FULL || rc == -ENOMEM)
		return rc;
	else if (rc)
		*why = "message does not decode";
	if (rc)
		return AS_E_CORRUPT;
	e->state = (uint8_t)state;
	e->reason = (uint8_t)reason;
	e->answered_at = answered_at;
	return 0;
}

int wl_diary_load(struct wl_diary *d, const char *path, char *err, size_t err_len)
{
	unsigned char *data;
	char *p, *end, *nl;
	size_t len, lineno = 1;
	const char *why = NULL;
	int rc;

	memset(d, 0, sizeof *d);
	rc = as_file_read_all(path, FILE_MAX, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		snprintf(err, err_len, "%s: cannot read: %s", path, as_strerror(rc));
		return rc;
	}
	p = (char *)data;
	end = p + len;
	if (memchr(p, '\0', len)) {
		why = "NUL byte in the file";
		rc = AS_E_CORRUPT;
		goto out;
	}
	nl = memchr(p, '\n', len);
	if (!nl || (size_t)(nl - p) != strlen(DIARY_HEADER) ||
	    memcmp(p, DIARY_HEADER, strlen(DIARY_HEADER)) != 0) {
		why = "not an anshim-wallet diary (version 1)";
		rc = AS_E_CORRUPT;
		goto out;
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			why = "last line has no line end";
			rc = AS_E_CORRUPT;
			goto out;
		}
		*nl = '\0';
		rc = parse_line(d, p, &why);
		if (rc)
			goto out;
	}
out:
	if (rc) {
		if (rc == AS_E_CORRUPT)
			snprintf(err, err_len, "%s:%zu: %s", path, lineno, why);
		else
			snprintf(err, err_len, "%s:%zu: %s", path, lineno, as_strerror(rc));
		wl_diary_free(d);
	}
	free(data);
	return rc;
}

int wl_diary_save(const struct wl_diary *d, const char *path)
{
	size_t cap = sizeof DIARY_HEADER + 1 + d->n * LINE_MAX_LEN, len;
	char *buf = malloc(cap);
	int rc;

	if (!buf)
		return -ENOMEM;
	len = (size_t)snprintf(buf, cap, "%s\n", DIARY_HEADER);
	for (size_t i = 0; i < d->n; i++) {
		const struct wl_entry *e = &d->e[i];

		len += (size_t)snprintf(buf + len, cap - len, "%s %u %" PRId64 " ",
					wl_state_name(e->state), e->reason, e->answered_at);
		as_hex_encode(buf + len, e->msg, e->len);
		len += 2 * e->len;
		buf[len++] = '\n';
	}
	rc = as_file_write_atomic(path, buf, len, 0600, 0);
	free(buf);
	return rc;
}

int wl_diary_lock(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof path, "%s/lock", dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int rc = -errno;
			close(fd);
			return rc;
		}
	}
	return fd;
}

void wl_diary_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
