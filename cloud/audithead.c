/*
 * audithead.c - the witnessed audit head codec (layout in audithead.h,
 * specification in docs/PROTOCOL.md section 21).
 *
 * The head carries the log entry's own signature, so the signature check
 * is audit.c's (cl_audit_sig_ok): one definition of what the log key
 * signs.  Pure; any thread.
 */
#include "audithead.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <string.h>

int cl_audit_head_encode(uint8_t *out, size_t cap, const struct cl_audit_head *head)
{
	struct as_writer w;

	if (head->seq == 0 || (head->version != 1 && head->version != 2))
		return AS_E_FIELD;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, CL_AUDIT_HEAD_MAGIC);
	as_writer_u8(&w, CL_AUDIT_HEAD_VERSION);
	as_writer_u8(&w, (uint8_t)head->version);
	as_writer_u64(&w, head->seq);
	as_writer_bytes(&w, head->hash, sizeof head->hash);
	as_writer_bytes(&w, head->sig, sizeof head->sig);
	return w.err ? w.err : (int)w.len;
}

int cl_audit_head_decode(struct cl_audit_head *head, const uint8_t *in, size_t len,
			 const struct cl_audit_keys *k)
{
	struct as_reader r;
	uint8_t magic, version;
	int rc;

	memset(head, 0, sizeof *head);
	if (len > CL_AUDIT_HEAD_LEN)
		return len > 2 * CL_AUDIT_HEAD_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != CL_AUDIT_HEAD_MAGIC)
		return AS_E_MAGIC;
	if (version != CL_AUDIT_HEAD_VERSION)
		return AS_E_VERSION;
	head->version = as_reader_u8(&r);
	head->seq = as_reader_u64(&r);
	as_reader_copy(&r, head->hash, sizeof head->hash);
	as_reader_copy(&r, head->sig, sizeof head->sig);
	rc = as_reader_finish(&r);
	if (!rc && (head->seq == 0 || (head->version != 1 && head->version != 2)))
		rc = AS_E_FIELD;
	if (!rc && !cl_audit_sig_ok(head->version, head->hash, head->sig, k))
		rc = AS_E_SIGNATURE;
	if (rc)
		memset(head, 0, sizeof *head);
	return rc;
}
