/*
 * ack.c - signed cloud ack codec (layout in ack.h).  A decoded ack has a
 * valid authority signature; nothing else is trusted.  Pure; any thread.
 */
#include "anshim/ack.h"
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <sodium.h>
#include <string.h>

int as_ack_encode(uint8_t *out, size_t cap, const struct as_ack *ack,
		  const uint8_t authority_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;

	int v1 = ack->version == 1;

	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_ACK_MAGIC);
	as_writer_u8(&w, v1 ? 1 : AS_ACK_VERSION);
	as_writer_bytes(&w, ack->gw_id, AS_GWID_LEN);
	as_writer_u64(&w, ack->through_seq);
	as_writer_i64(&w, ack->cloud_time_ms);
	if (!v1) {
		as_writer_bytes(&w, ack->journal_id, AS_JOURNAL_ID_LEN);
		as_writer_u64(&w, ack->chain_seq);
		as_writer_bytes(&w, ack->chain_link, AS_CHAIN_LEN);
	}
	if (w.err || w.cap - w.len < AS_SIG_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(w.p + w.len, NULL, w.p, w.len, authority_sk);
	return (int)(w.len + AS_SIG_LEN);
}

int as_ack_decode(struct as_ack *ack, const uint8_t *in, size_t len,
		  const uint8_t authority_pk[AS_SIGN_PK_LEN])
{
	struct as_reader r;
	const uint8_t *sig;
	uint8_t magic, version;
	int rc;

	if (len > AS_ACK_LEN)
		return len > 2 * AS_ACK_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_ACK_MAGIC)
		return AS_E_MAGIC;
	if (version != 1 && version != AS_ACK_VERSION)
		return AS_E_VERSION;
	memset(ack, 0, sizeof *ack);
	ack->version = version;
	as_reader_copy(&r, ack->gw_id, AS_GWID_LEN);
	ack->through_seq = as_reader_u64(&r);
	ack->cloud_time_ms = as_reader_i64(&r);
	if (version >= 2) {
		as_reader_copy(&r, ack->journal_id, AS_JOURNAL_ID_LEN);
		ack->chain_seq = as_reader_u64(&r);
		as_reader_copy(&r, ack->chain_link, AS_CHAIN_LEN);
	}
	sig = as_reader_take(&r, AS_SIG_LEN);
	rc = as_reader_finish(&r);
	if (rc)
		return rc;
	if (crypto_sign_verify_detached(sig, in, len - AS_SIG_LEN, authority_pk))
		return AS_E_SIGNATURE;
	return 0;
}

int as_ack_has_chain(const struct as_ack *ack)
{
	static const uint8_t zero[AS_JOURNAL_ID_LEN];

	return ack->version >= 2 && memcmp(ack->journal_id, zero, AS_JOURNAL_ID_LEN) != 0;
}
