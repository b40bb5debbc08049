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
#include "clconfig.h"
#include "store.h"

struct cl_policy_request {
	int level;                                  /* 1..4 */
	const uint8_t (*revoke)[AS_HOLDER_ID_LEN];  /* credentials to add to the
						     * revoked list (borrowed) */
	size_t n_revoke;
	const uint8_t (*issuer_keys)[AS_SIGN_PK_LEN]; /* issuer keys to certify
						     * (borrowed; they accumulate) */
	size_t n_issuer_keys;
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
	uint32_t issuer_keys;             /* issuer keys the policy certifies */
	int published;                    /* publish asked and done */
	char publish_error[512];          /* publish asked and failed: why (the
					   * policy is saved all the same) */
};

/*
 * Issue the policy rq asks for with the gateways of store (read only).
 * Writes STORE/revoked-credentials (when new ones are given),
 * STORE/issuer-keys (the issuers' public keys the policy certifies, 32
 * bytes each, when new ones are given), STORE/policy
 * and rq->out atomically, then appends one line to STORE/policy-history
 * (fsynced), then publishes.  Returns 0 once the policy is saved (a
 * publish failure is reported in res, not as an error), or an error with
 * err (err_len bytes) naming the file and what to do.  Single thread per
 * call (publishing runs a private libuv loop); calls may run at once.
 */
int cl_policy_set(const struct cl_config *cfg, struct cl_store *store,
		  const struct cl_policy_request *rq, struct cl_policy_result *res, char *err,
		  size_t err_len);

/* The history file's path for cfg (STORE/policy-history) into out. */
int cl_policy_history_path(const struct cl_config *cfg, char *out, size_t len);

#endif
