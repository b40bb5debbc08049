/*
 * policy_store.h - the gateway's current signed policy: alert level,
 * authority contact key, revoked gateways and credentials.
 *
 * The policy arrives signed (from a file in the state directory, and from
 * the retained MQTT topic once sync runs); only a policy with a valid
 * authority signature and a higher policy_seq than the current one is
 * applied, and each applied policy is saved atomically to the state
 * directory so it survives a restart.  Loop thread only.
 */
#ifndef GW_POLICY_STORE_H
#define GW_POLICY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "anshim/policy.h"

struct gw_policy_store {
	const uint8_t *authority_pk;  /* borrowed, AS_SIGN_PK_LEN bytes */
	char *path;                   /* owned: where the policy is saved */
	int have_policy;
	struct as_policy policy;      /* owned */
};

/*
 * Initialise the store and load the policy saved at path, if any.  A
 * missing file is not an error (have_policy stays 0: not collecting); a
 * file that fails verification is an error naming the path.
 */
int gw_policy_store_init(struct gw_policy_store *s, const uint8_t *authority_pk,
			 const char *path, char *err, size_t err_len);
void gw_policy_store_free(struct gw_policy_store *s);

/*
 * Offer signed policy bytes.  Returns 1 if applied (and saved), 0 if
 * ignored because it is not newer, or a negative error (bad signature,
 * malformed, cannot save).
 */
int gw_policy_store_offer(struct gw_policy_store *s, const uint8_t *data, size_t len);

/* Collecting when a policy is present with alert level >= min_level. */
int gw_policy_store_collecting(const struct gw_policy_store *s, int min_level);

/* The alert level (0 when no policy is known). */
int gw_policy_store_level(const struct gw_policy_store *s);

/* The authority contact key from the policy, or NULL if none. */
const uint8_t *gw_policy_store_contact_key(const struct gw_policy_store *s);

/* The policy's version 2 pass settings for status: issuer keys listed,
 * and the end of version 1 phone passes (-1: no end set; 0: refused). */
void gw_policy_store_passes(const struct gw_policy_store *s, uint32_t *issuer_keys,
			    int64_t *v1_until);

/* Is this credential (or visit token) id revoked by the current policy?
 * Binary search. */
int gw_policy_store_credential_revoked(const struct gw_policy_store *s,
				       const uint8_t id[AS_HOLDER_ID_LEN]);

#endif
