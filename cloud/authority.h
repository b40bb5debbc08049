/*
 * authority.h - the health authority's keys (signing, contact, pseudonym)
 * and credential issuance.
 *
 * Key directory layout: sign.key / sign.pub (Ed25519), contact.key /
 * contact.pub (X25519), pseudonym.key (32-byte BLAKE2b key), audit.key /
 * audit.pub (Ed25519: signs the audit log; only the reveal service reads
 * audit.key), tokenid.key (32-byte ChaCha20 key: reads the issue serial in
 * a visit token's id, anshim/token.h; the aggregator reads it, and the
 * issuer holds a copy to make the ids).  Secrets are mode 0600 and refused if group- or
 * world-readable.
 */
#ifndef CL_AUTHORITY_H
#define CL_AUTHORITY_H

#include <stdint.h>

#include "anshim/capsule.h"
#include "anshim/credential.h"
#include "anshim/identity.h"

/* Which keys cl_authority_load must find. */
enum cl_authority_keys {
	CL_KEY_SIGN = 1,       /* sign.key (and its public half) */
	CL_KEY_CONTACT = 2,    /* contact.key + contact.pub */
	CL_KEY_PSEUDONYM = 4,  /* pseudonym.key */
	CL_KEY_SIGN_PUBLIC = 8, /* sign.pub only */
	CL_KEY_AUDIT = 16,      /* audit.key (and its public half) */
	CL_KEY_AUDIT_PUBLIC = 32, /* audit.pub only */
	CL_KEY_CONTACT_PUBLIC = 64, /* contact.pub only */
	CL_KEY_TOKEN_ID = 128     /* tokenid.key */
};

struct cl_authority {
	unsigned loaded;                        /* cl_authority_keys bits */
	uint8_t sign_pk[AS_SIGN_PK_LEN];
	uint8_t sign_sk[AS_SIGN_SK_LEN];
	uint8_t contact_pk[AS_BOX_PK_LEN];
	uint8_t contact_sk[AS_BOX_SK_LEN];
	uint8_t pseudonym_key[AS_PSEUDONYM_KEY_LEN];
	uint8_t audit_pk[AS_SIGN_PK_LEN];
	uint8_t audit_sk[AS_SIGN_SK_LEN];
	uint8_t token_id_key[32];
};

/*
 * Create a new authority key set in dir (created 0700 if missing).  Refuses
 * with AS_E_EXISTS, writing nothing, if any of the eight files exists.  On
 * error, *failed_path (if not NULL) points at a static copy of the file
 * that failed.  Single-threaded tool use.
 */
int cl_authority_create(const char *dir, const char **failed_path);

/* Add audit.key / audit.pub to an existing key set in dir (one made before
 * the reveal service); AS_E_EXISTS if either exists.  Same conventions. */
int cl_authority_create_audit(const char *dir, const char **failed_path);

/* Add tokenid.key to an existing key set in dir (one made before visit
 * tokens); AS_E_EXISTS if it exists.  Same conventions. */
int cl_authority_create_token_id(const char *dir, const char **failed_path);

/* Load the keys named by `what` from dir into a (caller-owned; wipe with
 * cl_authority_wipe).  On error *failed_path names the file. */
int cl_authority_load(struct cl_authority *a, const char *dir, unsigned what,
		      const char **failed_path);
void cl_authority_wipe(struct cl_authority *a);

/*
 * Issue a credential for contact: pid from the normalized phone, capsule
 * sealed to the contact key, valid [now, now + valid_seconds), signed.
 * holder_pk NULL issues a card credential (AS_CRED_CARD, zero holder key).
 * Needs CL_KEY_SIGN, CL_KEY_PSEUDONYM and contact.pub (CL_KEY_CONTACT or
 * CL_KEY_CONTACT_PUBLIC) loaded.
 */
int cl_authority_issue(const struct cl_authority *a, const struct as_contact *contact,
		       const uint8_t *holder_pk, int64_t now, int64_t valid_seconds,
		       struct as_credential *out);

#endif
