/*
 * diary.h - the wallet's own record of its check-ins and check-outs, and
 * its outbox: every message the wallet signed, with its delivery state.
 *
 * One file, DIR/diary, is the whole state: the outbox is the entries still
 * "queued".  Recording a message and queueing it are therefore one atomic
 * write, and so is applying the cloud's answer (no window in which a
 * message is in one and not the other).
 *
 * File format (text, LF line ends):
 *
 *     anshim-wallet-diary 1
 *     STATE REASON ANSWERED_AT MESSAGE_HEX
 *     ...
 *
 * one line per message, in the order they were signed (delivery order: a
 * check-out always follows its check-in).  STATE is queued, stored,
 * duplicate or rejected; REASON the cloud's reason number (0 unless
 * rejected); ANSWERED_AT the cloud's time in the answer (0 while queued);
 * MESSAGE_HEX the encoded check-in or check-out (appcheckin.h), lower-case
 * hex.  The message is the source of every other field shown (time, venue,
 * code type, check-in id).  The file is replaced with as_file_write_atomic
 * (temp, fsync, rename, fsync dir): a crash leaves the old or the new file
 * and at most a stray DIR/diary.tmp.XXXXXX, which is never read.  Loading
 * is strict: a line that does not parse, a message that does not decode or
 * a repeated message makes the whole file AS_E_CORRUPT, with its line.
 *
 * Single-threaded (the wallet CLI); one process at a time per wallet
 * directory (wl_diary_lock).
 */
#ifndef WALLET_DIARY_H
#define WALLET_DIARY_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/appcheckin.h"

#define WL_DIARY_MAX 10000          /* entries; ~5 visits a day for 3 years */
#define WL_QUEUED 0                 /* state before any answer */

struct wl_entry {
	uint8_t state;                  /* WL_QUEUED or enum as_app_status */
	uint8_t reason;                 /* enum as_app_reason */
	int64_t answered_at;            /* cloud time of the answer; 0 */
	uint8_t id[AS_APP_CHECKIN_ID_LEN];
	size_t len;
	uint8_t msg[AS_APP_CHECKIN_MAX];
	struct as_app_checkin m;        /* msg decoded */
};

struct wl_diary {
	struct wl_entry *e;             /* owned; n used of cap */
	size_t n, cap;
};

/* Load path into d (which must be zeroed or freed).  A missing file is an
 * empty diary.  On AS_E_CORRUPT err says which line and why.  Returns 0,
 * AS_E_CORRUPT, AS_E_OVERSIZE, -ENOMEM or -errno. */
int wl_diary_load(struct wl_diary *d, const char *path, char *err, size_t err_len);

/* Replace path with d, atomically and durably (mode 0600).  0 or -errno. */
int wl_diary_save(const struct wl_diary *d, const char *path);

/* Append an encoded message (borrowed; decoded strictly) as queued.  Returns
 * 0, a decoder error, AS_E_EXISTS (this exact message is there already),
 * AS_E_FULL or -ENOMEM.  *out (may be NULL) points at the new entry until the
 * next add or free. */
int wl_diary_add(struct wl_diary *d, const uint8_t *msg, size_t len, struct wl_entry **out);

/* The entry of check-in id, or NULL.  Valid until the next add or free. */
struct wl_entry *wl_diary_find(struct wl_diary *d, const uint8_t id[AS_APP_CHECKIN_ID_LEN]);

/* Apply a verified answer: 1 if it changed a queued entry, 0 if the entry
 * is unknown or already answered (answers are idempotent: the first one
 * wins). */
int wl_diary_answer(struct wl_diary *d, const struct as_app_answer *a);

/* The latest check-in that has no check-out in the diary and was not
 * rejected, or NULL. */
struct wl_entry *wl_diary_open_checkin(struct wl_diary *d);

/* The check-out of check-in id, or NULL. */
struct wl_entry *wl_diary_checkout_of(struct wl_diary *d,
				      const uint8_t id[AS_APP_CHECKIN_ID_LEN]);

/* Number of queued entries. */
size_t wl_diary_queued(const struct wl_diary *d);

/* "queued", "stored", "duplicate", "rejected". */
const char *wl_state_name(uint8_t state);

void wl_diary_free(struct wl_diary *d);

/* Take an exclusive lock on the wallet directory (DIR/lock, flock), waiting
 * for another anshim-wallet command to finish.  Returns a descriptor to
 * pass to wl_diary_unlock, or -errno. */
int wl_diary_lock(const char *dir);
void wl_diary_unlock(int fd);

#endif
