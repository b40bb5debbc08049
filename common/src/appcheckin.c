/*
 * appcheckin.c - the wallet's check-in and check-out at a venue code and
 * the cloud's signed answer (layouts in appcheckin.h and docs/PROTOCOL.md,
 * "Wallet check-in").
 *
 * Invariants: decoders never read past their input and accept a byte
 * string only if it is exactly one well-formed message, the embedded
 * credential and venue code included (each checked by its own decoder as
 * soon as its bytes are read, so their errors come through unchanged).
 * Every field is kept verbatim, so decode + encode gives the same bytes and
 * the id of a re-encoded message is the id of the received one.  Only
 * phone credentials are signed or verified here: a card credential has no
 * holder key.  A decoded answer has a valid authority signature.
 * Pure functions (sign draws its nonce from libsodium); any thread.
 */
#include "anshim/appcheckin.h"
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <sodium.h>
#include <string.h>

#define ANSWER_SIGNED_LEN (AS_APP_ANSWER_LEN - AS_SIG_LEN)

int as_app_checkin_encode(uint8_t *out, size_t cap, const struct as_app_checkin *m)
{
	uint8_t cred[AS_CREDENTIAL_LEN], code[AS_VENUE_CODE_MAX];
	struct as_writer w;
	int rc, code_len = 0;

	if (m->kind != AS_APP_CHECKIN && m->kind != AS_APP_CHECKOUT)
		return AS_E_FIELD;
	rc = as_credential_encode(cred, sizeof cred, &m->cred);
	if (rc < 0)
		return rc;
	if (m->kind == AS_APP_CHECKIN) {
		code_len = as_venue_code_encode(code, sizeof code, &m->code);
		if (code_len < 0)
			return code_len;
		if (code_len < AS_APP_CODE_MIN)
			return AS_E_LENGTH;
	}
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_APP_CHECKIN_MAGIC);
	as_writer_u8(&w, AS_APP_CHECKIN_VERSION);
	as_writer_u8(&w, m->kind);
	as_writer_bytes(&w, cred, sizeof cred);
	as_writer_i64(&w, m->time);
	as_writer_bytes(&w, m->nonce, AS_APP_NONCE_LEN);
	if (m->kind == AS_APP_CHECKIN) {
		as_writer_u16(&w, (uint16_t)code_len);
		as_writer_bytes(&w, code, (size_t)code_len);
	} else {
		as_writer_bytes(&w, m->checkin_id, AS_APP_CHECKIN_ID_LEN);
	}
	as_writer_bytes(&w, m->holder_sig, AS_SIG_LEN);
	return w.err ? w.err : (int)w.len;
}

/* Decode the embedded value of `full` bytes at the reader's cursor with
 * dec, giving it only the bytes present (so a cut value reports what its
 * own decoder reports, as if read field by field), then step past it. */
static int embedded_read(struct as_reader *r, size_t full, void *out,
			 int (*dec)(void *out, const uint8_t *in, size_t len))
{
	size_t have = r->left < full ? r->left : full;
	int rc = dec(out, r->p, have);

	if (rc)
		return rc;
	as_reader_take(r, full);
	return r->err;
}

static int credential_dec(void *out, const uint8_t *in, size_t len)
{
	return as_credential_decode(out, in, len);
}

static int venue_dec(void *out, const uint8_t *in, size_t len)
{
	return as_venue_code_decode(out, in, len);
}

int as_app_checkin_decode(struct as_app_checkin *m, const uint8_t *in, size_t len)
{
	struct as_reader r;
	uint8_t magic, version;
	uint16_t code_len;
	int rc;

	if (len > AS_APP_CHECKIN_MAX)
		return AS_E_OVERSIZE;
	memset(m, 0, sizeof *m);
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_APP_CHECKIN_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_APP_CHECKIN_VERSION)
		return AS_E_VERSION;
	m->kind = as_reader_u8(&r);
	if (r.err)
		return r.err;
	/* The kind decides the layout, so it is checked at once. */
	if (m->kind != AS_APP_CHECKIN && m->kind != AS_APP_CHECKOUT)
		return AS_E_FIELD;
	rc = embedded_read(&r, AS_CREDENTIAL_LEN, &m->cred, credential_dec);
	if (rc)
		return rc;
	m->time = as_reader_i64(&r);
	as_reader_copy(&r, m->nonce, AS_APP_NONCE_LEN);
	if (m->kind == AS_APP_CHECKIN) {
		code_len = as_reader_u16(&r);
		if (r.err)
			return r.err;
		if (code_len < AS_APP_CODE_MIN || code_len > AS_VENUE_CODE_MAX)
			return AS_E_LENGTH;
		rc = embedded_read(&r, code_len, &m->code, venue_dec);
		if (rc)
			return rc;
	} else {
		as_reader_copy(&r, m->checkin_id, AS_APP_CHECKIN_ID_LEN);
	}
	as_reader_copy(&r, m->holder_sig, AS_SIG_LEN);
	return as_reader_finish(&r);
}

int as_app_checkin_sign(struct as_app_checkin *m, const uint8_t holder_sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_APP_CHECKIN_MAX];
	int n;

	if (m->cred.flags & AS_CRED_CARD)
		return AS_E_IS_CARD;
	randombytes_buf(m->nonce, AS_APP_NONCE_LEN);
	memset(m->holder_sig, 0, AS_SIG_LEN);
	n = as_app_checkin_encode(buf, sizeof buf, m);
	if (n < 0)
		return n;
	crypto_sign_detached(m->holder_sig, NULL, buf, (size_t)n - AS_SIG_LEN, holder_sk);
	return 0;
}

int as_app_checkin_verify(const struct as_app_checkin *m,
			  const uint8_t authority_pk[AS_SIGN_PK_LEN])
{
	uint8_t buf[AS_APP_CHECKIN_MAX];
	int rc, n;

	rc = as_credential_verify_issuer(&m->cred, authority_pk);
	if (rc)
		return rc;
	if (m->cred.flags & AS_CRED_CARD)
		return AS_E_IS_CARD;
	if (m->time < m->cred.issued_at)
		return AS_E_NOT_YET;
	if (m->time >= m->cred.expires_at)
		return AS_E_EXPIRED;
	n = as_app_checkin_encode(buf, sizeof buf, m);
	if (n < 0)
		return n;
	if (crypto_sign_verify_detached(m->holder_sig, buf, (size_t)n - AS_SIG_LEN,
					m->cred.holder_pk))
		return AS_E_HOLDER_SIG;
	return 0;
}

void as_app_checkin_id(uint8_t id[AS_APP_CHECKIN_ID_LEN], const uint8_t *msg, size_t len)
{
	static const char tag[] = "anshim app checkin v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, AS_APP_CHECKIN_ID_LEN);
	crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
	crypto_generichash_update(&st, msg, len);
	crypto_generichash_final(&st, id, AS_APP_CHECKIN_ID_LEN);
}

/* Status and reason agree: a reason exactly when rejected. */
static int answer_fields_ok(const struct as_app_answer *a)
{
	if (a->status < AS_APP_STORED || a->status > AS_APP_REJECTED)
		return 0;
	if (a->status == AS_APP_REJECTED)
		return a->reason >= 1 && a->reason <= AS_APP_R_LAST;
	return a->reason == AS_APP_OK;
}

int as_app_answer_encode(uint8_t *out, size_t cap, const struct as_app_answer *a,
			 const uint8_t authority_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;

	if (!answer_fields_ok(a))
		return AS_E_FIELD;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_APP_ANSWER_MAGIC);
	as_writer_u8(&w, AS_APP_ANSWER_VERSION);
	as_writer_bytes(&w, a->checkin_id, AS_APP_CHECKIN_ID_LEN);
	as_writer_u8(&w, a->status);
	as_writer_u8(&w, a->reason);
	as_writer_i64(&w, a->cloud_time);
	if (w.err || w.cap - w.len < AS_SIG_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(w.p + w.len, NULL, w.p, w.len, authority_sk);
	return (int)(w.len + AS_SIG_LEN);
}

int as_app_answer_decode(struct as_app_answer *a, const uint8_t *in, size_t len,
			 const uint8_t authority_pk[AS_SIGN_PK_LEN])
{
	struct as_reader r;
	const uint8_t *sig;
	uint8_t magic, version;
	int rc;

	if (len > AS_APP_ANSWER_LEN)
		return len > 2 * AS_APP_ANSWER_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	memset(a, 0, sizeof *a);
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_APP_ANSWER_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_APP_ANSWER_VERSION)
		return AS_E_VERSION;
	as_reader_copy(&r, a->checkin_id, AS_APP_CHECKIN_ID_LEN);
	a->status = as_reader_u8(&r);
	a->reason = as_reader_u8(&r);
	a->cloud_time = as_reader_i64(&r);
	sig = as_reader_take(&r, AS_SIG_LEN);
	rc = as_reader_finish(&r);
	if (rc)
		return rc;
	if (!answer_fields_ok(a))
		return AS_E_FIELD;
	if (crypto_sign_verify_detached(sig, in, ANSWER_SIGNED_LEN, authority_pk))
		return AS_E_SIGNATURE;
	return 0;
}

const char *as_app_reason_name(uint8_t reason)
{
	switch (reason) {
	case AS_APP_OK: return "ok";
	case AS_APP_R_MALFORMED: return "malformed";
	case AS_APP_R_CREDENTIAL: return "bad-credential";
	case AS_APP_R_HOLDER_SIG: return "bad-holder-signature";
	case AS_APP_R_REVOKED_HOLDER: return "revoked-holder";
	case AS_APP_R_FORGED_CODE: return "forged-code";
	case AS_APP_R_UNKNOWN_VENUE: return "unknown-venue";
	case AS_APP_R_REVOKED_GATEWAY: return "revoked-gateway";
	case AS_APP_R_REMOTE: return "remote";
	case AS_APP_R_REPLAY: return "replay";
	case AS_APP_R_UNKNOWN_CHECKIN: return "unknown-checkin";
	case AS_APP_R_TIME_FUTURE: return "time-future";
	case AS_APP_R_TIME_PAST: return "time-past";
	default: return "unknown";
	}
}

const char *as_app_status_name(uint8_t status)
{
	switch (status) {
	case AS_APP_STORED: return "stored";
	case AS_APP_DUPLICATE: return "duplicate";
	case AS_APP_REJECTED: return "rejected";
	default: return "unknown";
	}
}
