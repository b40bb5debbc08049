/*
 * policy_cmd.c - anshim-cloud policy set: sign the policy (alert level,
 * contact key, revoked gateways from the registry, revoked credentials),
 * keep it in the store directory (anshim-cloudd republishes it retained on
 * every connection), publish it retained now, and optionally write a copy
 * for an offline gateway.  Revoked credential ids accumulate in
 * STORE/revoked-credentials (16 bytes each).  Single-threaded.
 */
#include "authority.h"
#include "cli.h"
#include "commands.h"
#include "publish.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"
#include "anshim/policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NEW_REVOCATIONS 4096

/* --revoke-credential takes a credential file or its id in hex. */
static int read_credential_id(const char *arg, uint8_t id[AS_HOLDER_ID_LEN])
{
	struct as_credential cred;
	int rc;

	if (strlen(arg) == 2 * AS_HOLDER_ID_LEN && as_hex_decode(id, AS_HOLDER_ID_LEN, arg) == 0)
		return 0;
	rc = as_credential_load(arg, &cred);
	if (rc)
		return rc;
	as_credential_id(id, &cred);
	return 0;
}

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

static int add_revoked_gateway(void *ctx, const struct cl_gateway *g)
{
	return g->revoked ? id_list_add(ctx, g->gw_id) != 0 : 0;
}

int cl_cmd_policy(int argc, char **argv)
{
	static const struct option options[] = {
		{"keys", required_argument, NULL, 'k'},
		{"level", required_argument, NULL, 'l'},
		{"out", required_argument, NULL, 'o'},
		{"revoke-credential", required_argument, NULL, 'r'},
		{"no-publish", no_argument, NULL, 'N'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t fresh[MAX_NEW_REVOCATIONS][AS_HOLDER_ID_LEN];
	const char *keys = NULL, *out = NULL, *failed = NULL;
	char path[PATH_MAX], err[PATH_MAX + 512];
	struct id_list gateways = {0}, credentials = {0};
	struct as_policy policy, previous;
	struct cl_authority auth;
	struct cl_config cfg;
	struct cl_store *store;
	struct timespec ts;
	unsigned char *data = NULL;
	size_t len = 0, n_fresh = 0;
	int64_t level = 0;
	uint8_t *buf = NULL;
	int c, rc, publish = 1, encoded = 0;

	if (argc < 3 || strcmp(argv[2], "set") != 0)
		return cl_usage_error("%s", "usage: anshim-cloud policy set --level N");
	optind = 3;
	while ((c = as_args_next("anshim-cloud", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'k': keys = optarg; break;
		case 'o': out = optarg; break;
		case 'N': publish = 0; break;
		case 'c': break;
		case 'l':
			if (as_parse_int64(optarg, 1, 4, &level))
				return cl_usage_error("--level '%s': the alert level is 1, 2, 3 or 4",
						      optarg);
			break;
		case 'r':
			if (n_fresh == MAX_NEW_REVOCATIONS)
				return cl_usage_error("at most %d --revoke-credential options at once",
						      MAX_NEW_REVOCATIONS);
			if ((rc = read_credential_id(optarg, fresh[n_fresh])) != 0) {
				fprintf(stderr, "anshim-cloud: --revoke-credential %s: %s (give a "
					"credential file or its 32-hex-digit id)\n", optarg,
					as_strerror(rc));
				return 1;
			}
			n_fresh++;
			break;
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!level)
		return cl_usage_error("%s", "policy set needs --level N (1-4)");
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	rc = as_mkdir_p(cfg.store_dir, 0700);
	if (!rc)
		rc = cl_cli_open_store(&store, &cfg, 0) ? AS_E_STORE : 0;
	if (rc) {
		cl_config_free(&cfg);
		return 1;
	}
	rc = cl_store_each_gateway(store, add_revoked_gateway, &gateways);
	cl_store_close(store);
	/* Revoked credentials: the saved list plus the new ones. */
	snprintf(path, sizeof path, "%s/revoked-credentials", cfg.store_dir);
	if (!rc) {
		rc = as_file_read_all(path, (size_t)AS_POLICY_MAX_REVOKED * 16, &data, &len);
		if (rc == -ENOENT)
			rc = 0;
		for (size_t i = 0; !rc && i + 16 <= len; i += 16)
			rc = id_list_add(&credentials, data + i);
		free(data);
		data = NULL;
	}
	for (size_t i = 0; !rc && i < n_fresh; i++)
		rc = id_list_add(&credentials, fresh[i]);
	if (!rc && n_fresh)
		rc = as_file_write_atomic(path, credentials.ids, (size_t)credentials.n * 16, 0600, 0);
	if (!rc)
		rc = cl_authority_load(&auth, keys ? keys : cfg.keys_dir, CL_KEY_SIGN | CL_KEY_CONTACT_PUBLIC,
				       &failed);
	if (rc) {
		fprintf(stderr, "anshim-cloud: %s: %s\n", failed ? failed : cfg.store_dir,
			as_strerror(rc));
		goto out;
	}
	memset(&policy, 0, sizeof policy);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Milliseconds since the epoch, and above the last policy's, so
	 * gateways can refuse to go back to an older policy. */
	policy.policy_seq = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	snprintf(path, sizeof path, "%s/policy", cfg.store_dir);
	if (as_file_read_all(path, AS_POLICY_MAX_BYTES, &data, &len) == 0) {
		if (as_policy_decode(&previous, data, len, auth.sign_pk) == 0) {
			if (previous.policy_seq >= policy.policy_seq)
				policy.policy_seq = previous.policy_seq + 1;
			as_policy_free(&previous);
		}
		free(data);
	}
	policy.issued_at = ts.tv_sec;
	policy.alert_level = (uint8_t)level;
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
	if (!rc && out)
		rc = as_file_write_atomic(out, buf, (size_t)encoded, 0644, 0);
	if (rc) {
		fprintf(stderr, "anshim-cloud: cannot write the policy: %s\n", as_strerror(rc));
		goto out;
	}
	printf("policy: alert level %lld, %u revoked gateway(s), %u revoked credential(s)\n",
	       (long long)level, gateways.n, credentials.n);
	if (publish) {
		rc = cl_publish_once(&cfg, "anshim/v1/policy", buf, (size_t)encoded, 1, 10000, err,
				     sizeof err);
		if (rc)
			fprintf(stderr, "anshim-cloud: %s\n  (saved in %s; anshim-cloudd publishes it "
				"when it connects, or use --no-publish)\n", err, path);
		else
			printf("published retained on anshim/v1/policy via %s\n", cfg.broker);
	}
out:
	free(buf);
	free(gateways.ids);
	free(credentials.ids);
	cl_config_free(&cfg);
	return rc ? 1 : 0;
}
