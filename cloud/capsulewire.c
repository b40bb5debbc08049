/*
 * capsulewire.c - encode, decode and sign the capsule feed's batch and
 * ack (layouts in capsulewire.h and docs/PROTOCOL.md).
 *
 * Invariants: decoders check magic, version, every length and count, and
 * refuse trailing bytes before they look at a signature; nothing is
 * returned from a message whose signature does not verify.
 * Any thread; no state.
 */
#include "capsulewire.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/token.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void cl_issuer_id(uint8_t id[CL_ISSUER_ID_LEN], const uint8_t issuer_pk[AS_SIGN_PK_LEN])
{
	crypto_generichash(id, CL_ISSUER_ID_LEN, issuer_pk, AS_SIGN_PK_LEN, NULL, 0);
}

int cl_feed_encode(uint8_t *out, size_t cap, const struct cl_feed_batch *b,
		   const uint8_t issuer_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;

	if (b->count == 0 || b->count > CL_FEED_MAX_ISSUES)
		return AS_E_FIELD;
	for (size_t i = 0; i < b->count; i++)
		if (b->issues[i].serial == 0 || b->issues[i].serial > AS_TOKEN_SERIAL_MAX ||
		    b->issues[i].count == 0 || b->issues[i].count > CL_ISSUE_MAX_TOKENS)
			return AS_E_FIELD;
	if (cap < CL_FEED_LEN(b->count))
		return AS_E_OVERSIZE;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, CL_FEED_MAGIC);
	as_writer_u8(&w, CL_FEED_VERSION);
	as_writer_bytes(&w, b->issuer_id, CL_ISSUER_ID_LEN);
	as_writer_u64(&w, b->seq);
	as_writer_i64(&w, b->created);
	as_writer_bytes(&w, b->sealed_key, CL_TOKCAP_SEALED_KEY_LEN);
	as_writer_u16(&w, b->count);
	for (size_t i = 0; i < b->count; i++) {
		as_writer_u64(&w, b->issues[i].serial);
		as_writer_i64(&w, b->issues[i].expires_at);
		as_writer_u8(&w, b->issues[i].count);
		as_writer_bytes(&w, b->issues[i].capsule, CL_TOKCAP_LEN);
	}
	if (w.err || w.cap - w.len < AS_SIG_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(w.p + w.len, NULL, w.p, w.len, issuer_sk);
	return (int)(w.len + AS_SIG_LEN);
}

/* Magic and version of a message of kind magic. */
static int check_head(struct as_reader *r, uint8_t magic)
{
	uint8_t m = as_reader_u8(r), v = as_reader_u8(r);

	if (r->err)
		return r->err;
	if (m != magic)
		return AS_E_MAGIC;
	if (v != CL_FEED_VERSION)
		return AS_E_VERSION;
	return 0;
}

int cl_feed_peek_issuer(uint8_t id[CL_ISSUER_ID_LEN], const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc;

	as_reader_init(&r, in, len);
	rc = check_head(&r, CL_FEED_MAGIC);
	if (rc)
		return rc;
	as_reader_copy(&r, id, CL_ISSUER_ID_LEN);
	return r.err;
}

int cl_feed_decode(struct cl_feed_batch *b, size_t max, const uint8_t *in, size_t len,
		   const uint8_t issuer_pk[AS_SIGN_PK_LEN])
{
	struct as_reader r;
	struct cl_feed_issue *issues = b->issues;
	const uint8_t *sig;
	int rc;

	if (len > CL_FEED_MAX_LEN)
		return AS_E_OVERSIZE;
	as_reader_init(&r, in, len);
	rc = check_head(&r, CL_FEED_MAGIC);
	if (rc)
		return rc;
	memset(b, 0, sizeof *b);
	b->issues = issues;
	as_reader_copy(&r, b->issuer_id, CL_ISSUER_ID_LEN);
	b->seq = as_reader_u64(&r);
	b->created = as_reader_i64(&r);
	as_reader_copy(&r, b->sealed_key, CL_TOKCAP_SEALED_KEY_LEN);
	b->count = as_reader_u16(&r);
	if (r.err)
		return r.err;
	if (b->count == 0 || b->count > CL_FEED_MAX_ISSUES || b->count > max)
		return AS_E_LENGTH;
	if (len != CL_FEED_LEN(b->count))
		return len < CL_FEED_LEN(b->count) ? AS_E_TRUNCATED : AS_E_TRAILING;
	for (size_t i = 0; i < b->count; i++) {
		b->issues[i].serial = as_reader_u64(&r);
		b->issues[i].expires_at = as_reader_i64(&r);
		b->issues[i].count = as_reader_u8(&r);
		as_reader_copy(&r, b->issues[i].capsule, CL_TOKCAP_LEN);
	}
	sig = as_reader_take(&r, AS_SIG_LEN);
	rc = as_reader_finish(&r);
	if (rc)
		return rc;
	if (b->seq == 0)
		return AS_E_FIELD;
	for (size_t i = 0; i < b->count; i++)
		if (b->issues[i].serial == 0 || b->issues[i].serial > AS_TOKEN_SERIAL_MAX ||
		    b->issues[i].count == 0 || b->issues[i].count > CL_ISSUE_MAX_TOKENS)
			return AS_E_FIELD;
	if (crypto_sign_verify_detached(sig, in, len - AS_SIG_LEN, issuer_pk))
		return AS_E_SIGNATURE;
	return 0;
}

int cl_feed_ack_encode(uint8_t out[CL_FEED_ACK_LEN], const struct cl_feed_ack *a,
		       const uint8_t authority_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;

	as_writer_init(&w, out, CL_FEED_ACK_LEN);
	as_writer_u8(&w, CL_FEED_ACK_MAGIC);
	as_writer_u8(&w, CL_FEED_VERSION);
	as_writer_bytes(&w, a->issuer_id, CL_ISSUER_ID_LEN);
	as_writer_u64(&w, a->seq);
	as_writer_i64(&w, a->cloud_time_ms);
	if (w.err || w.cap - w.len != AS_SIG_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(w.p + w.len, NULL, w.p, w.len, authority_sk);
	return CL_FEED_ACK_LEN;
}

int cl_feed_ack_decode(struct cl_feed_ack *a, const uint8_t *in, size_t len,
		       const uint8_t authority_pk[AS_SIGN_PK_LEN])
{
	struct as_reader r;
	const uint8_t *sig;
	int rc;

	if (len > CL_FEED_ACK_LEN)
		return len > 2 * CL_FEED_ACK_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	rc = check_head(&r, CL_FEED_ACK_MAGIC);
	if (rc)
		return rc;
	memset(a, 0, sizeof *a);
	as_reader_copy(&r, a->issuer_id, CL_ISSUER_ID_LEN);
	a->seq = as_reader_u64(&r);
	a->cloud_time_ms = as_reader_i64(&r);
	sig = as_reader_take(&r, AS_SIG_LEN);
	rc = as_reader_finish(&r);
	if (rc)
		return rc;
	if (crypto_sign_verify_detached(sig, in, len - AS_SIG_LEN, authority_pk))
		return AS_E_SIGNATURE;
	return 0;
}

void cl_feed_topic(char out[64], const uint8_t issuer_id[CL_ISSUER_ID_LEN], int ack)
{
	char hex[2 * CL_ISSUER_ID_LEN + 1];

	as_hex_encode(hex, issuer_id, CL_ISSUER_ID_LEN);
	snprintf(out, 64, CL_FEED_TOPIC_PREFIX "%s/%s", hex, ack ? "ack" : "capsules");
}

int cl_feed_topic_issuer(const char *topic, uint8_t issuer_id[CL_ISSUER_ID_LEN])
{
	size_t plen = strlen(CL_FEED_TOPIC_PREFIX);
	char hex[2 * CL_ISSUER_ID_LEN + 1];

	if (strncmp(topic, CL_FEED_TOPIC_PREFIX, plen) != 0 ||
	    strlen(topic) != plen + 2 * CL_ISSUER_ID_LEN + strlen("/capsules") ||
	    strcmp(topic + plen + 2 * CL_ISSUER_ID_LEN, "/capsules") != 0)
		return AS_E_FIELD;
	memcpy(hex, topic + plen, 2 * CL_ISSUER_ID_LEN);
	hex[2 * CL_ISSUER_ID_LEN] = '\0';
	return as_hex_decode(issuer_id, CL_ISSUER_ID_LEN, hex) ? AS_E_FIELD : 0;
}
