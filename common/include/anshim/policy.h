/*
 * policy.h - the authority's signed policy: alert level, contact key,
 * revocation lists and, from version 2, typed sections (issuer keys, the
 * end of the v1-pass migration, collection levels by venue category, and
 * the category of each gateway).  Published retained on anshim/v1/policy.
 *
 * Layout (little-endian):
 *   'L' ver (1 or 2) policy_seq u64 issued_at i64 alert_level u8 (1..4)
 *   contact_pk[32]
 *   n_revoked_gateways u32, n x gw_id[16]
 *   n_revoked_holders u32,  n x holder_id[16]   (credential and token ids)
 *   version 2 only: n_sections u8 (>= 1), then n_sections sections,
 *                   each  type u8  len u32 (>= 1)  body[len]
 *   signature[64]  (authority signing key, over every byte before it)
 *
 * Sections (version 2), in strictly ascending type order (so each at most
 * once), never empty:
 *   1 issuer keys          n x Ed25519 public key[32]      (n = len / 32)
 *   2 v1 passes until      i64 unix seconds (>= 0); 0 = v1 phone passes
 *                          refused.  Absent: accepted (migration period).
 *                          Printed cards are not affected.
 *   3 category levels      n x { name_len u8, name (1..24 of [a-z0-9-]),
 *                          min_level u8 (1..4) }: a venue of that category
 *                          collects when alert_level >= min_level; an
 *                          unlisted category uses AS_POLICY_DEFAULT_MIN_LEVEL
 *   4 gateway categories   n x { gw_id[16], name_len u8, name as in 3 },
 *                          gw_id strictly ascending
 * A decoder skips a section of a type it does not know (forward
 * compatibility) and rejects a malformed known one.  The encoder writes
 * version 1 when the policy has none of the four, else version 2.
 *
 * policy_seq only grows: a receiver ignores a policy whose seq is not
 * higher than the one it holds (no rollback by replaying old policies).
 */
#ifndef ANSHIM_POLICY_H
#define ANSHIM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"

#define AS_POLICY_MAGIC 'L'
#define AS_POLICY_VERSION 1       /* no sections */
#define AS_POLICY_VERSION_2 2     /* with sections */
#define AS_POLICY_FIXED_LEN (2 + 8 + 8 + 1 + 32 + 4 + 4 + AS_SIG_LEN)
#define AS_POLICY_MAX_REVOKED 65536

/* Section types. */
#define AS_POLICY_SEC_ISSUER_KEYS 1
#define AS_POLICY_SEC_V1_UNTIL 2
#define AS_POLICY_SEC_CATEGORY_LEVELS 3
#define AS_POLICY_SEC_GATEWAY_CATEGORIES 4
#define AS_POLICY_SECTION_HEAD 5  /* type u8 + len u32 */

#define AS_POLICY_MAX_ISSUER_KEYS 64
#define AS_POLICY_MAX_CATEGORIES 256
#define AS_POLICY_MAX_GATEWAY_CATEGORIES 65536
#define AS_CATEGORY_MAX 24        /* bytes of a category name */
#define AS_POLICY_DEFAULT_MIN_LEVEL 3

/* Largest encoding of each section's body. */
#define AS_POLICY_CATEGORY_ENTRY_MAX (1 + AS_CATEGORY_MAX + 1)
#define AS_POLICY_GWCAT_ENTRY_MAX (AS_GWID_LEN + 1 + AS_CATEGORY_MAX)
#define AS_POLICY_SECTIONS_MAX                                                   \
	(1 + 4 * AS_POLICY_SECTION_HEAD + AS_POLICY_MAX_ISSUER_KEYS * AS_SIGN_PK_LEN + 8 + \
	 AS_POLICY_MAX_CATEGORIES * AS_POLICY_CATEGORY_ENTRY_MAX +                  \
	 AS_POLICY_MAX_GATEWAY_CATEGORIES * AS_POLICY_GWCAT_ENTRY_MAX)
/* Largest policy a receiver accepts (unknown sections must fit in it). */
#define AS_POLICY_MAX_BYTES \
	(AS_POLICY_FIXED_LEN + 2 * AS_POLICY_MAX_REVOKED * 16 + AS_POLICY_SECTIONS_MAX)

struct as_policy_category {
	char name[AS_CATEGORY_MAX + 1];     /* NUL-terminated, [a-z0-9-]{1,24} */
	uint8_t min_level;                  /* 1..4 */
};

struct as_policy_gateway_category {
	uint8_t gw_id[AS_GWID_LEN];
	char category[AS_CATEGORY_MAX + 1]; /* as as_policy_category.name */
};

struct as_policy {
	uint64_t policy_seq;
	int64_t issued_at;
	uint8_t alert_level;                /* 1..4; collection at >= 3 by default */
	uint8_t contact_pk[AS_BOX_PK_LEN];
	uint32_t n_revoked_gateways;
	uint8_t (*revoked_gateways)[AS_GWID_LEN];   /* owned; as_policy_free */
	uint32_t n_revoked_holders;
	uint8_t (*revoked_holders)[AS_HOLDER_ID_LEN]; /* owned; as_policy_free */
	/* Section 1: issuer public keys whose visit tokens gateways accept. */
	uint32_t n_issuer_keys;
	uint8_t (*issuer_keys)[AS_SIGN_PK_LEN];     /* owned; as_policy_free */
	/* Section 2: v1_until_set 0 = absent (v1 passes accepted). */
	uint8_t v1_until_set;
	int64_t v1_passes_until;            /* 0 = refused; else accepted before */
	/* Section 3. */
	uint32_t n_category_levels;
	struct as_policy_category *category_levels;  /* owned; as_policy_free */
	/* Section 4, gw_id strictly ascending. */
	uint32_t n_gateway_categories;
	struct as_policy_gateway_category *gateway_categories; /* owned */
	/* Decode only: sections of unknown type that were skipped (their bytes
	 * are not kept, so such a policy does not re-encode to itself). */
	uint32_t n_unknown_sections;
};

/* Bytes needed to encode p. */
size_t as_policy_size(const struct as_policy *p);

/* Encode and sign.  Returns the length or an error: AS_E_FIELD for a level
 * outside 1..4, a negative v1 deadline, a bad category name or min level,
 * a duplicate issuer key or category, gateway categories not strictly
 * ascending by gw_id; AS_E_LENGTH for too many entries; AS_E_OVERSIZE when
 * cap is too small.  Any thread. */
int as_policy_encode(uint8_t *out, size_t cap, const struct as_policy *p,
		     const uint8_t authority_sk[AS_SIGN_SK_LEN]);

/* Strict decode and signature check (versions 1 and 2).  On success p owns
 * malloc'd lists the caller releases with as_policy_free; on failure p
 * holds nothing.  Errors: framing (AS_E_TRUNCATED, AS_E_TRAILING,
 * AS_E_LENGTH for a count, section length or empty section that does not
 * fit), AS_E_FIELD for a bad value or section order, AS_E_SIGNATURE. */
int as_policy_decode(struct as_policy *p, const uint8_t *in, size_t len,
		     const uint8_t authority_pk[AS_SIGN_PK_LEN]);

/* Release the lists of p (safe on a zeroed or freed policy). */
void as_policy_free(struct as_policy *p);

/* Nonzero if the gateway / holder id is on the policy's revocation list.
 * Linear scan; lists are small.  Any thread for a policy it owns. */
int as_policy_gateway_revoked(const struct as_policy *p, const uint8_t gw_id[AS_GWID_LEN]);
int as_policy_holder_revoked(const struct as_policy *p,
			     const uint8_t holder_id[AS_HOLDER_ID_LEN]);

/* Nonzero if pk is one of the policy's issuer keys. */
int as_policy_issuer_known(const struct as_policy *p, const uint8_t pk[AS_SIGN_PK_LEN]);

/* Nonzero if a version 1 phone pass is accepted at time now: no section
 * 2, or now before its deadline (a deadline of 0 refuses them always). */
int as_policy_v1_accepted(const struct as_policy *p, int64_t now);

/* The alert level from which a venue of category (NUL-terminated; NULL or
 * "" for none) collects: its section-3 entry, else
 * AS_POLICY_DEFAULT_MIN_LEVEL. */
uint8_t as_policy_min_level(const struct as_policy *p, const char *category);

/* The category the policy gives gateway gw_id (borrowed from p), or NULL.
 * Binary search. */
const char *as_policy_gateway_category(const struct as_policy *p,
				       const uint8_t gw_id[AS_GWID_LEN]);

/* 0 if name is a valid category name (1..24 bytes of [a-z0-9-]), else
 * AS_E_FIELD.  Pure. */
int as_policy_category_check(const char *name);

/* Sort p's gateway categories by gw_id (in place) so it can be encoded;
 * AS_E_FIELD if a gw_id appears twice. */
int as_policy_sort_gateway_categories(struct as_policy *p);

#endif
