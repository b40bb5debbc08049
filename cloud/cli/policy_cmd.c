/*
 * policy_cmd.c - anshim-cloud policy set: issue a new policy
 * (policy_set.h: alert level, contact key, revoked gateways from the
 * registry, revoked credentials; saved, added to the history with the Unix
 * user, published retained) and optionally write a copy for an offline
 * gateway.  Revoked credential ids accumulate in
 * STORE/revoked-credentials (16 bytes each).  Single-threaded.
 */
#include "cli.h"
#include "commands.h"
#include "policy_set.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
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

/* --issuer-key takes the issuer's public key file or the key in hex. */
static int read_issuer_key(const char *arg, uint8_t pk[AS_SIGN_PK_LEN])
{
	if (strlen(arg) == 2 * AS_SIGN_PK_LEN && as_hex_decode(pk, AS_SIGN_PK_LEN, arg) == 0)
		return 0;
	return as_keyfile_read(arg, AS_KEY_SIGN_PUBLIC, pk);
}

int cl_cmd_policy(int argc, char **argv)
{
	static const struct option options[] = {
		{"keys", required_argument, NULL, 'k'},
		{"level", required_argument, NULL, 'l'},
		{"out", required_argument, NULL, 'o'},
		{"revoke-credential", required_argument, NULL, 'r'},
		{"issuer-key", required_argument, NULL, 'i'},
		{"no-publish", no_argument, NULL, 'N'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t fresh[MAX_NEW_REVOCATIONS][AS_HOLDER_ID_LEN];
	static uint8_t issuers[AS_POLICY_MAX_ISSUER_KEYS][AS_SIGN_PK_LEN];
	size_t n_issuers = 0;
	const char *keys = NULL, *out = NULL;
	char err[PATH_MAX + 512], who[CL_CLI_USER_MAX + 1];
	struct cl_policy_result res;
	struct cl_config cfg;
	struct cl_store *store;
	size_t n_fresh = 0;
	int64_t level = 0;
	int c, rc, publish = 1;

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
		case 'i':
			if (n_issuers == AS_POLICY_MAX_ISSUER_KEYS)
				return cl_usage_error("at most %d --issuer-key options at once",
						      AS_POLICY_MAX_ISSUER_KEYS);
			if ((rc = read_issuer_key(optarg, issuers[n_issuers])) != 0) {
				fprintf(stderr, "anshim-cloud: --issuer-key %s: %s (give the issuer's "
					"public key file, issuer.pub, or the key in 64 hex digits)\n",
					optarg, as_strerror(rc));
				return 1;
			}
			n_issuers++;
			break;
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!level)
		return cl_usage_error("%s", "policy set needs --level N (1-4)");
	cl_cli_unix_user(who);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	rc = as_mkdir_p(cfg.store_dir, 0700);
	if (!rc)
		rc = cl_cli_open_store(&store, &cfg, 0) ? AS_E_STORE : 0;
	if (rc) {
		cl_config_free(&cfg);
		return 1;
	}
	{
		struct cl_policy_request rq = {
			.level = (int)level, .revoke = (const uint8_t (*)[AS_HOLDER_ID_LEN])fresh,
			.n_revoke = n_fresh,
			.issuer_keys = (const uint8_t (*)[AS_SIGN_PK_LEN])issuers,
			.n_issuer_keys = n_issuers, .keys_dir = keys ? keys : cfg.keys_dir, .out = out,
			.who = who, .publish = publish,
		};

		rc = cl_policy_set(&cfg, store, &rq, &res, err, sizeof err);
	}
	cl_store_close(store);
	if (rc) {
		fprintf(stderr, "anshim-cloud: %s\n", err);
		goto out;
	}
	printf("policy: alert level %lld, %u revoked gateway(s), %u revoked credential(s), "
	       "%u issuer key(s)\n", (long long)level, res.revoked_gateways,
	       res.revoked_credentials, res.issuer_keys);
	if (publish) {
		if (!res.published)
			fprintf(stderr, "anshim-cloud: %s\n  (saved in %s/policy; anshim-cloudd "
				"publishes it when it connects, or use --no-publish)\n",
				res.publish_error, cfg.store_dir);
		else
			printf("published retained on anshim/v1/policy via %s\n", cfg.broker);
	}
out:
	cl_config_free(&cfg);
	return rc ? 1 : 0;
}
