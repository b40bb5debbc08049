/*
 * token.c - visit tokens, token requests and batches, and version 2 passes
 * (layouts in token.h): codecs, minting, making and offline verification.
 *
 * Invariants: decoders never read past their input and accept only exactly
 * one well-formed value; a pass v2 is reported valid only after the issuer
 * signature (by a key of the policy), the expiry, the token-key signature
 * and freshness all pass.  The issuer signature covers the token's own
 * encoding ('O', version, ...) whether the token stands alone or sits in a
 * pass, so a signature made for a token never verifies as anything else.
 * Token ids come from randombytes_buf only.  Pure functions apart from the
 * randomness; any thread.
 */
#include "anshim/token.h"
#include "anshim/base45.h"
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <sodium.h>
#include <string.h>

/* The token fields after magic and version: shared by token and pass. */
static void token_body_write(struct as_writer *w, const struct as_token *t)
{
	as_writer_bytes(w, t->issuer_kid, AS_ISSUER_KID_LEN);
	as_writer_bytes(w, t->token_id, AS_TOKEN_ID_LEN);
	as_writer_u32(w, (uint32_t)t->expires_at);
	as_writer_bytes(w, t->token_pk, AS_SIGN_PK_LEN);
	as_writer_bytes(w, t->issuer_sig, AS_SIG_LEN);
}

static int token_body_read(struct as_reader *r, struct as_token *t)
{
	as_reader_copy(r, t->issuer_kid, AS_ISSUER_KID_LEN);
	as_reader_copy(r, t->token_id, AS_TOKEN_ID_LEN);
	t->expires_at = as_reader_u32(r);
	as_reader_copy(r, t->token_pk, AS_SIGN_PK_LEN);
	as_reader_copy(r, t->issuer_sig, AS_SIG_LEN);
	if (r->err)
		return r->err;
	return t->expires_at == 0 ? AS_E_FIELD : 0;
}

static int u32_time_ok(int64_t t)
{
	return t >= 0 && t <= (int64_t)UINT32_MAX;
}

static int finish_encode(const struct as_writer *w)
{
	return w->err ? w->err : (int)w->len;
}

/* Magic and version; r->err or AS_E_MAGIC / AS_E_VERSION. */
static int head_read(struct as_reader *r, uint8_t magic, uint8_t version)
{
	uint8_t m = as_reader_u8(r), v = as_reader_u8(r);

	if (r->err)
		return r->err;
	if (m != magic)
		return AS_E_MAGIC;
	return v == version ? 0 : AS_E_VERSION;
}

/* A fixed-size format's size rule (as in credential.c). */
static int fixed_size_check(size_t len, size_t size)
{
	if (len > size)
		return len > 2 * size ? AS_E_OVERSIZE : AS_E_TRAILING;
	return 0;
}

int as_token_encode(uint8_t *out, size_t cap, const struct as_token *t)
{
	struct as_writer w;

	if (t->expires_at <= 0 || !u32_time_ok(t->expires_at))
		return AS_E_FIELD;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_TOKEN_MAGIC);
	as_writer_u8(&w, AS_TOKEN_VERSION);
	token_body_write(&w, t);
	return finish_encode(&w);
}

int as_token_decode(struct as_token *t, const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc = fixed_size_check(len, AS_TOKEN_LEN);

	if (rc)
		return rc;
	as_reader_init(&r, in, len);
	rc = head_read(&r, AS_TOKEN_MAGIC, AS_TOKEN_VERSION);
	if (!rc)
		rc = token_body_read(&r, t);
	return rc ? rc : as_reader_finish(&r);
}

int as_pass2_encode(uint8_t *out, size_t cap, const struct as_pass2 *p)
{
	struct as_writer w;

	if (p->token.expires_at <= 0 || !u32_time_ok(p->token.expires_at) ||
	    !u32_time_ok(p->timestamp))
		return AS_E_FIELD;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_PASS2_MAGIC);
	as_writer_u8(&w, AS_PASS2_VERSION);
	token_body_write(&w, &p->token);
	as_writer_u32(&w, (uint32_t)p->timestamp);
	as_writer_bytes(&w, p->token_sig, AS_SIG_LEN);
	return finish_encode(&w);
}

int as_pass2_decode(struct as_pass2 *p, const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc = fixed_size_check(len, AS_PASS2_LEN);

	if (rc)
		return rc;
	as_reader_init(&r, in, len);
	rc = head_read(&r, AS_PASS2_MAGIC, AS_PASS2_VERSION);
	if (!rc)
		rc = token_body_read(&r, &p->token);
	if (rc)
		return rc;
	p->timestamp = as_reader_u32(&r);
	as_reader_copy(&r, p->token_sig, AS_SIG_LEN);
	return as_reader_finish(&r);
}

int as_token_request_encode(uint8_t *out, size_t cap, const struct as_token_request *r)
{
	struct as_writer w;

	if (r->n < 1 || r->n > AS_TOKEN_BATCH_MAX)
		return AS_E_FIELD;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_TOKEN_REQUEST_MAGIC);
	as_writer_u8(&w, AS_TOKEN_REQUEST_VERSION);
	as_writer_bytes(&w, r->holder_pk, AS_SIGN_PK_LEN);
	as_writer_bytes(&w, r->request_id, sizeof r->request_id);
	as_writer_i64(&w, r->created_at);
	as_writer_u8(&w, r->n);
	as_writer_bytes(&w, r->token_pks, (size_t)r->n * AS_SIGN_PK_LEN);
	as_writer_bytes(&w, r->holder_sig, AS_SIG_LEN);
	return finish_encode(&w);
}

int as_token_request_decode(struct as_token_request *r, const uint8_t *in, size_t len)
{
	struct as_reader rd;
	int rc;

	if (len > AS_TOKEN_REQUEST_MAX_LEN)
		return AS_E_OVERSIZE;
	memset(r, 0, sizeof *r);
	as_reader_init(&rd, in, len);
	rc = head_read(&rd, AS_TOKEN_REQUEST_MAGIC, AS_TOKEN_REQUEST_VERSION);
	if (rc)
		return rc;
	as_reader_copy(&rd, r->holder_pk, AS_SIGN_PK_LEN);
	as_reader_copy(&rd, r->request_id, sizeof r->request_id);
	r->created_at = as_reader_i64(&rd);
	r->n = as_reader_u8(&rd);
	if (rd.err)
		return rd.err;
	if (r->n < 1 || r->n > AS_TOKEN_BATCH_MAX)
		return AS_E_LENGTH;
	as_reader_copy(&rd, r->token_pks, (size_t)r->n * AS_SIGN_PK_LEN);
	as_reader_copy(&rd, r->holder_sig, AS_SIG_LEN);
	return as_reader_finish(&rd);
}

int as_token_batch_encode(uint8_t *out, size_t cap, const struct as_token_batch *b)
{
	struct as_writer w;

	if (b->n < 1 || b->n > AS_TOKEN_BATCH_MAX)
		return AS_E_FIELD;
	for (unsigned i = 0; i < b->n; i++)
		if (b->tokens[i].expires_at <= 0 || !u32_time_ok(b->tokens[i].expires_at))
			return AS_E_FIELD;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_TOKEN_BATCH_MAGIC);
	as_writer_u8(&w, AS_TOKEN_BATCH_VERSION);
	as_writer_u8(&w, b->n);
	for (unsigned i = 0; i < b->n; i++) {
		as_writer_u8(&w, AS_TOKEN_MAGIC);
		as_writer_u8(&w, AS_TOKEN_VERSION);
		token_body_write(&w, &b->tokens[i]);
	}
	return finish_encode(&w);
}

int as_token_batch_decode(struct as_token_batch *b, const uint8_t *in, size_t len)
{
	struct as_reader r;
	int rc;

	if (len > AS_TOKEN_BATCH_MAX_LEN)
		return AS_E_OVERSIZE;
	as_reader_init(&r, in, len);
	rc = head_read(&r, AS_TOKEN_BATCH_MAGIC, AS_TOKEN_BATCH_VERSION);
	if (rc)
		return rc;
	b->n = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (b->n < 1 || b->n > AS_TOKEN_BATCH_MAX)
		return AS_E_LENGTH;
	for (unsigned i = 0; i < b->n; i++) {
		rc = head_read(&r, AS_TOKEN_MAGIC, AS_TOKEN_VERSION);
		if (!rc)
			rc = token_body_read(&r, &b->tokens[i]);
		if (rc)
			return rc;
	}
	return as_reader_finish(&r);
}

void as_issuer_kid(uint8_t kid[AS_ISSUER_KID_LEN], const uint8_t issuer_pk[AS_SIGN_PK_LEN])
{
	memcpy(kid, issuer_pk, AS_ISSUER_KID_LEN);
}

int64_t as_token_expiry(int64_t now, int64_t lifetime)
{
	int64_t t = now + lifetime;

	return (t + AS_TOKEN_EXPIRY_GRAIN - 1) / AS_TOKEN_EXPIRY_GRAIN * AS_TOKEN_EXPIRY_GRAIN;
}

/* The bytes the issuer signs: the token's encoding up to its signature. */
static int token_signed_bytes(uint8_t out[AS_TOKEN_LEN], const struct as_token *t)
{
	int rc = as_token_encode(out, AS_TOKEN_LEN, t);

	return rc < 0 ? rc : 0;
}

int as_token_sign(struct as_token *t, const uint8_t issuer_sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_TOKEN_LEN];
	int rc = token_signed_bytes(buf, t);

	if (rc)
		return rc;
	crypto_sign_detached(t->issuer_sig, NULL, buf, AS_TOKEN_SIGNED_LEN, issuer_sk);
	return 0;
}

int as_token_id_derive(uint8_t id[AS_TOKEN_ID_LEN], const uint8_t key[AS_TOKEN_ID_KEY_LEN],
		       uint64_t serial, uint8_t index)
{
	uint8_t plain[8];

	if (serial > AS_TOKEN_SERIAL_MAX)
		return AS_E_FIELD;
	as_put_be64(plain, serial << 8 | index);
	randombytes_buf(id, crypto_stream_chacha20_NONCEBYTES);
	crypto_stream_chacha20_xor(id + 8, plain, sizeof plain, id, key);
	return 0;
}

void as_token_id_open(uint64_t *serial, uint8_t *index, const uint8_t id[AS_TOKEN_ID_LEN],
		      const uint8_t key[AS_TOKEN_ID_KEY_LEN])
{
	uint8_t plain[8];
	uint64_t v;

	crypto_stream_chacha20_xor(plain, id + 8, sizeof plain, id, key);
	v = as_get_be64(plain);
	*serial = v >> 8;
	*index = (uint8_t)v;
}

int as_token_mint(struct as_token *t, const uint8_t token_id[AS_TOKEN_ID_LEN],
		  const uint8_t token_pk[AS_SIGN_PK_LEN],
		  int64_t expires_at, const uint8_t issuer_pk[AS_SIGN_PK_LEN],
		  const uint8_t issuer_sk[AS_SIGN_SK_LEN])
{
	memset(t, 0, sizeof *t);
	as_issuer_kid(t->issuer_kid, issuer_pk);
	if (token_id)
		memcpy(t->token_id, token_id, AS_TOKEN_ID_LEN);
	else
		randombytes_buf(t->token_id, AS_TOKEN_ID_LEN);
	t->expires_at = expires_at;
	memcpy(t->token_pk, token_pk, AS_SIGN_PK_LEN);
	return as_token_sign(t, issuer_sk);
}

int as_token_verify_issuer(const struct as_token *t, const uint8_t issuer_pk[AS_SIGN_PK_LEN])
{
	uint8_t buf[AS_TOKEN_LEN];

	if (memcmp(t->issuer_kid, issuer_pk, AS_ISSUER_KID_LEN) != 0 ||
	    token_signed_bytes(buf, t) != 0 ||
	    crypto_sign_verify_detached(t->issuer_sig, buf, AS_TOKEN_SIGNED_LEN, issuer_pk))
		return AS_E_ISSUER_SIG;
	return 0;
}

int as_token_find_issuer(const struct as_token *t, const struct as_policy *p,
			 const uint8_t **issuer_pk)
{
	int rc = AS_E_ISSUER_UNKNOWN;

	*issuer_pk = NULL;
	for (uint32_t i = 0; i < p->n_issuer_keys; i++) {
		if (memcmp(p->issuer_keys[i], t->issuer_kid, AS_ISSUER_KID_LEN) != 0)
			continue;
		rc = as_token_verify_issuer(t, p->issuer_keys[i]);
		if (rc == 0) {
			*issuer_pk = p->issuer_keys[i];
			return 0;
		}
	}
	return rc;
}

int as_token_request_make(struct as_token_request *r, const uint8_t holder_pk[AS_SIGN_PK_LEN],
			  const uint8_t holder_sk[AS_SIGN_SK_LEN], int64_t now, unsigned n,
			  const uint8_t (*token_pks)[AS_SIGN_PK_LEN])
{
	uint8_t buf[AS_TOKEN_REQUEST_MAX_LEN];
	int len;

	if (n < 1 || n > AS_TOKEN_BATCH_MAX)
		return AS_E_FIELD;
	memset(r, 0, sizeof *r);
	memcpy(r->holder_pk, holder_pk, AS_SIGN_PK_LEN);
	randombytes_buf(r->request_id, sizeof r->request_id);
	r->created_at = now;
	r->n = (uint8_t)n;
	memcpy(r->token_pks, token_pks, (size_t)n * AS_SIGN_PK_LEN);
	len = as_token_request_encode(buf, sizeof buf, r);
	if (len < 0)
		return len;
	crypto_sign_detached(r->holder_sig, NULL, buf, (size_t)len - AS_SIG_LEN, holder_sk);
	return 0;
}

int as_token_request_verify(const struct as_token_request *r)
{
	uint8_t buf[AS_TOKEN_REQUEST_MAX_LEN];
	int len = as_token_request_encode(buf, sizeof buf, r);

	if (len < 0 || crypto_sign_verify_detached(r->holder_sig, buf, (size_t)len - AS_SIG_LEN,
						   r->holder_pk))
		return AS_E_HOLDER_SIG;
	return 0;
}

int as_pass2_make(struct as_pass2 *p, const struct as_token *t, int64_t now,
		  const uint8_t token_sk[AS_SIGN_SK_LEN])
{
	uint8_t buf[AS_PASS2_LEN];
	int rc;

	p->token = *t;
	p->timestamp = now;
	memset(p->token_sig, 0, AS_SIG_LEN);
	rc = as_pass2_encode(buf, sizeof buf, p);
	if (rc < 0)
		return rc;
	crypto_sign_detached(p->token_sig, NULL, buf, AS_PASS2_SIGNED_LEN, token_sk);
	return 0;
}

int as_pass2_to_text(char *out, size_t cap, const struct as_pass2 *p)
{
	uint8_t bin[AS_PASS2_LEN];
	int rc = as_pass2_encode(bin, sizeof bin, p);

	return rc < 0 ? rc : as_base45_text_encode(out, cap, AS_PASS2_PREFIX, bin, sizeof bin);
}

int as_pass2_is_text(const char *text, size_t len)
{
	const size_t plen = sizeof AS_PASS2_PREFIX - 1;

	return len >= plen && memcmp(text, AS_PASS2_PREFIX, plen) == 0;
}

int as_pass2_verify_text(struct as_pass2 *out, const char *text, size_t len,
			 const struct as_pass2_verify_params *params)
{
	uint8_t bin[AS_PASS2_LEN + 2];
	const uint8_t *issuer_pk;
	int n, rc;

	memset(out, 0, sizeof *out);
	n = as_base45_text_decode(bin, sizeof bin, AS_PASS2_PREFIX, text, len);
	if (n < 0)
		return n;
	rc = as_pass2_decode(out, bin, (size_t)n);
	if (!rc)
		rc = as_token_find_issuer(&out->token, params->policy, &issuer_pk);
	if (!rc && params->now >= out->token.expires_at)
		rc = AS_E_EXPIRED;
	if (!rc && crypto_sign_verify_detached(out->token_sig, bin, AS_PASS2_SIGNED_LEN,
					       out->token.token_pk))
		rc = AS_E_TOKEN_SIG;
	if (!rc && (out->timestamp > params->now + params->freshness ||
		    out->timestamp < params->now - params->freshness))
		rc = AS_E_STALE;
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}
