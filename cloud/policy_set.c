/*
 * policy_set.c - issue a new policy (policy_set.h): the revoked lists,
 * the category table (given, or kept from the saved policy), each active
 * gateway's venue category from the registry,
 * the signature, the saved copies, the history line and the publish.
 *
 * Invariants: policy_seq is milliseconds since the epoch and always above
 * the saved policy's, so gateways can refuse to go back to an older
 * policy; every file is written atomically (policy, revoked-credentials)
 * or appended with one write and an fsync (policy-history); sections the
 * request does not change are carried over from the saved policy; the signing
 * key is wiped as soon as the policy is signed.  No global state: any
 * thread, one call at a time per thread.
 */
#include "policy_set.h"

#include "authority.h"
#include "publish.h"

#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"
#include "anshim/policy.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct id_list {
	uint8_t (*ids)[16];
	uint32_t n, cap;
};

static int id_list_add(struct id_list *l, const uint8_t id[16])
{
	for (uint32_t i = 0; i < l->n; i++)
		if (memcmp(l->ids[i], id, 16) == 0)
			return 0;
	if (l->n == AS_POLICY_MAX_REVOKED)
		return AS_E_LENGTH;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->ids, (size_t)cap * 16);
		if (!p)
			return -ENOMEM;
		l->ids = p;
		l->cap = cap;
	}
	memcpy(l->ids[l->n++], id, 16);
	return 0;
}

/* The new policy's issuer keys: the saved ones plus rq's, minus rq's
 * drops.  keys has room for AS_POLICY_MAX_ISSUER_KEYS. */
static int issuer_keys_merge(const struct as_policy *previous,
			     const struct cl_policy_request *rq,
			     uint8_t keys[AS_POLICY_MAX_ISSUER_KEYS][AS_SIGN_PK_LEN], uint32_t *n,
			     char *err, size_t err_len)
{
	*n = 0;
	for (size_t i = 0; i < previous->n_issuer_keys + rq->n_add_issuer; i++) {
		const uint8_t *k = i < previous->n_issuer_keys
			? previous->issuer_keys[i] : rq->add_issuer[i - previous->n_issuer_keys];
		int skip = 0;

		for (uint32_t j = 0; j < *n && !skip; j++)
			skip = memcmp(keys[j], k, AS_SIGN_PK_LEN) == 0;
		for (size_t j = 0; j < rq->n_drop_issuer && !skip; j++)
			skip = memcmp(rq->drop_issuer[j], k, AS_SIGN_PK_LEN) == 0;
		if (skip)
			continue;
		if (*n == AS_POLICY_MAX_ISSUER_KEYS) {
			as_err_printf(err, err_len, "at most %d issuer keys; drop one with "
				      "--drop-issuer-key first", AS_POLICY_MAX_ISSUER_KEYS);
			return AS_E_LENGTH;
		}
		memcpy(keys[(*n)++], k, AS_SIGN_PK_LEN);
	}
	return 0;
}

static int add_revoked_gateway(void *ctx, const struct cl_gateway *g)
{
	return g->revoked ? id_list_add(ctx, g->gw_id) != 0 : 0;
}

/* Each active gateway's venue (section 5) and, when the venue has one,
 * its category (section 4). */
struct gwcat_list {
	struct cl_store *store;
	struct as_policy_gateway_category *items;
	uint32_t n, cap;
	struct as_policy_gateway_venue *venues;
	uint32_t n_venues, cap_venues;
	int err;
};

static int add_gateway_category(void *ctx, const struct cl_gateway *g)
{
	struct gwcat_list *l = ctx;
	struct cl_venue v;
	int rc;

	if (g->revoked)
		return 0;
	if (l->n_venues == AS_POLICY_MAX_GATEWAY_CATEGORIES) {
		l->err = AS_E_LENGTH;
		return 1;
	}
	if (l->n_venues == l->cap_venues) {
		uint32_t cap = l->cap_venues ? l->cap_venues * 2 : 64;
		void *p = realloc(l->venues, (size_t)cap * sizeof *l->venues);
		if (!p) {
			l->err = -ENOMEM;
			return 1;
		}
		l->venues = p;
		l->cap_venues = cap;
	}
	memcpy(l->venues[l->n_venues].gw_id, g->gw_id, AS_GWID_LEN);
	l->venues[l->n_venues++].venue_id = g->venue_id;
	rc = cl_store_get_venue(l->store, g->venue_id, &v);
	if (rc == AS_E_NOT_FOUND || (!rc && as_policy_category_check(v.category) != 0))
		return 0; /* no category (or one from before categories were names) */
	if (rc) {
		l->err = rc;
		return 1;
	}
	if (l->n == AS_POLICY_MAX_GATEWAY_CATEGORIES) {
		l->err = AS_E_LENGTH;
		return 1;
	}
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->items, (size_t)cap * sizeof *l->items);
		if (!p) {
			l->err = -ENOMEM;
			return 1;
		}
		l->items = p;
		l->cap = cap;
	}
	memcpy(l->items[l->n].gw_id, g->gw_id, AS_GWID_LEN);
	memcpy(l->items[l->n].category, v.category, strlen(v.category) + 1);
	l->n++;
	return 0;
}

int cl_policy_current(const char *store_dir, struct cl_store *store,
		      const uint8_t sign_pk[AS_SIGN_PK_LEN], unsigned char **data, size_t *len,
		      uint64_t *seq, char *warn, size_t warn_len)
{
	struct as_policy p;
	char path[PATH_MAX];
	unsigned char *kept = NULL;
	size_t kept_len = 0;
	uint64_t kept_seq = 0;
	int64_t issued = 0;
	int rc, own, verified;

	*data = NULL;
	*len = 0;
	*seq = 0;
	if (warn_len)
		warn[0] = '\0';
	if (snprintf(path, sizeof path, "%s/policy", store_dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	own = as_file_read_all(path, AS_POLICY_MAX_BYTES, data, len);
	if (own && own != -ENOENT)
		return own;
	if (!own && as_policy_decode(&p, *data, *len, sign_pk) == 0) {
		*seq = p.policy_seq;
		issued = p.issued_at;
		as_policy_free(&p);
	}
	rc = cl_store_policy_newest(store, *seq, &kept_seq, &kept, &kept_len);
	if (rc == -EOPNOTSUPP)
		return own; /* an LMDB store: the file is the policy */
	if (rc) {
		const char *detail = cl_store_last_error();

		as_err_printf(warn, warn_len, "cannot read the newest policy from the store: %s%s%s",
			      as_strerror(rc), *detail ? ": " : "", detail);
		return own;
	}
	if (kept) {
		verified = as_policy_decode(&p, kept, kept_len, sign_pk) == 0 &&
			p.policy_seq == kept_seq;
		as_policy_free(&p);
		if (!verified) {
			as_err_printf(warn, warn_len, "the store's newest policy (seq %llu) does not "
				      "verify with this node's sign.pub: keeping %s", (unsigned long
				      long)kept_seq, own ? "none" : "this node's own");
			free(kept);
			return own;
		}
		rc = as_file_write_atomic(path, kept, kept_len, 0644, 0);
		if (rc)
			as_err_printf(warn, warn_len, "%s: cannot save the store's newest policy "
				      "(seq %llu): %s; publishing it all the same", path,
				      (unsigned long long)kept_seq, as_strerror(rc));
		free(*data);
		*data = kept;
		*len = kept_len;
		*seq = kept_seq;
		return 0;
	}
	/* The node's own copy is the newest: keep it in the store too (a
	 * read-only store, the console's, leaves that to the nodes). */
	if (!own && *seq && (rc = cl_store_policy_put(store, *seq, issued, *data, *len)) != 0 &&
	    rc != -EACCES) {
		const char *detail = cl_store_last_error();

		as_err_printf(warn, warn_len, "cannot keep this node's policy (seq %llu) in the "
			      "store: %s%s%s", (unsigned long long)*seq, as_strerror(rc),
			      *detail ? ": " : "", detail);
	}
	return own;
}

int cl_policy_history_path(const struct cl_config *cfg, char *out, size_t len)
{
	return snprintf(out, len, "%s/policy-history", cfg->store_dir) >= (int)len
		? -ENAMETOOLONG : 0;
}

/* Keep every line of the history file at path in the store (a PostgreSQL
 * store keeps each seq's first line; an LMDB store none): the lines of
 * policies issued before the store kept them come along with the new one. */
static int keep_history_in_store(struct cl_store *store, const char *path)
{
	unsigned char *data = NULL;
	size_t len = 0;
	char *line, *next;
	int rc = as_file_read_all(path, 64u << 20, &data, &len);

	for (line = (char *)data; !rc && line && *line; line = next) {
		json_t *root;
		json_int_t seq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		root = json_loads(line, 0, NULL);
		seq = json_integer_value(json_object_get(root, "seq"));
		if (root && seq > 0)
			rc = cl_store_policy_history_add(store, (uint64_t)seq, line);
		json_decref(root);
	}
	free(data);
	return rc;
}

/* Append one JSON line for the policy to the history and fsync it; and
 * keep it in a PostgreSQL store, whose ingest nodes judge records by it. */
static int append_history(const struct cl_config *cfg, struct cl_store *store,
			  const struct as_policy *p, const char *who, char *err, size_t err_len)
{
	char path[PATH_MAX], issued[32];
	struct as_strbuf b = {0};
	int rc = cl_policy_history_path(cfg, path, sizeof path);

	if (rc) {
		as_err_printf(err, err_len, "%s/policy-history: path too long", cfg->store_dir);
		return rc;
	}
	as_strbuf_printf(&b, "{\"seq\":%llu,\"issued\":\"%s\",\"level\":%u,"
			 "\"revoked_gateways\":%u,\"revoked_credentials\":%u,\"issuer_keys\":%u,",
			 (unsigned long long)p->policy_seq, as_format_time(issued, p->issued_at),
			 p->alert_level, p->n_revoked_gateways, p->n_revoked_holders,
			 p->n_issuer_keys);
	if (p->v1_until_set)
		as_strbuf_printf(&b, "\"v1_passes_until\":%lld,", (long long)p->v1_passes_until);
	as_strbuf_add(&b, "\"who\":");
	as_strbuf_add_clean(&b, who, 1);
	as_strbuf_add(&b, ",\"categories\":{");
	for (uint32_t i = 0; i < p->n_category_levels; i++)
		as_strbuf_printf(&b, "%s\"%s\":%u", i ? "," : "", p->category_levels[i].name,
				 p->category_levels[i].min_level);
	as_strbuf_add(&b, "}}\n");
	if (b.failed) {
		as_strbuf_free(&b);
		as_err_printf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	rc = as_file_append_durable(path, b.p, b.len, 0644);
	as_strbuf_free(&b);
	if (rc) {
		as_err_printf(err, err_len, "%s: cannot append the policy: %s (the policy itself "
			      "is saved)", path, as_strerror(rc));
		return rc;
	}
	rc = keep_history_in_store(store, path);
	if (rc) {
		const char *detail = cl_store_last_error();

		as_err_printf(err, err_len, "cannot keep the policy in the store's history: %s%s%s "
			      "(the policy itself is saved; ingest nodes do not refuse records by "
			      "it until it is kept there: run 'policy set' again)", as_strerror(rc),
			      *detail ? ": " : "", detail);
		return rc;
	}
	return 0;
}

int cl_policy_set(const struct cl_config *cfg, struct cl_store *store,
		  const struct cl_policy_request *rq, struct cl_policy_result *res, char *err,
		  size_t err_len)
{
	struct id_list gateways = {0}, credentials = {0};
	struct as_policy policy, previous = {0};
	struct gwcat_list gwcats = {.store = store};
	uint8_t issuers[AS_POLICY_MAX_ISSUER_KEYS][AS_SIGN_PK_LEN];
	struct cl_authority auth;
	struct timespec ts;
	char path[PATH_MAX];
	const char *failed = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	uint8_t *buf = NULL;
	uint64_t previous_seq = 0;
	int rc, encoded = 0;

	memset(res, 0, sizeof *res);
	memset(&auth, 0, sizeof auth);
	if (rq->level < 1 || rq->level > 4) {
		as_err_printf(err, err_len, "the alert level is 1, 2, 3 or 4");
		return AS_E_FIELD;
	}
	if (rq->v1 == CL_V1_UNTIL && rq->v1_until <= 0) {
		as_err_printf(err, err_len, "the end of version 1 passes must be a time after "
			      "1970; to refuse them now, refuse them");
		return AS_E_FIELD;
	}
	rc = cl_store_each_gateway(store, add_revoked_gateway, &gateways);
	if (rc) {
		as_err_printf(err, err_len, "reading the revoked gateways: %s", as_strerror(rc));
		goto out;
	}
	rc = cl_store_each_gateway(store, add_gateway_category, &gwcats);
	if (rc || gwcats.err) {
		rc = gwcats.err ? gwcats.err : rc;
		as_err_printf(err, err_len, "reading the gateways' venue categories: %s",
			      as_strerror(rc));
		goto out;
	}
	if (rq->categories_set && rq->n_categories > AS_POLICY_MAX_CATEGORIES) {
		as_err_printf(err, err_len, "at most %d categories", AS_POLICY_MAX_CATEGORIES);
		rc = AS_E_LENGTH;
		goto out;
	}
	/* Revoked credentials: the saved list plus the new ones. */
	snprintf(path, sizeof path, "%s/revoked-credentials", cfg->store_dir);
	rc = as_file_read_all(path, (size_t)AS_POLICY_MAX_REVOKED * 16, &data, &len);
	if (rc == -ENOENT)
		rc = 0;
	for (size_t i = 0; !rc && i + 16 <= len; i += 16)
		rc = id_list_add(&credentials, data + i);
	free(data);
	data = NULL;
	for (size_t i = 0; !rc && i < rq->n_revoke; i++)
		rc = id_list_add(&credentials, rq->revoke[i]);
	if (!rc && rq->n_revoke)
		rc = as_file_write_atomic(path, credentials.ids, (size_t)credentials.n * 16, 0600, 0);
	if (rc) {
		as_err_printf(err, err_len, "%s: %s", path, as_strerror(rc));
		goto out;
	}
	rc = cl_authority_load(&auth, rq->keys_dir, CL_KEY_SIGN | CL_KEY_CONTACT_PUBLIC, &failed);
	if (rc) {
		as_err_printf(err, err_len, "%s: %s", failed ? failed : rq->keys_dir, as_strerror(rc));
		goto out;
	}
	memset(&policy, 0, sizeof policy);
	clock_gettime(CLOCK_REALTIME, &ts);
	policy.policy_seq = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* The previous policy: the newest this node or a PostgreSQL store
	 * holds, so a policy set through any node builds on the last one. */
	snprintf(path, sizeof path, "%s/policy", cfg->store_dir);
	rc = cl_policy_current(cfg->store_dir, store, auth.sign_pk, &data, &len, &previous_seq,
			       err, err_len);
	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		as_err_printf(err, err_len, "%s: %s", path, as_strerror(rc));
		goto out;
	}
	if (err[0]) {
		rc = -EIO;
		goto out; /* cannot tell which policy is the last one */
	}
	if (data) {
		if (as_policy_decode(&previous, data, len, auth.sign_pk) == 0 &&
		    previous.policy_seq >= policy.policy_seq)
			policy.policy_seq = previous.policy_seq + 1;
		free(data);
		data = NULL;
	}
	/* Revoked credentials travel in the policy: a revocation made through
	 * another node (its STORE/revoked-credentials) comes along. */
	for (uint32_t i = 0; !rc && i < previous.n_revoked_holders; i++)
		rc = id_list_add(&credentials, previous.revoked_holders[i]);
	if (rc) {
		as_err_printf(err, err_len, "the revoked credentials: %s", as_strerror(rc));
		goto out;
	}
	/* Sections: carried over unless the request changes them. */
	rc = issuer_keys_merge(&previous, rq, issuers, &policy.n_issuer_keys, err, err_len);
	if (rc)
		goto out;
	policy.issuer_keys = policy.n_issuer_keys ? issuers : NULL;
	policy.v1_until_set = previous.v1_until_set;
	policy.v1_passes_until = previous.v1_passes_until;
	if (rq->v1 == CL_V1_UNTIL || rq->v1 == CL_V1_REFUSE) {
		policy.v1_until_set = 1;
		policy.v1_passes_until = rq->v1 == CL_V1_UNTIL ? rq->v1_until : 0;
	} else if (rq->v1 == CL_V1_ACCEPT) {
		policy.v1_until_set = 0;
		policy.v1_passes_until = 0;
	}
	/* The category table stays as it was unless given; each gateway's
	 * category comes from the registry as it is now. */
	policy.n_category_levels = previous.n_category_levels;
	policy.category_levels = previous.category_levels;
	if (rq->categories_set) {
		policy.n_category_levels = (uint32_t)rq->n_categories;
		policy.category_levels = rq->n_categories ?
			(struct as_policy_category *)rq->categories : NULL;
	}
	policy.n_gateway_categories = gwcats.n;
	policy.gateway_categories = gwcats.items;
	policy.n_gateway_venues = gwcats.n_venues;
	policy.gateway_venues = gwcats.venues;
	rc = as_policy_sort_gateway_categories(&policy);
	if (!rc)
		rc = as_policy_sort_gateway_venues(&policy);
	if (rc) {
		as_err_printf(err, err_len, "a gateway is listed twice in the registry");
		goto out;
	}
	policy.issued_at = ts.tv_sec;
	policy.alert_level = (uint8_t)rq->level;
	memcpy(policy.contact_pk, auth.contact_pk, AS_BOX_PK_LEN);
	policy.n_revoked_gateways = gateways.n;
	policy.revoked_gateways = gateways.ids;
	policy.n_revoked_holders = credentials.n;
	policy.revoked_holders = credentials.ids;
	buf = malloc(as_policy_size(&policy));
	rc = buf ? as_policy_encode(buf, as_policy_size(&policy), &policy, auth.sign_sk) : -ENOMEM;
	cl_authority_wipe(&auth);
	if (rc > 0) {
		encoded = rc;
		rc = as_file_write_atomic(path, buf, (size_t)encoded, 0644, 0);
	}
	if (!rc && rq->out)
		rc = as_file_write_atomic(rq->out, buf, (size_t)encoded, 0644, 0);
	if (rc) {
		as_err_printf(err, err_len, "cannot write the policy: %s", as_strerror(rc));
		goto out;
	}
	/* Kept in a PostgreSQL store before it is published: every ingest
	 * node republishes the newest the store keeps. */
	rc = cl_store_policy_put(store, policy.policy_seq, policy.issued_at, buf, (size_t)encoded);
	if (rc) {
		const char *detail = cl_store_last_error();

		as_err_printf(err, err_len, "cannot keep the policy in the store: %s%s%s (saved in "
			      "%s; other ingest nodes republish their older one until it is kept: "
			      "run 'policy set' again)", as_strerror(rc), *detail ? ": " : "",
			      detail, path);
		goto out;
	}
	res->seq = policy.policy_seq;
	res->issued = policy.issued_at;
	res->revoked_gateways = gateways.n;
	res->revoked_credentials = credentials.n;
	res->issuer_keys = policy.n_issuer_keys;
	res->bytes = (size_t)encoded;
	res->categories = policy.n_category_levels;
	res->gateway_categories = gwcats.n;
	res->gateway_venues = gwcats.n_venues;
	res->v1_until_set = policy.v1_until_set;
	res->v1_until = policy.v1_passes_until;
	rc = append_history(cfg, store, &policy, rq->who, err, err_len);
	if (rc)
		goto out;
	if (rq->publish) {
		if (cl_publish_once(cfg, "anshim/v1/policy", buf, (size_t)encoded, 1, 10000,
				    res->publish_error, sizeof res->publish_error) == 0)
			res->published = 1;
		else if (!res->publish_error[0])
			snprintf(res->publish_error, sizeof res->publish_error, "publishing failed");
	}
out:
	cl_authority_wipe(&auth);
	as_policy_free(&previous);
	free(buf);
	free(gateways.ids);
	free(credentials.ids);
	free(gwcats.items);
	free(gwcats.venues);
	return rc;
}
