/*
 * policy_cmd.c - anshim-cloud policy set: issue a new policy
 * (policy_set.h: alert level, contact key, revoked gateways from the
 * registry, revoked credentials; saved, added to the history with the Unix
 * user, published retained; issuer keys and the end of version 1 passes)
 * and optionally write a copy for an offline gateway.  Revoked credential ids accumulate in
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

/* --issuer-key and --drop-issuer-key take the issuer's public key file
 * (issuer.pub) or the key in hex. */
static int read_issuer_key(const char *opt, const char *arg, uint8_t pk[AS_SIGN_PK_LEN])
{
	int rc;

	if (strlen(arg) == 2 * AS_SIGN_PK_LEN && as_hex_decode(pk, AS_SIGN_PK_LEN, arg) == 0)
		return 0;
	rc = as_keyfile_read(arg, AS_KEY_SIGN_PUBLIC, pk);
	if (rc)
		fprintf(stderr, "anshim-cloud: %s %s: %s (give the issuer's public key file, "
			"issuer.pub in its state directory, or the key as 64 hex digits)\n", opt,
			arg, as_strerror(rc));
	return rc;
}

/* --revoke-ids FILE: ids, 32 hex digits a line, as 'anshim-issuer revoke'
 * writes them (blank lines and '#' comments allowed), appended to ids. */
static int read_revoke_ids(const char *path, uint8_t (*ids)[AS_HOLDER_ID_LEN], size_t *n,
			   size_t max)
{
	unsigned char *text = NULL;
	size_t len = 0, line_no = 0;
	int rc = as_file_read_all(path, 64 * 1024 * 1024, &text, &len);

	if (rc) {
		fprintf(stderr, "anshim-cloud: --revoke-ids %s: %s\n", path, as_strerror(rc));
		return rc;
	}
	for (char *line = (char *)text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (*n == max) {
			fprintf(stderr, "anshim-cloud: --revoke-ids %s: more than %zu ids at once "
				"(split the file over several 'policy set' runs)\n", path, max);
			rc = AS_E_OVERSIZE;
			break;
		}
		if (l != 2 * AS_HOLDER_ID_LEN || as_hex_decode(ids[*n], AS_HOLDER_ID_LEN, line)) {
			fprintf(stderr, "anshim-cloud: --revoke-ids %s:%zu: not an id (each line is "
				"32 hex digits, as 'anshim-issuer revoke' writes them)\n", path,
				line_no);
			rc = AS_E_HEX;
			break;
		}
		(*n)++;
	}
	free(text);
	return rc;
}

int cl_cmd_policy(int argc, char **argv)
{
	static const struct option options[] = {
		{"keys", required_argument, NULL, 'k'},
		{"level", required_argument, NULL, 'l'},
		{"out", required_argument, NULL, 'o'},
		{"revoke-credential", required_argument, NULL, 'r'},
		{"revoke-ids", required_argument, NULL, 'R'},
		{"no-publish", no_argument, NULL, 'N'},
		{"issuer-key", required_argument, NULL, 'I'},
		{"drop-issuer-key", required_argument, NULL, 'D'},
		{"v1-passes-until", required_argument, NULL, 'U'},
		{"v1-passes", required_argument, NULL, 'V'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t fresh[MAX_NEW_REVOCATIONS][AS_HOLDER_ID_LEN];
	static uint8_t add_issuer[AS_POLICY_MAX_ISSUER_KEYS][AS_SIGN_PK_LEN];
	static uint8_t drop_issuer[AS_POLICY_MAX_ISSUER_KEYS][AS_SIGN_PK_LEN];
	size_t n_add = 0, n_drop = 0;
	int v1 = CL_V1_KEEP;
	int64_t v1_until = 0;
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
		case 'R':
			if (read_revoke_ids(optarg, fresh, &n_fresh, MAX_NEW_REVOCATIONS))
				return 1;
			break;
		case 'I':
		case 'D':
			if ((c == 'I' ? n_add : n_drop) == AS_POLICY_MAX_ISSUER_KEYS)
				return cl_usage_error("at most %d issuer keys at once",
						      AS_POLICY_MAX_ISSUER_KEYS);
			if (read_issuer_key(c == 'I' ? "--issuer-key" : "--drop-issuer-key", optarg,
					    c == 'I' ? add_issuer[n_add] : drop_issuer[n_drop]))
				return 1;
			if (c == 'I')
				n_add++;
			else
				n_drop++;
			break;
		case 'U':
			if (v1 != CL_V1_KEEP)
				return cl_usage_error("%s", "give one of --v1-passes-until and "
						      "--v1-passes");
			if (as_parse_time(optarg, &v1_until) || v1_until <= 0)
				return cl_usage_error("--v1-passes-until '%s': not a time (e.g. "
						      "2026-03-01 or 2026-03-01T09:00)", optarg);
			v1 = CL_V1_UNTIL;
			break;
		case 'V':
			if (v1 != CL_V1_KEEP)
				return cl_usage_error("%s", "give one of --v1-passes-until and "
						      "--v1-passes");
			if (strcmp(optarg, "refuse") == 0)
				v1 = CL_V1_REFUSE;
			else if (strcmp(optarg, "accept") == 0)
				v1 = CL_V1_ACCEPT;
			else
				return cl_usage_error("--v1-passes '%s': say 'refuse' (from now on) or "
						      "'accept' (with no end date)", optarg);
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
			.add_issuer = (const uint8_t (*)[AS_SIGN_PK_LEN])add_issuer,
			.n_add_issuer = n_add,
			.drop_issuer = (const uint8_t (*)[AS_SIGN_PK_LEN])drop_issuer,
			.n_drop_issuer = n_drop, .v1 = v1, .v1_until = v1_until,
			.keys_dir = keys ? keys : cfg.keys_dir, .out = out,
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
	       "%u issuer key(s)\n",
	       (long long)level, res.revoked_gateways, res.revoked_credentials, res.issuer_keys);
	if (!res.v1_until_set) {
		printf("version 1 phone passes: accepted\n");
	} else if (res.v1_until == 0) {
		printf("version 1 phone passes: refused\n");
	} else {
		char when[32];

		printf("version 1 phone passes: accepted until %s\n",
		       as_format_time(when, res.v1_until));
	}
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
