/*
 * sessions.h - the console's server-side sessions.
 *
 * A session is created at login and found again from the cookie
 * anshim_session.  Its id is 32 random bytes from libsodium, sent as 64
 * hex digits; only a hash of it is kept, so the table in memory does not
 * hold usable cookies.  Each session has its own CSRF token (32 random
 * bytes, 64 hex digits), which every state-changing request must send in
 * X-CSRF-Token.  A session ends after `idle` seconds without a request,
 * after `absolute` seconds in all, at logout, or when its account is
 * disabled; an ended session is forgotten at once.  At most `max`
 * sessions live at a time: when the table is full of live sessions, a
 * new login is refused (AS_E_FULL), never an old session dropped.
 *
 * Any thread: one mutex guards the table; every call holds it briefly.
 */
#ifndef CS_SESSIONS_H
#define CS_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

#define CS_TOKEN_HEX 64               /* hex digits of a session id or CSRF token */

struct cs_sessions;

/* A session as cs_sessions_find reports it (a copy). */
struct cs_session {
	struct cs_user user;
	char csrf[CS_TOKEN_HEX + 1];
	int64_t created, last_used;       /* unix seconds */
};

/* A table for at most max sessions (>= 1), with the idle and absolute
 * timeouts in seconds.  0 or -ENOMEM. */
int cs_sessions_new(struct cs_sessions **out, size_t max, int64_t idle, int64_t absolute);
void cs_sessions_free(struct cs_sessions *s);

/* Start a session for user at now: its id and CSRF token, as hex.  0, or
 * AS_E_FULL when max live sessions exist. */
int cs_sessions_create(struct cs_sessions *s, const struct cs_user *user, int64_t now,
		       char id[CS_TOKEN_HEX + 1], char csrf[CS_TOKEN_HEX + 1]);

/* The live session with this id (hex text from the cookie; anything else
 * is simply not found) at now, which counts as a use (the idle time starts
 * again).  0 with *out filled, AS_E_NOT_FOUND (unknown or malformed id),
 * or AS_E_EXPIRED (it was live and has timed out: now forgotten). */
int cs_sessions_find(struct cs_sessions *s, const char *id, int64_t now,
		     struct cs_session *out);

/* End the session with this id (logout).  0 or AS_E_NOT_FOUND. */
int cs_sessions_end(struct cs_sessions *s, const char *id);

/* End every session of the account name (disabled).  How many ended. */
size_t cs_sessions_end_user(struct cs_sessions *s, const char *name);

/* Live sessions at now (expired ones are forgotten on the way). */
size_t cs_sessions_count(struct cs_sessions *s, int64_t now);

/* Constant-time comparison of a CSRF token the client sent (may be NULL)
 * with the session's: 1 when equal. */
int cs_csrf_ok(const struct cs_session *session, const char *sent);

#endif
