/*
 * enrolment.c - codec, signing and verification of the enrolment
 * credential (layout in enrolment.h).
 *
 * Invariants: decoders never read past their input and accept only
 * exactly one well-formed value; a signature covers every byte before it,
 * so no field can change without breaking it.  Pure functions; any thread.
 */
#include "anshim/enrolment.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <sodium.h>
#include <string.h>

#define ENROLMENT_SIGNED_LEN (AS_ENROLMENT_LEN - AS_SIG_LEN)

static void enrolment_write(struct as_writer *w, const struct as_enrolment *e, int with_sig)
{
	as_writer_u8(w, AS_ENROLMENT_MAGIC);
	as_writer_u8(w, AS_ENROLMENT_VERSION);
	as_writer_bytes(w, e->holder_pk, AS_SIGN_PK_LEN);
	as_writer_u32(w, e->consent_version);
	as_writer_i64(w, e->issued_at);
	as_writer_i64(w, e->expires_at);
	if (with_sig)
		as_writer_bytes(w, e->issuer_sig, AS_SIG_LEN);
}

static int enrolment_fields_ok(const struct as_enrolment *e)
{
	return e->consent_version >= 1 && e->expires_at > e->issued_at;
}

/* Read one enrolment from r (the rest of r is the caller's). */
static int enrolment_read(struct as_reader *r, struct as_enrolment *e)
{
	uint8_t magic = as_reader_u8(r), version = as_reader_u8(r);

	if (r->err)
		return r->err;
	if (magic != AS_ENROLMENT_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_ENROLMENT_VERSION)
		return AS_E_VERSION;
	as_reader_copy(r, e->holder_pk, AS_SIGN_PK_LEN);
	e->consent_version = as_reader_u32(r);
	e->issued_at = as_reader_i64(r);
	e->expires_at = as_reader_i64(r);
	as_reader_copy(r, e->issuer_sig, AS_SIG_LEN);
	if (r->err)
		return r->err;
	return enrolment_fields_ok(e) ? 0 : AS_E_FIELD;
}

int as_enrolment_encode(uint8_t *out, size_t cap, const struct as_enrolment *e)
{
	struct as_writer w;

	as_writer_init(&w, out, cap);
	enrolment_write(&w, e, 1);
	return w.err ? w.err : (int)w.len;
}

int as_enrolment_decode(struct as_enrolment *e, const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc;

	memset(e, 0, sizeof *e);
	if (len > AS_ENROLMENT_LEN)
		return AS_E_TRAILING;
	as_reader_init(&r, in, len);
	if ((rc = enrolment_read(&r, e)) != 0)
		return rc;
	return as_reader_finish(&r);
}

int as_enrolment_sign(struct as_enrolment *e, const uint8_t issuer_sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_ENROLMENT_LEN];
	struct as_writer w;

	if (!enrolment_fields_ok(e))
		return AS_E_FIELD;
	as_writer_init(&w, buf, sizeof buf);
	enrolment_write(&w, e, 0);
	if (w.err || w.len != ENROLMENT_SIGNED_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(e->issuer_sig, NULL, buf, w.len, issuer_sk);
	return 0;
}

int as_enrolment_verify(const struct as_enrolment *e, const uint8_t issuer_pk[AS_SIGN_PK_LEN])
{
	uint8_t buf[AS_ENROLMENT_LEN];
	struct as_writer w;

	as_writer_init(&w, buf, sizeof buf);
	enrolment_write(&w, e, 0);
	if (w.err)
		return AS_E_ISSUER_SIG;
	return crypto_sign_verify_detached(e->issuer_sig, buf, w.len, issuer_pk) == 0
		       ? 0 : AS_E_ISSUER_SIG;
}

void as_enrolment_id(uint8_t id[AS_HOLDER_ID_LEN], const struct as_enrolment *e)
{
	static const char tag[] = "anshim enrolment id v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, AS_HOLDER_ID_LEN);
	crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
	crypto_generichash_update(&st, e->issuer_sig, AS_SIG_LEN);
	crypto_generichash_final(&st, id, AS_HOLDER_ID_LEN);
}
