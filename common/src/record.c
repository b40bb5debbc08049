/*
 * record.c - journal record codec (layout in record.h).
 *
 * Invariant: a decoded record satisfies every range check listed in
 * record.h, so the journal, the batcher and the cloud can trust its fields
 * without re-checking.  Pure; any thread.
 */
#include "anshim/record.h"
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <string.h>

int as_record_encode(uint8_t *out, size_t cap, const struct as_record *rec)
{
	struct as_writer w;

	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_RECORD_MAGIC);
	as_writer_u8(&w, AS_RECORD_VERSION);
	as_writer_u8(&w, rec->kind);
	as_writer_u8(&w, rec->flags);
	as_writer_u64(&w, rec->seq);
	as_writer_i64(&w, rec->entry_time);
	as_writer_i64(&w, rec->exit_time);
	as_writer_u64(&w, rec->mono_ms);
	as_writer_bytes(&w, rec->boot_id, AS_BOOT_ID_LEN);
	as_writer_bytes(&w, rec->pid, AS_PID_LEN);
	as_writer_u16(&w, rec->headcount);
	as_writer_u32(&w, rec->entered_by);
	as_writer_i64(&w, rec->credential_expires);
	as_writer_u16(&w, AS_CAPSULE_LEN);
	as_writer_bytes(&w, rec->capsule, AS_CAPSULE_LEN);
	return w.err ? w.err : (int)w.len;
}

int as_record_decode(struct as_record *rec, const uint8_t *in, size_t len)
{
	struct as_reader r;
	uint8_t magic, version;
	uint16_t capsule_len;
	int rc;

	if (len > AS_RECORD_LEN)
		return len > 2 * AS_RECORD_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_RECORD_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_RECORD_VERSION)
		return AS_E_VERSION;
	rec->kind = as_reader_u8(&r);
	rec->flags = as_reader_u8(&r);
	rec->seq = as_reader_u64(&r);
	rec->entry_time = as_reader_i64(&r);
	rec->exit_time = as_reader_i64(&r);
	rec->mono_ms = as_reader_u64(&r);
	as_reader_copy(&r, rec->boot_id, AS_BOOT_ID_LEN);
	as_reader_copy(&r, rec->pid, AS_PID_LEN);
	rec->headcount = as_reader_u16(&r);
	rec->entered_by = as_reader_u32(&r);
	rec->credential_expires = as_reader_i64(&r);
	capsule_len = as_reader_u16(&r);
	if (r.err)
		return r.err;
	if (capsule_len != AS_CAPSULE_LEN)
		return AS_E_LENGTH;
	as_reader_copy(&r, rec->capsule, AS_CAPSULE_LEN);
	rc = as_reader_finish(&r);
	if (rc)
		return rc;
	if (rec->kind < AS_REC_PASS || rec->kind == AS_REC_APP || rec->kind > AS_REC_TOKEN ||
	    (rec->flags & ~AS_REC_FLAGS_KNOWN) || rec->seq == 0 ||
	    rec->headcount == 0 || rec->headcount > AS_HEADCOUNT_MAX ||
	    (rec->exit_time != 0 && rec->exit_time < rec->entry_time))
		return AS_E_FIELD;
	if (rec->kind == AS_REC_EXPIRED) {
		static const uint8_t zero[AS_CAPSULE_LEN];
		if (memcmp(rec->pid, zero, AS_PID_LEN) != 0 ||
		    memcmp(rec->capsule, zero, AS_CAPSULE_LEN) != 0)
			return AS_E_FIELD;
	}
	if (rec->kind == AS_REC_TOKEN) {
		static const uint8_t zero[AS_CAPSULE_LEN];
		if (memcmp(rec->pid, zero, AS_PID_LEN) == 0 ||
		    memcmp(rec->capsule, zero, AS_CAPSULE_LEN) != 0 ||
		    rec->headcount != 1 || rec->credential_expires <= 0)
			return AS_E_FIELD;
	}
	return 0;
}

void as_record_make_placeholder(struct as_record *rec)
{
	rec->kind = AS_REC_EXPIRED;
	memset(rec->pid, 0, AS_PID_LEN);
	memset(rec->capsule, 0, AS_CAPSULE_LEN);
	rec->credential_expires = 0;
	rec->entered_by = 0;
}

const char *as_record_kind_name(uint8_t kind)
{
	switch (kind) {
	case AS_REC_PASS: return "pass";
	case AS_REC_CARD: return "card";
	case AS_REC_MANUAL: return "manual";
	case AS_REC_EXPIRED: return "expired";
	case AS_REC_APP: return "app";
	case AS_REC_TOKEN: return "token";
	default: return "unknown";
	}
}
