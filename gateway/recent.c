/*
 * recent.c - the duplicate-window table (see recent.h).
 *
 * Linear probing.  A slot is empty when its pid is all zero and its time
 * is 0; nothing else is ever written back to that state, so probe chains
 * stay intact.  Forgetting an entry sets its time to 1 (long expired)
 * instead of emptying the slot; expired entries are dropped when the table
 * is rebuilt, which happens when it becomes half full (growing it only if
 * the live entries still need the room).  Loop thread only.
 */
#include "recent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RECENT_INITIAL_CAP 1024

static const uint8_t zero_pid[AS_PID_LEN];

static int slot_empty(const struct gw_recent_slot *s)
{
	return s->time == 0 && memcmp(s->pid, zero_pid, AS_PID_LEN) == 0;
}

static size_t slot_index(const struct gw_recent *r, const uint8_t pid[AS_PID_LEN])
{
	uint64_t h;

	/* pids are BLAKE2b output: their bytes are already uniform. */
	memcpy(&h, pid, sizeof h);
	return (size_t)h & (r->cap - 1);
}

static struct gw_recent_slot *slot_find(const struct gw_recent *r,
					const uint8_t pid[AS_PID_LEN])
{
	size_t i = slot_index(r, pid);

	for (size_t probes = 0; probes < r->cap; probes++, i = (i + 1) & (r->cap - 1)) {
		struct gw_recent_slot *s = &r->slots[i];
		if (slot_empty(s))
			return s;
		if (memcmp(s->pid, pid, AS_PID_LEN) == 0)
			return s;
	}
	return NULL;
}

int gw_recent_init(struct gw_recent *r, int64_t window_seconds)
{
	r->cap = RECENT_INITIAL_CAP;
	r->used = 0;
	r->window = window_seconds;
	r->slots = calloc(r->cap, sizeof *r->slots);
	return r->slots ? 0 : -ENOMEM;
}

void gw_recent_free(struct gw_recent *r)
{
	free(r->slots);
	r->slots = NULL;
	r->cap = r->used = 0;
}

int gw_recent_seen(const struct gw_recent *r, const uint8_t pid[AS_PID_LEN], int64_t now)
{
	const struct gw_recent_slot *s = slot_find(r, pid);

	return s && !slot_empty(s) && s->time != 0 && s->time > now - r->window &&
	       s->time < now + r->window;
}

/* Rebuild into a table of new_cap slots, dropping expired entries. */
static int recent_rebuild(struct gw_recent *r, size_t new_cap, int64_t now)
{
	struct gw_recent old = *r;

	r->slots = calloc(new_cap, sizeof *r->slots);
	if (!r->slots) {
		*r = old;
		return -ENOMEM;
	}
	r->cap = new_cap;
	r->used = 0;
	for (size_t i = 0; i < old.cap; i++) {
		struct gw_recent_slot *s = &old.slots[i], *d;
		if (s->time == 0 || s->time <= now - r->window)
			continue;
		d = slot_find(r, s->pid);
		*d = *s;
		r->used++;
	}
	free(old.slots);
	return 0;
}

int gw_recent_note(struct gw_recent *r, const uint8_t pid[AS_PID_LEN], int64_t t, int64_t now)
{
	struct gw_recent_slot *s;

	if (t == 0)
		t = 1; /* 0 marks an empty slot */
	if ((r->used + 1) * 2 > r->cap) {
		size_t live = 0;
		for (size_t i = 0; i < r->cap; i++)
			live += r->slots[i].time > now - r->window;
		if (recent_rebuild(r, (live + 1) * 4 > r->cap ? r->cap * 2 : r->cap, now))
			return -ENOMEM;
	}
	s = slot_find(r, pid);
	if (!s)
		return -ENOMEM;
	if (slot_empty(s)) {
		memcpy(s->pid, pid, AS_PID_LEN);
		r->used++;
	}
	if (t > s->time)
		s->time = t;
	return 0;
}

void gw_recent_forget(struct gw_recent *r, const uint8_t pid[AS_PID_LEN], int64_t t)
{
	struct gw_recent_slot *s = slot_find(r, pid);

	/* Keep the pid in place (probe chains stay intact); time 1 is far
	 * outside any window, so it no longer counts as seen. */
	if (s && !slot_empty(s) && s->time == t)
		s->time = 1;
}
