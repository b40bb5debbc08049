/*
 * heartbeat.c - the gateway's signed heartbeat codec (layout in
 * heartbeat.h, specification in docs/PROTOCOL.md section 18).
 *
 * The encoder refuses what the decoder refuses, so every signed heartbeat
 * decodes.  The decoder trusts nothing before the signature is checked by
 * as_heartbeat_verify with the key the registry holds for gw_id.  Pure;
 * any thread.
 */
#include "anshim/heartbeat.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <sodium.h>

static int heartbeat_check(const struct as_heartbeat *hb)
{
	if (hb->clock_state < AS_CLOCK_SYNCED || hb->clock_state > AS_CLOCK_UNSYNCED ||
	    hb->interval < 1 || hb->interval > AS_HEARTBEAT_INTERVAL_MAX ||
	    hb->up_since > hb->sent_at || hb->journal_used > hb->journal_size)
		return AS_E_FIELD;
	return 0;
}

int as_heartbeat_encode(uint8_t *out, size_t cap, const struct as_heartbeat *hb,
			const uint8_t device_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;

	if (heartbeat_check(hb))
		return AS_E_FIELD;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_HEARTBEAT_MAGIC);
	as_writer_u8(&w, AS_HEARTBEAT_VERSION);
	as_writer_bytes(&w, hb->gw_id, AS_GWID_LEN);
	as_writer_i64(&w, hb->sent_at);
	as_writer_i64(&w, hb->up_since);
	as_writer_bytes(&w, hb->boot_id, AS_BOOT_ID_LEN);
	as_writer_u32(&w, hb->interval);
	as_writer_u8(&w, hb->clock_state);
	as_writer_u64(&w, hb->last_seq);
	as_writer_u64(&w, hb->acked_seq);
	as_writer_bytes(&w, hb->chain_head, AS_CHAIN_HEAD_LEN);
	as_writer_u64(&w, hb->journal_records);
	as_writer_u64(&w, hb->journal_used);
	as_writer_u64(&w, hb->journal_size);
	if (w.err || w.cap - w.len < AS_SIG_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(w.p + w.len, NULL, w.p, w.len, device_sk);
	return (int)(w.len + AS_SIG_LEN);
}

int as_heartbeat_decode(struct as_heartbeat *hb, const uint8_t *in, size_t len)
{
	struct as_reader r;
	uint8_t magic, version;
	int rc;

	if (len > AS_HEARTBEAT_LEN)
		return len > 2 * AS_HEARTBEAT_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_HEARTBEAT_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_HEARTBEAT_VERSION)
		return AS_E_VERSION;
	as_reader_copy(&r, hb->gw_id, AS_GWID_LEN);
	hb->sent_at = as_reader_i64(&r);
	hb->up_since = as_reader_i64(&r);
	as_reader_copy(&r, hb->boot_id, AS_BOOT_ID_LEN);
	hb->interval = as_reader_u32(&r);
	hb->clock_state = as_reader_u8(&r);
	hb->last_seq = as_reader_u64(&r);
	hb->acked_seq = as_reader_u64(&r);
	as_reader_copy(&r, hb->chain_head, AS_CHAIN_HEAD_LEN);
	hb->journal_records = as_reader_u64(&r);
	hb->journal_used = as_reader_u64(&r);
	hb->journal_size = as_reader_u64(&r);
	as_reader_take(&r, AS_SIG_LEN);
	rc = as_reader_finish(&r);
	if (rc)
		return rc;
	return heartbeat_check(hb);
}

int as_heartbeat_verify(const uint8_t *in, size_t len, const uint8_t device_pk[AS_SIGN_PK_LEN])
{
	if (len < AS_HEARTBEAT_LEN)
		return AS_E_TRUNCATED;
	if (len > AS_HEARTBEAT_LEN)
		return AS_E_TRAILING;
	if (crypto_sign_verify_detached(in + AS_HEARTBEAT_SIGNED_LEN, in, AS_HEARTBEAT_SIGNED_LEN,
					device_pk))
		return AS_E_SIGNATURE;
	return 0;
}

const char *as_clock_state_name(uint8_t state)
{
	switch (state) {
	case AS_CLOCK_SYNCED: return "synced";
	case AS_CLOCK_CORRECTED: return "corrected";
	case AS_CLOCK_UNSYNCED: return "unsynced";
	default: return "unknown";
	}
}
