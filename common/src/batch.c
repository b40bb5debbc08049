/*
 * batch.c - signed batch codec (layout in batch.h).
 *
 * Invariants: an encoded batch is always signed and of the current
 * version; a decoded batch's records are contiguous and each passed
 * as_record_decode.  Signature checking is separate so the cloud can look
 * up the gateway key between peek and verify; chain checking is the
 * receiver's (as_chain_verify).  Pure; any thread.
 */
#include "anshim/batch.h"
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

size_t as_batch_size(size_t n)
{
	return AS_BATCH_HEADER_LEN + n * AS_BATCH_ENTRY_LEN + AS_SIG_LEN;
}

int as_batch_encode_chained(uint8_t *out, size_t cap, struct as_batch_header *hdr,
			    const struct as_record *recs, const uint8_t (*digests)[AS_CHAIN_LEN],
			    size_t n, const uint8_t device_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;

	if (n == 0 || n > AS_BATCH_MAX_RECORDS)
		return AS_E_LENGTH;
	if (hdr->first_seq == 0 || hdr->first_seq > UINT64_MAX - n)
		return AS_E_FIELD;
	hdr->version = AS_BATCH_VERSION;
	hdr->count = (uint32_t)n;
	hdr->last_seq = hdr->first_seq + n - 1;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_BATCH_MAGIC);
	as_writer_u8(&w, AS_BATCH_VERSION);
	as_writer_bytes(&w, hdr->gw_id, AS_GWID_LEN);
	as_writer_u64(&w, hdr->batch_seq);
	as_writer_u64(&w, hdr->first_seq);
	as_writer_u64(&w, hdr->last_seq);
	as_writer_u32(&w, hdr->count);
	as_writer_i64(&w, hdr->created);
	as_writer_bytes(&w, hdr->journal_id, AS_JOURNAL_ID_LEN);
	as_writer_bytes(&w, hdr->chain_prev, AS_CHAIN_LEN);
	as_writer_bytes(&w, hdr->chain_head, AS_CHAIN_LEN);
	for (size_t i = 0; i < n; i++) {
		if (recs[i].seq != hdr->first_seq + i)
			return AS_E_FIELD;
		as_writer_u16(&w, AS_RECORD_LEN);
		if (!w.err && w.cap - w.len >= AS_RECORD_LEN) {
			struct as_record check;
			int rc = as_record_encode(w.p + w.len, AS_RECORD_LEN, &recs[i]);
			if (rc < 0)
				return rc;
			/* Never sign what every receiver would reject: a batch the
			 * cloud cannot take would be resent forever. */
			rc = as_record_decode(&check, w.p + w.len, AS_RECORD_LEN);
			if (rc)
				return rc;
			w.len += AS_RECORD_LEN;
		} else {
			w.err = AS_E_OVERSIZE;
		}
		as_writer_bytes(&w, digests[i], AS_CHAIN_LEN);
	}
	if (w.err || w.cap - w.len < AS_SIG_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(w.p + w.len, NULL, w.p, w.len, device_sk);
	return (int)(w.len + AS_SIG_LEN);
}

int as_batch_encode(uint8_t *out, size_t cap, struct as_batch_header *hdr,
		    const struct as_record *recs, size_t n,
		    const uint8_t device_sk[AS_SIGN_SK_LEN])
{
	uint8_t (*digests)[AS_CHAIN_LEN];
	int rc;

	if (n == 0 || n > AS_BATCH_MAX_RECORDS)
		return AS_E_LENGTH;
	digests = malloc(n * sizeof *digests);
	if (!digests)
		return AS_E_OVERSIZE;
	for (size_t i = 0; i < n; i++)
		as_chain_record_digest(&recs[i], digests[i]);
	as_chain_fold(hdr->chain_prev, (const uint8_t (*)[AS_CHAIN_LEN])digests, n,
		      hdr->chain_head);
	for (size_t i = 0; i < n; i++)
		if (recs[i].kind == AS_REC_EXPIRED)
			as_chain_record_seal(&recs[i], digests[i]);
	rc = as_batch_encode_chained(out, cap, hdr, recs, (const uint8_t (*)[AS_CHAIN_LEN])digests,
				     n, device_sk);
	free(digests);
	return rc;
}

static int header_read(struct as_reader *r, struct as_batch_header *hdr)
{
	uint8_t magic = as_reader_u8(r), version = as_reader_u8(r);

	if (r->err)
		return r->err;
	if (magic != AS_BATCH_MAGIC)
		return AS_E_MAGIC;
	if (version != 1 && version != AS_BATCH_VERSION)
		return AS_E_VERSION;
	memset(hdr, 0, sizeof *hdr);
	hdr->version = version;
	as_reader_copy(r, hdr->gw_id, AS_GWID_LEN);
	hdr->batch_seq = as_reader_u64(r);
	hdr->first_seq = as_reader_u64(r);
	hdr->last_seq = as_reader_u64(r);
	hdr->count = as_reader_u32(r);
	hdr->created = as_reader_i64(r);
	if (version >= 2) {
		as_reader_copy(r, hdr->journal_id, AS_JOURNAL_ID_LEN);
		as_reader_copy(r, hdr->chain_prev, AS_CHAIN_LEN);
		as_reader_copy(r, hdr->chain_head, AS_CHAIN_LEN);
	}
	return r->err;
}

int as_batch_peek_gateway(uint8_t gw_id[AS_GWID_LEN], const uint8_t *in, size_t len)
{
	struct as_batch_header hdr;
	struct as_reader r;
	int rc;

	if (len > AS_BATCH_MAX_BYTES)
		return AS_E_OVERSIZE;
	as_reader_init(&r, in, len);
	rc = header_read(&r, &hdr);
	if (rc)
		return rc;
	for (size_t i = 0; i < AS_GWID_LEN; i++)
		gw_id[i] = hdr.gw_id[i];
	return 0;
}

int as_batch_decode_chained(struct as_batch_header *hdr, struct as_record *recs,
			    uint8_t (*digests)[AS_CHAIN_LEN], size_t recs_cap,
			    const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc;

	if (len > AS_BATCH_MAX_BYTES)
		return AS_E_OVERSIZE;
	as_reader_init(&r, in, len);
	rc = header_read(&r, hdr);
	if (rc)
		return rc;
	if (hdr->count == 0 || hdr->count > AS_BATCH_MAX_RECORDS ||
	    hdr->first_seq == 0 || hdr->last_seq < hdr->first_seq ||
	    hdr->last_seq - hdr->first_seq != hdr->count - 1)
		return AS_E_LENGTH;
	if (hdr->count > recs_cap)
		return AS_E_LENGTH;
	for (uint32_t i = 0; i < hdr->count; i++) {
		uint16_t rec_len = as_reader_u16(&r);
		const uint8_t *rec;

		if (r.err)
			return r.err;
		if (rec_len != AS_RECORD_LEN)
			return AS_E_LENGTH;
		rec = as_reader_take(&r, rec_len);
		if (!rec)
			return r.err;
		rc = as_record_decode(&recs[i], rec, rec_len);
		if (rc)
			return rc;
		if (recs[i].seq != hdr->first_seq + i)
			return AS_E_FIELD;
		if (hdr->version >= 2) {
			const uint8_t *digest = as_reader_take(&r, AS_CHAIN_LEN);

			if (!digest)
				return r.err;
			if (digests)
				memcpy(digests[i], digest, AS_CHAIN_LEN);
		}
	}
	if (!as_reader_take(&r, AS_SIG_LEN))
		return r.err;
	return as_reader_finish(&r);
}

int as_batch_decode(struct as_batch_header *hdr, struct as_record *recs,
		    size_t recs_cap, const uint8_t *in, size_t len)
{
	return as_batch_decode_chained(hdr, recs, NULL, recs_cap, in, len);
}

int as_batch_verify(const uint8_t *in, size_t len, const uint8_t device_pk[AS_SIGN_PK_LEN])
{
	if (len < AS_BATCH_V1_HEADER_LEN + AS_SIG_LEN)
		return AS_E_TRUNCATED;
	if (crypto_sign_verify_detached(in + len - AS_SIG_LEN, in, len - AS_SIG_LEN, device_pk))
		return AS_E_SIGNATURE;
	return 0;
}
