/*
 * policy_store.c - verified, persisted current policy (see
 * policy_store.h).
 *
 * Invariants: the in-memory policy always carries a valid authority
 * signature; policy_seq never goes down (an old policy replayed from the
 * broker is ignored); the saved file is replaced atomically, so a crash
 * leaves the previous or the new policy, never a torn one.  The in-memory
 * copy's revoked credential and token ids are sorted (the saved file keeps
 * the signed bytes), so each scan's look-up is a binary search however
 * long the list grows.  Loop thread.
 */
#include "policy_store.h"

#include "anshim/error.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, AS_HOLDER_ID_LEN);
}

static void sort_revoked(struct as_policy *p)
{
	if (p->n_revoked_holders > 1)
		qsort(p->revoked_holders, p->n_revoked_holders, AS_HOLDER_ID_LEN, id_cmp);
}

int gw_policy_store_init(struct gw_policy_store *s, const uint8_t *authority_pk,
			 const char *path, char *err, size_t err_len)
{
	unsigned char *data;
	size_t len;
	int rc;

	memset(s, 0, sizeof *s);
	s->authority_pk = authority_pk;
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	rc = as_file_read_all(path, AS_POLICY_MAX_BYTES, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		snprintf(err, err_len, "cannot read policy file %s: %s", path, as_strerror(rc));
		return rc;
	}
	rc = as_policy_decode(&s->policy, data, len, authority_pk);
	free(data);
	if (rc) {
		snprintf(err, err_len, "policy file %s is not a valid policy signed by this "
			 "authority: %s (replace it with one made by 'anshim-cloud policy set')",
			 path, as_strerror(rc));
		return rc;
	}
	sort_revoked(&s->policy);
	s->have_policy = 1;
	return 0;
}

void gw_policy_store_free(struct gw_policy_store *s)
{
	as_policy_free(&s->policy);
	free(s->path);
	s->path = NULL;
	s->have_policy = 0;
}

int gw_policy_store_offer(struct gw_policy_store *s, const uint8_t *data, size_t len)
{
	struct as_policy p;
	int rc = as_policy_decode(&p, data, len, s->authority_pk);

	if (rc)
		return rc;
	if (s->have_policy && p.policy_seq <= s->policy.policy_seq) {
		as_policy_free(&p);
		return 0;
	}
	rc = as_file_write_atomic(s->path, data, len, 0600, 0);
	if (rc) {
		as_policy_free(&p);
		return rc;
	}
	as_policy_free(&s->policy);
	s->policy = p;
	sort_revoked(&s->policy);
	s->have_policy = 1;
	return 1;
}

int gw_policy_store_collecting(const struct gw_policy_store *s, int min_level)
{
	return s->have_policy && s->policy.alert_level >= min_level;
}

int gw_policy_store_level(const struct gw_policy_store *s)
{
	return s->have_policy ? s->policy.alert_level : 0;
}

const uint8_t *gw_policy_store_contact_key(const struct gw_policy_store *s)
{
	return s->have_policy ? s->policy.contact_pk : NULL;
}

void gw_policy_store_passes(const struct gw_policy_store *s, uint32_t *issuer_keys,
			    int64_t *v1_until)
{
	*issuer_keys = s->have_policy ? s->policy.n_issuer_keys : 0;
	*v1_until = s->have_policy && s->policy.v1_until_set ? s->policy.v1_passes_until : -1;
}

int gw_policy_store_credential_revoked(const struct gw_policy_store *s,
				       const uint8_t id[AS_HOLDER_ID_LEN])
{
	return s->have_policy && s->policy.n_revoked_holders &&
	       bsearch(id, s->policy.revoked_holders, s->policy.n_revoked_holders,
		       AS_HOLDER_ID_LEN, id_cmp) != NULL;
}
