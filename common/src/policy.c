/*
 * policy.c - signed policy codec (layout in policy.h).
 *
 * Invariant: a decoded policy has a valid authority signature, a level in
 * 1..4, counts that match its length exactly, and well-formed known
 * sections (ascending types, none empty, valid names and levels, no
 * duplicates, gateway categories ascending by gw_id); the signature is
 * checked before anything is allocated.  The encoder enforces the same
 * rules, so every policy it writes decodes to itself.  Pure apart from
 * malloc; any thread.
 */
#include "anshim/policy.h"
#include "anshim/bytes.h"
#include "anshim/error.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static int has_sections(const struct as_policy *p)
{
	return p->n_issuer_keys || p->v1_until_set || p->n_category_levels ||
	       p->n_gateway_categories;
}

static size_t categories_body(const struct as_policy *p)
{
	size_t n = 0;

	for (uint32_t i = 0; i < p->n_category_levels; i++)
		n += 2 + strnlen(p->category_levels[i].name, AS_CATEGORY_MAX + 1);
	return n;
}

static size_t gateway_categories_body(const struct as_policy *p)
{
	size_t n = 0;

	for (uint32_t i = 0; i < p->n_gateway_categories; i++)
		n += AS_GWID_LEN + 1 +
		     strnlen(p->gateway_categories[i].category, AS_CATEGORY_MAX + 1);
	return n;
}

size_t as_policy_size(const struct as_policy *p)
{
	size_t n = AS_POLICY_FIXED_LEN +
		   16 * ((size_t)p->n_revoked_gateways + p->n_revoked_holders);

	if (has_sections(p))
		n += 1; /* n_sections */

	if (p->n_issuer_keys)
		n += AS_POLICY_SECTION_HEAD + (size_t)p->n_issuer_keys * AS_SIGN_PK_LEN;
	if (p->v1_until_set)
		n += AS_POLICY_SECTION_HEAD + 8;
	if (p->n_category_levels)
		n += AS_POLICY_SECTION_HEAD + categories_body(p);
	if (p->n_gateway_categories)
		n += AS_POLICY_SECTION_HEAD + gateway_categories_body(p);
	return n;
}

int as_policy_category_check(const char *name)
{
	size_t n = strnlen(name, AS_CATEGORY_MAX + 1);

	if (n == 0 || n > AS_CATEGORY_MAX)
		return AS_E_FIELD;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return AS_E_FIELD;
	}
	return 0;
}

/* The encoder's value rules, the same the decoder applies. */
static int sections_check(const struct as_policy *p)
{
	if (p->n_issuer_keys > AS_POLICY_MAX_ISSUER_KEYS ||
	    p->n_category_levels > AS_POLICY_MAX_CATEGORIES ||
	    p->n_gateway_categories > AS_POLICY_MAX_GATEWAY_CATEGORIES)
		return AS_E_LENGTH;
	if (p->v1_until_set && p->v1_passes_until < 0)
		return AS_E_FIELD;
	for (uint32_t i = 0; i < p->n_issuer_keys; i++)
		for (uint32_t j = 0; j < i; j++)
			if (memcmp(p->issuer_keys[i], p->issuer_keys[j], AS_SIGN_PK_LEN) == 0)
				return AS_E_FIELD;
	for (uint32_t i = 0; i < p->n_category_levels; i++) {
		const struct as_policy_category *c = &p->category_levels[i];

		if (as_policy_category_check(c->name) || c->min_level < 1 || c->min_level > 4)
			return AS_E_FIELD;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(c->name, p->category_levels[j].name) == 0)
				return AS_E_FIELD;
	}
	for (uint32_t i = 0; i < p->n_gateway_categories; i++) {
		const struct as_policy_gateway_category *g = &p->gateway_categories[i];

		if (as_policy_category_check(g->category))
			return AS_E_FIELD;
		if (i && memcmp(p->gateway_categories[i - 1].gw_id, g->gw_id, AS_GWID_LEN) >= 0)
			return AS_E_FIELD;
	}
	return 0;
}

static void write_name(struct as_writer *w, const char *name)
{
	size_t n = strlen(name);

	as_writer_u8(w, (uint8_t)n);
	as_writer_bytes(w, name, n);
}

static void write_sections(struct as_writer *w, const struct as_policy *p)
{
	as_writer_u8(w, (uint8_t)(!!p->n_issuer_keys + !!p->v1_until_set +
				  !!p->n_category_levels + !!p->n_gateway_categories));
	if (p->n_issuer_keys) {
		as_writer_u8(w, AS_POLICY_SEC_ISSUER_KEYS);
		as_writer_u32(w, p->n_issuer_keys * AS_SIGN_PK_LEN);
		as_writer_bytes(w, p->issuer_keys, (size_t)p->n_issuer_keys * AS_SIGN_PK_LEN);
	}
	if (p->v1_until_set) {
		as_writer_u8(w, AS_POLICY_SEC_V1_UNTIL);
		as_writer_u32(w, 8);
		as_writer_i64(w, p->v1_passes_until);
	}
	if (p->n_category_levels) {
		as_writer_u8(w, AS_POLICY_SEC_CATEGORY_LEVELS);
		as_writer_u32(w, (uint32_t)categories_body(p));
		for (uint32_t i = 0; i < p->n_category_levels; i++) {
			write_name(w, p->category_levels[i].name);
			as_writer_u8(w, p->category_levels[i].min_level);
		}
	}
	if (p->n_gateway_categories) {
		as_writer_u8(w, AS_POLICY_SEC_GATEWAY_CATEGORIES);
		as_writer_u32(w, (uint32_t)gateway_categories_body(p));
		for (uint32_t i = 0; i < p->n_gateway_categories; i++) {
			as_writer_bytes(w, p->gateway_categories[i].gw_id, AS_GWID_LEN);
			write_name(w, p->gateway_categories[i].category);
		}
	}
}

int as_policy_encode(uint8_t *out, size_t cap, const struct as_policy *p,
		     const uint8_t authority_sk[AS_SIGN_SK_LEN])
{
	struct as_writer w;
	int rc;

	if (p->alert_level < 1 || p->alert_level > 4)
		return AS_E_FIELD;
	if (p->n_revoked_gateways > AS_POLICY_MAX_REVOKED ||
	    p->n_revoked_holders > AS_POLICY_MAX_REVOKED)
		return AS_E_LENGTH;
	rc = sections_check(p);
	if (rc)
		return rc;
	as_writer_init(&w, out, cap);
	as_writer_u8(&w, AS_POLICY_MAGIC);
	as_writer_u8(&w, has_sections(p) ? AS_POLICY_VERSION_2 : AS_POLICY_VERSION);
	as_writer_u64(&w, p->policy_seq);
	as_writer_i64(&w, p->issued_at);
	as_writer_u8(&w, p->alert_level);
	as_writer_bytes(&w, p->contact_pk, AS_BOX_PK_LEN);
	as_writer_u32(&w, p->n_revoked_gateways);
	as_writer_bytes(&w, p->revoked_gateways, 16 * (size_t)p->n_revoked_gateways);
	as_writer_u32(&w, p->n_revoked_holders);
	as_writer_bytes(&w, p->revoked_holders, 16 * (size_t)p->n_revoked_holders);
	if (has_sections(p))
		write_sections(&w, p);
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

static void *list_copy(const void *src, size_t count, size_t size)
{
	void *dst;

	if (count == 0)
		return NULL;
	dst = malloc(count * size);
	if (dst)
		memcpy(dst, src, count * size);
	return dst;
}

/* A known section's body, borrowed from the input until the signature is
 * checked; then parsed into the policy. */
struct section_view {
	const uint8_t *body;
	uint32_t len;
};

/* Read one length-prefixed category name from r into out (checked). */
static int name_read(struct as_reader *r, char out[AS_CATEGORY_MAX + 1])
{
	uint8_t n = as_reader_u8(r);

	if (r->err)
		return r->err;
	if (n == 0 || n > AS_CATEGORY_MAX)
		return AS_E_FIELD;
	if (n > r->left)
		return AS_E_LENGTH;
	as_reader_copy(r, out, n);
	out[n] = '\0';
	if (memchr(out, '\0', n))
		return AS_E_FIELD;
	return as_policy_category_check(out);
}

/* Check every entry of a category-levels body and count them; store them
 * in out when it is not NULL (room for AS_POLICY_MAX_CATEGORIES). */
static int categories_parse(const struct section_view *s, uint32_t *count,
			    struct as_policy_category *out)
{
	struct as_policy_category seen[AS_POLICY_MAX_CATEGORIES];
	struct as_reader r;
	uint32_t n = 0;
	int rc;

	as_reader_init(&r, s->body, s->len);
	while (r.left) {
		struct as_policy_category *c;

		if (n == AS_POLICY_MAX_CATEGORIES)
			return AS_E_LENGTH;
		c = &seen[n];
		rc = name_read(&r, c->name);
		if (rc)
			return rc;
		c->min_level = as_reader_u8(&r);
		if (r.err)
			return AS_E_LENGTH; /* the entry runs past the section */
		if (c->min_level < 1 || c->min_level > 4)
			return AS_E_FIELD;
		for (uint32_t j = 0; j < n; j++)
			if (strcmp(seen[j].name, c->name) == 0)
				return AS_E_FIELD;
		n++;
	}
	if (out)
		memcpy(out, seen, n * sizeof *out);
	*count = n;
	return 0;
}

static int gateway_categories_parse(const struct section_view *s, uint32_t *count,
				    struct as_policy_gateway_category *out)
{
	struct as_reader r;
	struct as_policy_gateway_category g, prev;
	uint32_t n = 0;
	int rc;

	as_reader_init(&r, s->body, s->len);
	while (r.left) {
		if (n == AS_POLICY_MAX_GATEWAY_CATEGORIES)
			return AS_E_LENGTH;
		as_reader_copy(&r, g.gw_id, AS_GWID_LEN);
		if (r.err)
			return AS_E_LENGTH;
		rc = name_read(&r, g.category);
		if (rc)
			return rc == AS_E_TRUNCATED ? AS_E_LENGTH : rc;
		if (n && memcmp(prev.gw_id, g.gw_id, AS_GWID_LEN) >= 0)
			return AS_E_FIELD;
		if (out)
			out[n] = g;
		prev = g;
		n++;
	}
	*count = n;
	return 0;
}

/* Read the section count and the sections after the revocation lists:
 * framing and order.  Known bodies are left in views[type]. */
static int sections_read(struct as_reader *r, struct section_view views[5],
			 uint32_t *n_unknown)
{
	unsigned last_type = 0;
	uint8_t n = as_reader_u8(r);

	if (r->err)
		return r->err;
	if (n == 0)
		return AS_E_LENGTH; /* version 2 without a section */
	for (unsigned i = 0; i < n; i++) {
		uint8_t type = as_reader_u8(r);
		uint32_t len = as_reader_u32(r);
		const uint8_t *body;

		if (r->err)
			return r->err;
		if (type <= last_type)
			return AS_E_FIELD; /* out of order, repeated, or type 0 */
		last_type = type;
		if (len == 0 || len > r->left)
			return AS_E_LENGTH;
		body = as_reader_take(r, len);
		if (type > AS_POLICY_SEC_GATEWAY_CATEGORIES) {
			(*n_unknown)++;
			continue;
		}
		views[type].body = body;
		views[type].len = len;
	}
	return 0;
}

/* Check the known section bodies (no allocation). */
static int sections_validate(const struct section_view v[5], struct as_policy *p)
{
	struct as_reader r;
	int rc;

	if (v[AS_POLICY_SEC_ISSUER_KEYS].body) {
		uint32_t len = v[AS_POLICY_SEC_ISSUER_KEYS].len;
		const uint8_t *keys = v[AS_POLICY_SEC_ISSUER_KEYS].body;

		if (len % AS_SIGN_PK_LEN || len / AS_SIGN_PK_LEN > AS_POLICY_MAX_ISSUER_KEYS)
			return AS_E_LENGTH;
		p->n_issuer_keys = len / AS_SIGN_PK_LEN;
		for (uint32_t i = 0; i < p->n_issuer_keys; i++)
			for (uint32_t j = 0; j < i; j++)
				if (memcmp(keys + i * AS_SIGN_PK_LEN, keys + j * AS_SIGN_PK_LEN,
					   AS_SIGN_PK_LEN) == 0)
					return AS_E_FIELD;
	}
	if (v[AS_POLICY_SEC_V1_UNTIL].body) {
		if (v[AS_POLICY_SEC_V1_UNTIL].len != 8)
			return AS_E_LENGTH;
		as_reader_init(&r, v[AS_POLICY_SEC_V1_UNTIL].body, 8);
		p->v1_until_set = 1;
		p->v1_passes_until = as_reader_i64(&r);
		if (p->v1_passes_until < 0)
			return AS_E_FIELD;
	}
	if (v[AS_POLICY_SEC_CATEGORY_LEVELS].body) {
		rc = categories_parse(&v[AS_POLICY_SEC_CATEGORY_LEVELS], &p->n_category_levels,
				      NULL);
		if (rc)
			return rc;
	}
	if (v[AS_POLICY_SEC_GATEWAY_CATEGORIES].body) {
		rc = gateway_categories_parse(&v[AS_POLICY_SEC_GATEWAY_CATEGORIES],
					      &p->n_gateway_categories, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

/* Copy the validated sections into p's own lists. */
static int sections_store(const struct section_view v[5], struct as_policy *p)
{
	uint32_t n;

	if (p->n_issuer_keys) {
		p->issuer_keys = list_copy(v[AS_POLICY_SEC_ISSUER_KEYS].body, p->n_issuer_keys,
					   AS_SIGN_PK_LEN);
		if (!p->issuer_keys)
			return -ENOMEM;
	}
	if (p->n_category_levels) {
		p->category_levels = calloc(p->n_category_levels, sizeof *p->category_levels);
		if (!p->category_levels)
			return -ENOMEM;
		categories_parse(&v[AS_POLICY_SEC_CATEGORY_LEVELS], &n, p->category_levels);
	}
	if (p->n_gateway_categories) {
		p->gateway_categories = calloc(p->n_gateway_categories,
					       sizeof *p->gateway_categories);
		if (!p->gateway_categories)
			return -ENOMEM;
		gateway_categories_parse(&v[AS_POLICY_SEC_GATEWAY_CATEGORIES], &n,
					 p->gateway_categories);
	}
	return 0;
}

int as_policy_decode(struct as_policy *p, const uint8_t *in, size_t len,
		     const uint8_t authority_pk[AS_SIGN_PK_LEN])
{
	struct section_view views[5];
	struct as_reader r;
	const uint8_t *gws, *holders;
	uint8_t magic, version;
	int rc;

	memset(p, 0, sizeof *p);
	memset(views, 0, sizeof views);
	if (len > AS_POLICY_MAX_BYTES)
		return AS_E_OVERSIZE;
	as_reader_init(&r, in, len);
	magic = as_reader_u8(&r);
	version = as_reader_u8(&r);
	if (r.err)
		return r.err;
	if (magic != AS_POLICY_MAGIC)
		return AS_E_MAGIC;
	if (version != AS_POLICY_VERSION && version != AS_POLICY_VERSION_2)
		return AS_E_VERSION;
	p->policy_seq = as_reader_u64(&r);
	p->issued_at = as_reader_i64(&r);
	p->alert_level = as_reader_u8(&r);
	as_reader_copy(&r, p->contact_pk, AS_BOX_PK_LEN);
	gws = list_take(&r, &p->n_revoked_gateways);
	holders = list_take(&r, &p->n_revoked_holders);
	rc = r.err;
	if (!rc && version == AS_POLICY_VERSION_2)
		rc = sections_read(&r, views, &p->n_unknown_sections);
	if (!rc) {
		if (!as_reader_take(&r, AS_SIG_LEN) && !r.err)
			r.err = AS_E_TRUNCATED;
		rc = as_reader_finish(&r);
	}
	if (!rc && (p->alert_level < 1 || p->alert_level > 4))
		rc = AS_E_FIELD;
	if (!rc)
		rc = sections_validate(views, p);
	if (!rc && crypto_sign_verify_detached(in + len - AS_SIG_LEN, in, len - AS_SIG_LEN,
					       authority_pk))
		rc = AS_E_SIGNATURE;
	if (!rc) {
		p->revoked_gateways = list_copy(gws, p->n_revoked_gateways, 16);
		p->revoked_holders = list_copy(holders, p->n_revoked_holders, 16);
		if ((p->n_revoked_gateways && !p->revoked_gateways) ||
		    (p->n_revoked_holders && !p->revoked_holders))
			rc = -ENOMEM;
	}
	if (!rc)
		rc = sections_store(views, p);
	if (rc)
		as_policy_free(p);
	return rc;
}

void as_policy_free(struct as_policy *p)
{
	free(p->revoked_gateways);
	free(p->revoked_holders);
	free(p->issuer_keys);
	free(p->category_levels);
	free(p->gateway_categories);
	p->revoked_gateways = NULL;
	p->revoked_holders = NULL;
	p->issuer_keys = NULL;
	p->category_levels = NULL;
	p->gateway_categories = NULL;
	p->n_revoked_gateways = 0;
	p->n_revoked_holders = 0;
	p->n_issuer_keys = 0;
	p->n_category_levels = 0;
	p->n_gateway_categories = 0;
	p->v1_until_set = 0;
	p->v1_passes_until = 0;
	p->n_unknown_sections = 0;
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

int as_policy_issuer_known(const struct as_policy *p, const uint8_t pk[AS_SIGN_PK_LEN])
{
	for (uint32_t i = 0; i < p->n_issuer_keys; i++)
		if (sodium_memcmp(p->issuer_keys[i], pk, AS_SIGN_PK_LEN) == 0)
			return 1;
	return 0;
}

int as_policy_v1_accepted(const struct as_policy *p, int64_t now)
{
	if (!p->v1_until_set)
		return 1;
	return p->v1_passes_until != 0 && now < p->v1_passes_until;
}

uint8_t as_policy_min_level(const struct as_policy *p, const char *category)
{
	if (category && category[0])
		for (uint32_t i = 0; i < p->n_category_levels; i++)
			if (strcmp(p->category_levels[i].name, category) == 0)
				return p->category_levels[i].min_level;
	return AS_POLICY_DEFAULT_MIN_LEVEL;
}

static int gateway_category_cmp(const void *a, const void *b)
{
	return memcmp(((const struct as_policy_gateway_category *)a)->gw_id,
		      ((const struct as_policy_gateway_category *)b)->gw_id, AS_GWID_LEN);
}

const char *as_policy_gateway_category(const struct as_policy *p,
				       const uint8_t gw_id[AS_GWID_LEN])
{
	struct as_policy_gateway_category key;
	const struct as_policy_gateway_category *hit;

	if (!p->n_gateway_categories)
		return NULL;
	memcpy(key.gw_id, gw_id, AS_GWID_LEN);
	hit = bsearch(&key, p->gateway_categories, p->n_gateway_categories, sizeof key,
		      gateway_category_cmp);
	return hit ? hit->category : NULL;
}

int as_policy_sort_gateway_categories(struct as_policy *p)
{
	if (p->n_gateway_categories < 2)
		return 0;
	qsort(p->gateway_categories, p->n_gateway_categories, sizeof *p->gateway_categories,
	      gateway_category_cmp);
	for (uint32_t i = 1; i < p->n_gateway_categories; i++)
		if (gateway_category_cmp(&p->gateway_categories[i - 1],
					 &p->gateway_categories[i]) == 0)
			return AS_E_FIELD;
	return 0;
}
