/*
 * policy.c - signed policy codec (layout in policy.h).
 *
 * Invariant: a decoded policy has a valid authority signature, a level in
 * 1..4 and counts that match its length exactly; the signature is checked
 * before anything is allocated.  Pure apart from malloc; any thread.
 */
#include "anshim/policy.h"
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

size_t as_policy_size(const struct as_policy *p)
{
	return AS_POLICY_FIXED_LEN + 16 * ((size_t)p->n_revoked_gateways + p->n_revoked_holders);
}

int as_policy_encode(uint8_t *out, size_t cap, const struct as_policy *p,
		     const uint8_t authority_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;

	if (p->alert_level < 1 || p->alert_level > 4)
		return AS_E_FIELD;
	if (p->n_revoked_gateways > AS_POLICY_MAX_REVOKED ||
	    p->n_revoked_holders > AS_POLICY_MAX_REVOKED)
		return AS_E_LENGTH;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_POLICY_MAGIC);
	as_writer_u8(&w, AS_POLICY_VERSION);
	as_writer_u64(&w, p->policy_seq);
	as_writer_i64(&w, p->issued_at);
	as_writer_u8(&w, p->alert_level);
	as_writer_bytes(&w, p->contact_pk, AS_BOX_PK_LEN);
	as_writer_u32(&w, p->n_revoked_gateways);
	as_writer_bytes(&w, p->revoked_gateways, 16 * (size_t)p->n_revoked_gateways);
	as_writer_u32(&w, p->n_revoked_holders);
	as_writer_bytes(&w, p->revoked_holders, 16 * (size_t)p->n_revoked_holders);
	if (w.err || w.cap - w.len < AS_SIG_LEN)
		return AS_E_OVERSIZE;
	crypto_sign_detached(w.p + w.len, NULL, w.p, w.len, authority_sk);
	return (int)(w.len + AS_SIG_LEN);
}

/* Read a u32 count and borrow its 16-byte entries. */
static const uint8_t *list_take(struct as_reader *r, uint32_t *count)
{
	*count = as_reader_u32(r);
	if (r->err)
		return NULL;
	if (*count > AS_POLICY_MAX_REVOKED) {
		r->err = AS_E_LENGTH;
		return NULL;
	}
	if ((size_t)*count * 16 > r->left) {
		r->err = AS_E_LENGTH;
		return NULL;
	}
	return as_reader_take(r, (size_t)*count * 16);
}

static void *list_copy(const uint8_t *src, uint32_t count)
{
	void *dst;

	if (count == 0)
		return NULL;
	dst = malloc((size_t)count * 16);
	if (dst)
		memcpy(dst, src, (size_t)count * 16);
	return dst;
}

int as_policy_decode(struct as_policy *p, const uint8_t *in, size_t len,
		     const uint8_t authority_pk[AS_SIGN_PK_LEN])
{
	struct as_reader r;
	const uint8_t *gws, *holders;
	uint8_t magic, version;
	int rc;

	memset(p, 0, sizeof *p);
	if (len > AS_POLICY_MAX_BYTES)
		return AS_E_OVERSIZE;
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_POLICY_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_POLICY_VERSION)
		return AS_E_VERSION;
	p->policy_seq = as_reader_u64(&r);
	p->issued_at = as_reader_i64(&r);
	p->alert_level = as_reader_u8(&r);
	as_reader_copy(&r, p->contact_pk, AS_BOX_PK_LEN);
	gws = list_take(&r, &p->n_revoked_gateways);
	holders = list_take(&r, &p->n_revoked_holders);
	if (!as_reader_take(&r, AS_SIG_LEN) && !r.err)
		r.err = AS_E_TRUNCATED;
	rc = as_reader_finish(&r);
	if (!rc && (p->alert_level < 1 || p->alert_level > 4))
		rc = AS_E_FIELD;
	if (!rc && crypto_sign_verify_detached(in + len - AS_SIG_LEN, in, len - AS_SIG_LEN,
					       authority_pk))
		rc = AS_E_SIGNATURE;
	if (!rc) {
		p->revoked_gateways = list_copy(gws, p->n_revoked_gateways);
		p->revoked_holders = list_copy(holders, p->n_revoked_holders);
		if ((p->n_revoked_gateways && !p->revoked_gateways) ||
		    (p->n_revoked_holders && !p->revoked_holders))
			rc = -ENOMEM;
	}
	if (rc)
		as_policy_free(p);
	return rc;
}

void as_policy_free(struct as_policy *p)
{
	free(p->revoked_gateways);
	free(p->revoked_holders);
	p->revoked_gateways = NULL;
	p->revoked_holders = NULL;
	p->n_revoked_gateways = 0;
	p->n_revoked_holders = 0;
}

static int list_contains(const uint8_t (*list)[16], uint32_t n, const uint8_t id[16])
{
	for (uint32_t i = 0; i < n; i++)
		if (memcmp(list[i], id, 16) == 0)
			return 1;
	return 0;
}

int as_policy_gateway_revoked(const struct as_policy *p, const uint8_t gw_id[AS_GWID_LEN])
{
	return list_contains((const uint8_t (*)[16])p->revoked_gateways,
			     p->n_revoked_gateways, gw_id);
}

int as_policy_holder_revoked(const struct as_policy *p,
			     const uint8_t holder_id[AS_HOLDER_ID_LEN])
{
	return list_contains((const uint8_t (*)[16])p->revoked_holders,
			     p->n_revoked_holders, holder_id);
}
