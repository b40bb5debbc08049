/*
 * audithead.h - the witnessed audit head: the message anshim-cloudd
 * publishes, retained, on CL_AUDIT_HEAD_TOPIC so that the audit log's
 * newest entry is on record outside the machine (docs/PROTOCOL.md, section
 * 21).
 *
 * Layout (little-endian), version 1, 107 bytes:
 *   'T' ver=1 entry_version u8 seq u64 hash[32] sig[64]
 * entry_version, seq and hash are the log entry's (version 1 or 2, seq >=
 * 1), sig is that entry's own signature from its line: Ed25519 over
 * "anshim-audit-sig" || hash by audit.key (entry version 2) or sign.key
 * (version 1) (audit.h).  So publishing a head needs no secret key, and a
 * head verifies with the log's public keys alone.  The signature covers
 * the hash and the hash covers seq and the version (audit.h), so a head
 * whose seq or version was changed fails against the log, never passes.
 *
 * Pure functions; any thread.
 */
#ifndef CL_AUDITHEAD_H
#define CL_AUDITHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"

#define CL_AUDIT_HEAD_TOPIC "anshim/v1/audit/head"
#define CL_AUDIT_HEAD_MAGIC 'T'
#define CL_AUDIT_HEAD_VERSION 1
#define CL_AUDIT_HEAD_LEN 107

/* Encode head (seq >= 1, version 1 or 2) into out (cap >=
 * CL_AUDIT_HEAD_LEN); returns CL_AUDIT_HEAD_LEN, or AS_E_FIELD /
 * AS_E_OVERSIZE. */
int cl_audit_head_encode(uint8_t *out, size_t cap, const struct cl_audit_head *head);

/* Strict decode (docs/PROTOCOL.md section 1: size, magic, version, fields,
 * nothing left over; entry version 1 or 2 and seq >= 1, else AS_E_FIELD),
 * then the signature with the log's public keys k (audit.pub for entry
 * version 2, sign.pub for 1): AS_E_SIGNATURE.  *head is zeroed on
 * failure. */
int cl_audit_head_decode(struct cl_audit_head *head, const uint8_t *in, size_t len,
			 const struct cl_audit_keys *k);

#endif
