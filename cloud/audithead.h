/*
 * audithead.h - the witnessed audit head: the message anshim-cloudd
 * publishes, retained, on CL_AUDIT_HEAD_TOPIC so that the audit log's
 * newest entry is on record outside the machine (docs/PROTOCOL.md, section
 * 19).
 *
 * Layout (little-endian), version 1, 106 bytes:
 *   'T' ver=1 seq u64 hash[32] sig[64]
 * seq and hash are the log entry's (seq >= 1), sig is that entry's own
 * signature from its line: Ed25519 by the key that signs the log over
 * "anshim-audit-sig" || hash (audit.h).  So publishing a head needs no
 * secret key, and a head verifies with the log's public key alone.  The
 * signature covers the hash and the hash covers seq (audit.h), so a head
 * whose seq was changed fails against the log, never passes.
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
#define CL_AUDIT_HEAD_LEN 106

/* Encode head (seq >= 1) into out (cap >= CL_AUDIT_HEAD_LEN); returns
 * CL_AUDIT_HEAD_LEN, or AS_E_FIELD (seq 0) / AS_E_OVERSIZE. */
int cl_audit_head_encode(uint8_t *out, size_t cap, const struct cl_audit_head *head);

/* Strict decode (docs/PROTOCOL.md section 1: size, magic, version, fields,
 * nothing left over, seq >= 1 else AS_E_FIELD), then the signature with the
 * log's public key pk: AS_E_SIGNATURE.  *head is zeroed on failure. */
int cl_audit_head_decode(struct cl_audit_head *head, const uint8_t *in, size_t len,
			 const uint8_t pk[32]);

#endif
