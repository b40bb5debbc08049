/*
 * credential.c - credential, pass and card codecs, QR text, and offline
 * verification (see credential.h for layouts).
 *
 * Invariants: decoders never read past their input and reject any byte
 * string that is not exactly one well-formed value; a scan is only reported
 * valid after both signatures and all time checks pass.  A card credential
 * (AS_CRED_CARD) is never accepted as a phone pass and vice versa, so a
 * credential lifted from someone's pass cannot be printed as a card.
 * Pure functions; any thread.
 */
#include "anshim/credential.h"
#include "anshim/base45.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define CREDENTIAL_SIGNED_LEN (AS_CREDENTIAL_LEN - AS_SIG_LEN)
#define PASS_SIGNED_LEN (AS_PASS_LEN - AS_SIG_LEN)

static const uint8_t zero_key[AS_SIGN_PK_LEN];

static void credential_write(struct as_writer *w, const struct as_credential *c)
{
	as_writer_u8(w, AS_CREDENTIAL_MAGIC);
	as_writer_u8(w, AS_CREDENTIAL_VERSION);
	as_writer_u8(w, c->flags);
	as_writer_bytes(w, c->pid, AS_PID_LEN);
	as_writer_bytes(w, c->holder_pk, AS_SIGN_PK_LEN);
	as_writer_i64(w, c->issued_at);
	as_writer_i64(w, c->expires_at);
	as_writer_u16(w, AS_CAPSULE_LEN);
	as_writer_bytes(w, c->capsule, AS_CAPSULE_LEN);
	as_writer_bytes(w, c->issuer_sig, AS_SIG_LEN);
}

/* Read one credential from r; field checks set r->err via the return. */
static int credential_read(struct as_reader *r, struct as_credential *c)
{
	uint8_t magic = as_reader_u8(r), version = as_reader_u8(r);
	uint16_t capsule_len;

	if (r->err)
		return r->err;
	if (magic != AS_CREDENTIAL_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_CREDENTIAL_VERSION)
		return AS_E_VERSION;
	c->flags = as_reader_u8(r);
	as_reader_copy(r, c->pid, AS_PID_LEN);
	as_reader_copy(r, c->holder_pk, AS_SIGN_PK_LEN);
	c->issued_at = as_reader_i64(r);
	c->expires_at = as_reader_i64(r);
	capsule_len = as_reader_u16(r);
	if (r->err)
		return r->err;
	if (capsule_len != AS_CAPSULE_LEN)
		return AS_E_LENGTH;
	as_reader_copy(r, c->capsule, AS_CAPSULE_LEN);
	as_reader_copy(r, c->issuer_sig, AS_SIG_LEN);
	if (r->err)
		return r->err;
	if (c->flags & ~AS_CRED_FLAGS_KNOWN)
		return AS_E_FIELD;
	if (c->expires_at <= c->issued_at || c->issued_at < 0)
		return AS_E_FIELD;
	return 0;
}

static int finish_encode(const struct as_writer *w)
{
	return w->err ? w->err : (int)w->len;
}

int as_credential_encode(uint8_t *out, size_t cap, const struct as_credential *c)
{
	struct as_writer w;

	as_writer_init(&w, out, cap);
	credential_write(&w, c);
	return finish_encode(&w);
}

int as_credential_decode(struct as_credential *c, const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc;

	if (len > AS_CREDENTIAL_LEN)
		return len > 2 * AS_CREDENTIAL_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	rc = credential_read(&r, c);
	return rc ? rc : as_reader_finish(&r);
}

int as_pass_encode(uint8_t *out, size_t cap, const struct as_pass *p)
{
	struct as_writer w;

	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_PASS_MAGIC);
	as_writer_u8(&w, AS_PASS_VERSION);
	credential_write(&w, &p->cred);
	as_writer_i64(&w, p->timestamp);
	as_writer_bytes(&w, p->holder_sig, AS_SIG_LEN);
	return finish_encode(&w);
}

/* Shared by pass and card: magic, version, then a credential. */
static int wrapped_read(struct as_reader *r, uint8_t magic, uint8_t version,
			struct as_credential *c)
{
	uint8_t m = as_reader_u8(r), v = as_reader_u8(r);

	if (r->err)
		return r->err;
	if (m != magic)
		return AS_E_MAGIC;
	if (v != version)
		return AS_E_VERSION;
	return credential_read(r, c);
}

int as_pass_decode(struct as_pass *p, const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc;

	if (len > AS_PASS_LEN)
		return len > 2 * AS_PASS_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	rc = wrapped_read(&r, AS_PASS_MAGIC, AS_PASS_VERSION, &p->cred);
	if (rc)
		return rc;
	p->timestamp = as_reader_i64(&r);
	as_reader_copy(&r, p->holder_sig, AS_SIG_LEN);
	return as_reader_finish(&r);
}

int as_card_encode(uint8_t *out, size_t cap, const struct as_credential *c)
{
	struct as_writer w;

	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_CARD_MAGIC);
	as_writer_u8(&w, AS_CARD_VERSION);
	credential_write(&w, c);
	return finish_encode(&w);
}

int as_card_decode(struct as_credential *c, const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc;

	if (len > AS_CARD_LEN)
		return len > 2 * AS_CARD_LEN ? AS_E_OVERSIZE : AS_E_TRAILING;
	as_reader_init(&r, in, len);
	rc = wrapped_read(&r, AS_CARD_MAGIC, AS_CARD_VERSION, c);
	return rc ? rc : as_reader_finish(&r);
}

int as_credential_sign(struct as_credential *c, const uint8_t authority_sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_CREDENTIAL_LEN];
	int rc;

	memset(c->issuer_sig, 0, AS_SIG_LEN);
	rc = as_credential_encode(buf, sizeof buf, c);
	if (rc < 0)
		return rc;
	crypto_sign_detached(c->issuer_sig, NULL, buf, CREDENTIAL_SIGNED_LEN, authority_sk);
	return 0;
}

int as_credential_verify_issuer(const struct as_credential *c,
				const uint8_t authority_pk[AS_SIGN_PK_LEN])
{
	uint8_t buf[AS_CREDENTIAL_LEN];

	if (as_credential_encode(buf, sizeof buf, c) < 0)
		return AS_E_ISSUER_SIG;
	if (crypto_sign_verify_detached(c->issuer_sig, buf, CREDENTIAL_SIGNED_LEN,
					authority_pk))
		return AS_E_ISSUER_SIG;
	return 0;
}

int as_pass_make(struct as_pass *p, const struct as_credential *c, int64_t now,
		 const uint8_t holder_sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_PASS_LEN];
	int rc;

	if (c->flags & AS_CRED_CARD)
		return AS_E_IS_CARD;
	p->cred = *c;
	p->timestamp = now;
	memset(p->holder_sig, 0, AS_SIG_LEN);
	rc = as_pass_encode(buf, sizeof buf, p);
	if (rc < 0)
		return rc;
	crypto_sign_detached(p->holder_sig, NULL, buf, PASS_SIGNED_LEN, holder_sk);
	return 0;
}

int as_pass_to_text(char *out, size_t cap, const struct as_pass *p)
{
	uint8_t bin[AS_PASS_LEN];
	int rc = as_pass_encode(bin, sizeof bin, p);

	return rc < 0 ? rc : as_base45_text_encode(out, cap, AS_PASS_PREFIX, bin, (size_t)rc);
}

int as_card_to_text(char *out, size_t cap, const struct as_credential *c)
{
	uint8_t bin[AS_CARD_LEN];
	int rc = as_card_encode(bin, sizeof bin, c);

	return rc < 0 ? rc : as_base45_text_encode(out, cap, AS_CARD_PREFIX, bin, (size_t)rc);
}

static int has_prefix(const char *text, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	return len >= plen && memcmp(text, prefix, plen) == 0;
}

static int verify_validity(const struct as_credential *c, int64_t now)
{
	if (now < c->issued_at)
		return AS_E_NOT_YET;
	if (now >= c->expires_at)
		return AS_E_EXPIRED;
	return 0;
}

int as_scan_verify(struct as_scan *out, const char *text, size_t len,
		   const struct as_verify_params *params)
{
	uint8_t bin[AS_PASS_LEN + 2];
	int n, rc;

	memset(out, 0, sizeof *out);
	if (has_prefix(text, len, AS_PASS_PREFIX))
		out->kind = AS_SCAN_PASS;
	else if (has_prefix(text, len, AS_CARD_PREFIX))
		out->kind = AS_SCAN_CARD;
	else
		return AS_E_PREFIX;
	n = as_base45_text_decode(bin, sizeof bin,
				  out->kind == AS_SCAN_PASS ? AS_PASS_PREFIX : AS_CARD_PREFIX,
				  text, len);
	if (n < 0)
		return n;

	if (out->kind == AS_SCAN_PASS) {
		struct as_pass pass;

		rc = as_pass_decode(&pass, bin, (size_t)n);
		if (rc)
			return rc;
		rc = as_credential_verify_issuer(&pass.cred, params->authority_pk);
		if (rc)
			return rc;
		if (pass.cred.flags & AS_CRED_CARD)
			return AS_E_IS_CARD;
		rc = verify_validity(&pass.cred, params->now);
		if (rc)
			return rc;
		if (crypto_sign_verify_detached(pass.holder_sig, bin, PASS_SIGNED_LEN,
						pass.cred.holder_pk))
			return AS_E_HOLDER_SIG;
		if (pass.timestamp > params->now + params->freshness ||
		    pass.timestamp < params->now - params->freshness)
			return AS_E_STALE;
		out->cred = pass.cred;
		out->timestamp = pass.timestamp;
		return 0;
	}

	rc = as_card_decode(&out->cred, bin, (size_t)n);
	if (rc)
		return rc;
	rc = as_credential_verify_issuer(&out->cred, params->authority_pk);
	if (rc)
		return rc;
	if (!(out->cred.flags & AS_CRED_CARD) ||
	    memcmp(out->cred.holder_pk, zero_key, sizeof zero_key) != 0)
		return AS_E_NOT_CARD;
	return verify_validity(&out->cred, params->now);
}

const char *as_scan_reason(int err)
{
	switch (err) {
	case 0: return "valid";
	case AS_E_ISSUER_SIG: return "bad-issuer-signature";
	case AS_E_ISSUER_UNKNOWN: return "unknown-issuer";
	case AS_E_TOKEN_SIG: return "bad-token-signature";
	case AS_E_HOLDER_SIG: return "bad-holder-signature";
	case AS_E_EXPIRED: return "expired";
	case AS_E_STALE: return "stale";
	case AS_E_NOT_YET: return "not-yet-valid";
	case AS_E_NOT_CARD:
	case AS_E_IS_CARD: return "wrong-form";
	case AS_E_REVOKED: return "revoked";
	default: return "malformed";
	}
}

int as_credential_save(const char *path, const struct as_credential *c, int flags)
{
	uint8_t buf[AS_CREDENTIAL_LEN];
	int rc = as_credential_encode(buf, sizeof buf, c);

	return rc < 0 ? rc : as_file_write_atomic(path, buf, (size_t)rc, 0600, flags);
}

int as_credential_load(const char *path, struct as_credential *c)
{
	unsigned char *data;
	size_t len;
	int rc = as_file_read_all(path, 4096, &data, &len);

	if (rc)
		return rc;
	rc = as_credential_decode(c, data, len);
	free(data);
	return rc;
}

void as_credential_id(uint8_t id[AS_HOLDER_ID_LEN], const struct as_credential *c)
{
	static const char tag[] = "anshim credential id v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, AS_HOLDER_ID_LEN);
	crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
	crypto_generichash_update(&st, c->issuer_sig, AS_SIG_LEN);
	crypto_generichash_final(&st, id, AS_HOLDER_ID_LEN);
}
