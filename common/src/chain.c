/*
 * chain.c - the journal hash chain (definitions in chain.h).
 *
 * Invariant: a record's digest depends only on the fields a gateway never
 * rewrites after the append, and splits into the part a placeholder keeps
 * and the hash of the part it loses, so the journal, the batch codec and the cloud
 * compute the same value at any time.  BLAKE2b through libsodium.  Pure;
 * any thread.
 */
#include "anshim/chain.h"

#include "anshim/bytes.h"

#include <sodium.h>
#include <string.h>

void as_chain_record_personal(const struct as_record *rec, uint8_t out[AS_CHAIN_LEN])
{
	uint8_t buf[1 + 1 + AS_PID_LEN + 4 + 8 + AS_CAPSULE_LEN];
	struct as_writer w;

	as_writer_init(&w, buf, sizeof buf);
	as_writer_u8(&w, 'P');
	as_writer_u8(&w, rec->kind);
	as_writer_bytes(&w, rec->pid, AS_PID_LEN);
	as_writer_u32(&w, rec->entered_by);
	as_writer_i64(&w, rec->credential_expires);
	as_writer_bytes(&w, rec->capsule, AS_CAPSULE_LEN);
	crypto_generichash(out, AS_CHAIN_LEN, buf, sizeof buf, NULL, 0);
}

void as_chain_digest_of(const struct as_record *rec, const uint8_t personal[AS_CHAIN_LEN],
			uint8_t out[AS_CHAIN_LEN])
{
	struct as_record canon = *rec;
	uint8_t buf[1 + AS_RECORD_LEN + AS_CHAIN_LEN];
	const uint8_t time_flags = AS_REC_CLOCK_UNSYNCED | AS_REC_TIME_CORRECTED;

	canon.seq = 0;
	if (canon.flags & time_flags) {
		canon.entry_time = 0;
		canon.flags = (uint8_t)((canon.flags & ~time_flags) | AS_REC_CLOCK_UNSYNCED);
	}
	as_record_make_placeholder(&canon);
	buf[0] = 'D';
	/* Encoding a struct into an exact buffer cannot fail. */
	(void)as_record_encode(buf + 1, AS_RECORD_LEN, &canon);
	memcpy(buf + 1 + AS_RECORD_LEN, personal, AS_CHAIN_LEN);
	crypto_generichash(out, AS_CHAIN_LEN, buf, sizeof buf, NULL, 0);
}

void as_chain_record_digest(const struct as_record *rec, uint8_t out[AS_CHAIN_LEN])
{
	uint8_t personal[AS_CHAIN_LEN];

	as_chain_record_personal(rec, personal);
	as_chain_digest_of(rec, personal, out);
}

void as_chain_record_seal(const struct as_record *rec, uint8_t out[AS_CHAIN_LEN])
{
	if (rec->kind == AS_REC_EXPIRED)
		as_chain_record_personal(rec, out);
	else
		as_chain_record_digest(rec, out);
}

void as_chain_unseal(const struct as_record *recs, uint8_t (*seals)[AS_CHAIN_LEN], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].kind == AS_REC_EXPIRED)
			as_chain_digest_of(&recs[i], seals[i], seals[i]);
}

void as_chain_link(const uint8_t prev[AS_CHAIN_LEN], const uint8_t digest[AS_CHAIN_LEN],
		   uint8_t out[AS_CHAIN_LEN])
{
	uint8_t buf[1 + 2 * AS_CHAIN_LEN];

	buf[0] = 'L';
	memcpy(buf + 1, prev, AS_CHAIN_LEN);
	memcpy(buf + 1 + AS_CHAIN_LEN, digest, AS_CHAIN_LEN);
	crypto_generichash(out, AS_CHAIN_LEN, buf, sizeof buf, NULL, 0);
}

void as_chain_fold(const uint8_t prev[AS_CHAIN_LEN], const uint8_t (*digests)[AS_CHAIN_LEN],
		   size_t n, uint8_t out[AS_CHAIN_LEN])
{
	uint8_t link[AS_CHAIN_LEN];

	memcpy(link, prev, AS_CHAIN_LEN);
	for (size_t i = 0; i < n; i++)
		as_chain_link(link, digests[i], link);
	memcpy(out, link, AS_CHAIN_LEN);
}

int as_chain_equal(const uint8_t a[AS_CHAIN_LEN], const uint8_t b[AS_CHAIN_LEN])
{
	return sodium_memcmp(a, b, AS_CHAIN_LEN) == 0;
}

int as_chain_is_genesis(const uint8_t h[AS_CHAIN_LEN])
{
	return sodium_is_zero(h, AS_CHAIN_LEN);
}

enum as_chain_verdict as_chain_verify(const uint8_t prev[AS_CHAIN_LEN],
				      const uint8_t head[AS_CHAIN_LEN],
				      const struct as_record *recs,
				      const uint8_t (*digests)[AS_CHAIN_LEN], size_t n,
				      int64_t keep_from, int64_t keep_to, size_t *at)
{
	uint8_t link[AS_CHAIN_LEN], digest[AS_CHAIN_LEN];
	size_t early = n;

	*at = 0;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].kind == AS_REC_EXPIRED) {
			/* Its digest was computed from its own fields
			 * (as_chain_unseal): the fold checks them.  Its times are
			 * what make it legitimate: judged once the fold holds,
			 * so a placeholder whose fields were edited reads as the
			 * head mismatch it is. */
			if (early == n && recs[i].entry_time >= keep_from &&
			    recs[i].entry_time <= keep_to && recs[i].exit_time <= keep_to)
				early = i;
			continue;
		}
		as_chain_record_digest(&recs[i], digest);
		if (!as_chain_equal(digest, digests[i])) {
			*at = i;
			return AS_CHAIN_RECORD_CHANGED;
		}
	}
	as_chain_fold(prev, digests, n, link);
	if (!as_chain_equal(link, head))
		return AS_CHAIN_HEAD_MISMATCH;
	if (early < n) {
		*at = early;
		return AS_CHAIN_EARLY_PLACEHOLDER;
	}
	return AS_CHAIN_INTACT;
}
