/*
 * policy_set.h - issuing a new policy (alert level, contact key, revoked
 * gateways from the registry, revoked credentials), as 'anshim-cloud
 * policy set' and the console's POST /api/policy do: sign it, keep it in
 * the store directory (anshim-cloudd republishes it retained on every
 * connection), add it to the policy history, and publish it retained now.
 */
#ifndef CL_POLICY_SET_H
#define CL_POLICY_SET_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/credential.h"
#include "anshim/policy.h"
#include "clconfig.h"
#include "store.h"

struct cl_policy_request {
	int level;                                  /* 1..4 */
	const uint8_t (*revoke)[AS_HOLDER_ID_LEN];  /* credentials to add to the
						     * revoked list (borrowed) */
	size_t n_revoke;
	/* Issuer keys (section 1): the saved policy's, plus add, minus drop. */
	const uint8_t (*add_issuer)[AS_SIGN_PK_LEN];  /* borrowed */
	size_t n_add_issuer;
	const uint8_t (*drop_issuer)[AS_SIGN_PK_LEN]; /* borrowed */
	size_t n_drop_issuer;
	/* Version 1 passes (section 2): CL_V1_KEEP the saved policy's rule,
	 * CL_V1_UNTIL accepted before v1_until, CL_V1_REFUSE refused,
	 * CL_V1_ACCEPT accepted with no end (no section). */
	enum { CL_V1_KEEP = 0, CL_V1_UNTIL, CL_V1_REFUSE, CL_V1_ACCEPT } v1;
	int64_t v1_until;                           /* unix seconds, > 0 */
	/* Collect levels by venue category (section 3).  categories_set 0
	 * keeps the table of the saved policy; 1 replaces it with these
	 * n_categories entries (borrowed; 0 entries: every category collects
	 * from the default level 3).  Sections 4 and 5 always come from the
	 * registry: each active gateway's venue, and its venue's category. */
	int categories_set;
	const struct as_policy_category *categories;
	size_t n_categories;
	const char *keys_dir;                       /* sign.key, contact.pub */
	const char *out;                            /* also write a copy here (NULL: no) */
	const char *who;                            /* for the history: an account
						     * or a Unix user, 1-63 bytes */
	int publish;                                /* publish on the broker now */
};

struct cl_policy_result {
	uint64_t seq;                     /* the new policy's policy_seq */
	int64_t issued;                   /* unix seconds */
	uint32_t revoked_gateways, revoked_credentials;
	uint32_t issuer_keys;             /* issuer keys in the new policy */
	size_t bytes;                     /* the signed policy's size */
	uint32_t categories;              /* entries of the category table */
	uint32_t gateway_categories;      /* gateways given their venue's category */
	uint32_t gateway_venues;          /* gateways told their venue (section 5) */
	int v1_until_set;                 /* the new policy ends v1 passes... */
	int64_t v1_until;                 /* ...at this time (0: refused now) */
	int published;                    /* publish asked and done */
	char publish_error[512];          /* publish asked and failed: why (the
					   * policy is saved all the same) */
};

/*
 * Issue the policy rq asks for with the gateways of store (read only).
 * Sections the request does not change (issuer keys, the v1-pass rule,
 * category levels, gateway categories) are carried over from the saved
 * policy, so an alert-level change never drops them.
 * Writes STORE/revoked-credentials (when new ones are given), STORE/policy
 * and rq->out atomically, then appends one line to STORE/policy-history
 * (fsynced), then publishes.  Returns 0 once the policy is saved (a
 * publish failure is reported in res, not as an error), or an error with
 * err (err_len bytes) naming the file and what to do.  Single thread per
 * call (publishing runs a private libuv loop); calls may run at once.
 */
int cl_policy_set(const struct cl_config *cfg, struct cl_store *store,
		  const struct cl_policy_request *rq, struct cl_policy_result *res, char *err,
		  size_t err_len);

/*
 * The newest signed policy this node holds or its store keeps, the one it
 * republishes: STORE/policy (under store_dir), replaced first by the
 * newest policy a PostgreSQL store keeps when that one has a higher seq
 * and its signature verifies with sign_pk.  A STORE/policy newer than
 * anything the store keeps (issued before the store kept policies) is
 * kept in the store.  So a node never republishes an older policy than
 * the newest in PostgreSQL, nor than its own copy.  On 0, *data
 * (malloc'd, the caller frees it), *len and *seq; -ENOENT when neither
 * holds one.  warn (warn_len bytes) is set, and the node's own copy given,
 * when the store could not be read or its newest policy does not verify.
 * Any thread; one call per store directory at a time.
 */
int cl_policy_current(const char *store_dir, struct cl_store *store,
		      const uint8_t sign_pk[AS_SIGN_PK_LEN], unsigned char **data, size_t *len,
		      uint64_t *seq, char *warn, size_t warn_len);

/* The history file's path for cfg (STORE/policy-history) into out. */
int cl_policy_history_path(const struct cl_config *cfg, char *out, size_t len);

#endif
