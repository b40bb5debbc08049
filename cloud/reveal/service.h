/*
 * service.h - what the reveal service answers (anshim-revealed; the
 * socket and the daemon are revealed.c).  One request in, one answer out:
 * rv_service_answer checks the caller (its Unix credentials from the
 * socket), enforces the two-person rule, writes the audit entry and only
 * then builds the answer.  The protocol is in docs/PROTOCOL.md ("Reveal
 * service"); the client is cloud/revealclient.h.
 *
 * Threads: rv_service_answer may run on several threads at once (the
 * libuv pool); the store is read in each call's own read transaction, the
 * log's check-then-append runs under one mutex.
 */
#ifndef RV_SERVICE_H
#define RV_SERVICE_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "authority.h"
#include "clconfig.h"
#include "store.h"

#define RV_GROUPS_MAX 1024         /* more: only the primary group counts */

struct rv_service {
	const struct cl_config *cfg;     /* borrowed for the service's life */
	struct cl_store *store;          /* read-only, opened at first use */
	uv_mutex_t store_lock;
	struct cl_authority keys;        /* contact.key, pseudonym.key */
	int has_console;
	uid_t console_uid;               /* reveal_console_user */
	int has_breakglass;
	gid_t breakglass_gid;            /* reveal_breakglass_group */
	uv_mutex_t log_lock;
	int locks;                       /* the mutexes are initialised */
};

/* Who is calling, from SO_PEERCRED / SO_PEERGROUPS. */
struct rv_peer {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[RV_GROUPS_MAX];
	char user[64];                   /* the Unix user's name, or "uid:N" */
};

/*
 * Load the keys (contact.key, pseudonym.key; audit.key is checked
 * readable), resolve the console's user and the
 * break-glass group.  0, or an error with err saying what to do.  Start-up
 * thread.
 */
int rv_service_init(struct rv_service *s, const struct cl_config *cfg, char *err,
		    size_t err_len);
void rv_service_free(struct rv_service *s);

/* The checks of rv_service_init without keeping anything (--check-config). */
int rv_service_check(const struct cl_config *cfg, char *err, size_t err_len);

/* Fill peer's user name from its uid. */
void rv_peer_name(struct rv_peer *peer);

/*
 * The answer to one request (req, len bytes, not NUL-terminated): a
 * malloc'd NUL-terminated JSON text the caller sends, then wipes and
 * frees; *answer_len its length.  NULL only when out of memory.  Logs
 * (never anything personal) what it refused and why.
 */
char *rv_service_answer(struct rv_service *s, const struct rv_peer *peer, const char *req,
			size_t len, size_t *answer_len);

#endif
