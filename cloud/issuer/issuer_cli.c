/*
 * anshim-issuer - the issuer operator's tool: revoke a phone, list the ids
 * the signed policy must carry, print the issuer's public key.  It opens
 * the state beside a running anshim-issuerd (LMDB allows several
 * processes), with the keys and settings of the same configuration.
 * Single-threaded.
 */
#include "capsulewire.h"
#include "issuer_api.h"
#include "issuerconf.h"
#include "issuer_state.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/daemon.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/phone.h"
#include "anshim/usage.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "anshim-issuer"
#define IDS_MAX (16 * 1024 * 1024)

static const char usage_text[] =
"Usage: anshim-issuer COMMAND [--config FILE] [OPTIONS]\n"
"\n"
"The issuer operator's tool. It works on the state of anshim-issuerd\n"
"(state_dir of its configuration), also while the daemon runs.\n"
"\n"
"Commands:\n"
"  revoke --phone NUMBER [--out FILE]\n"
"      Revoke a phone number: the issuer sends it no more codes and issues\n"
"      no more enrolments or tokens to it, and every enrolment id and\n"
"      token id it issued to the number that has not expired yet is\n"
"      written (32 hex digits a line) to FILE (atomically, mode 0600) or\n"
"      standard output. Give that file to the authority: 'anshim-cloud\n"
"      policy set --revoke-ids FILE' puts them in the signed policy, and\n"
"      gateways then refuse the number's tokens. Revoking twice is\n"
"      harmless; the number is never stored, only its keyed hash.\n"
"  revoked-ids [--out FILE]\n"
"      Every unexpired id of every revoked number, as 'revoke' writes\n"
"      them: to rebuild the policy's list.\n"
"  key\n"
"      Print the issuer's public key (64 hex digits; also in\n"
"      STATE/issuer.pub), which the authority lists in the signed policy\n"
"      ('anshim-cloud policy set --issuer-key') so gateways trust its tokens.\n"
"  id\n"
"      Print the issuer id (32 hex digits, a hash of the public key): its\n"
"      name in the MQTT topics anshim/v1/issuer/ID/..., and so in its\n"
"      account at the broker, issuer/ID (broker_username).\n"
"\n"
"Common options:\n"
"  -c, --config FILE   the issuer's configuration (default " IS_DEFAULT_CONFIG ")\n"
"  -h, --help          this text ('anshim-issuer COMMAND --help': that command)\n"
"\n"
"Exit status: 0 done, 1 failed (the reason on stderr), 2 bad usage.\n";

struct id_list {
	char *text;
	size_t len, cap;
	size_t n;
};

static int collect_id(void *ctx, const uint8_t id[IS_ID_LEN])
{
	struct id_list *l = ctx;
	char hex[2 * IS_ID_LEN + 1];

	if (l->len + sizeof hex + 1 > l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		char *p;
		if (cap > IDS_MAX || !(p = realloc(l->text, cap)))
			return -ENOMEM;
		l->text = p;
		l->cap = cap;
	}
	as_hex_encode(hex, id, IS_ID_LEN);
	memcpy(l->text + l->len, hex, 2 * IS_ID_LEN);
	l->len += 2 * IS_ID_LEN;
	l->text[l->len++] = '\n';
	l->n++;
	return 0;
}

static int write_ids(const struct id_list *l, const char *out)
{
	int rc;

	if (!out) {
		if (l->len && fwrite(l->text, 1, l->len, stdout) != l->len)
			return -EIO;
		return fflush(stdout) ? -EIO : 0;
	}
	rc = as_file_write_atomic(out, l->len ? l->text : "", l->len, 0600, 0);
	if (rc)
		fprintf(stderr, PROG ": cannot write %s: %s\n", out, as_strerror(rc));
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"phone", required_argument, NULL, 'p'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *phone = NULL, *out = NULL, *cmd, *path;
	char err[PATH_MAX + 1024], normalized[AS_PHONE_MAX + 1];
	struct is_config cfg;
	struct is_keys keys;
	struct is_state *st = NULL;
	struct id_list ids = {0};
	int c, rc;

	if (argc < 2)
		return as_usage_error(PROG, "%s", "give a command: revoke, revoked-ids, key or id");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (as_usage_subcommand_help(argc, argv, PROG, usage_text))
		return 0;
	cmd = argv[1];
	if (strcmp(cmd, "revoke") && strcmp(cmd, "revoked-ids") && strcmp(cmd, "key") &&
	    strcmp(cmd, "id"))
		return as_usage_error(PROG, "unknown command '%s' (revoke, revoked-ids, key or id)",
				      cmd);
	optind = 2;
	while ((c = as_args_next(PROG, argc, argv, "c:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'p': phone = optarg; break;
		case 'o': out = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return AS_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return as_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
	if (!strcmp(cmd, "revoke") && !phone)
		return as_usage_error(PROG, "%s", "revoke needs --phone NUMBER");
	if (strcmp(cmd, "revoke") && phone)
		return as_usage_error(PROG, "--phone belongs to 'revoke' only");
	if ((!strcmp(cmd, "key") || !strcmp(cmd, "id")) && out)
		return as_usage_error(PROG, "--out belongs to 'revoke' and 'revoked-ids'");
	if (phone && as_phone_normalize(normalized, phone) != 0)
		return as_usage_error(PROG, "--phone: not a phone number (give e.g. 010-1234-5678 "
				      "or +82 10 1234 5678)");
	if (sodium_init() < 0) {
		fprintf(stderr, PROG ": libsodium failed to start\n");
		return 1;
	}
	if (as_daemon_config_path("anshim-issuerd", config, IS_DEFAULT_CONFIG, &path, err,
				  sizeof err)) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	memset(&cfg, 0, sizeof cfg);
	if ((rc = is_config_load(&cfg, path, err, sizeof err)) != 0 ||
	    (rc = is_keys_load(&keys, &cfg, IS_KEYS_TOOL, err, sizeof err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		if (!rc)
			is_keys_wipe(&keys);
		is_config_free(&cfg);
		return 1;
	}
	if (!strcmp(cmd, "key") || !strcmp(cmd, "id")) {
		char hex[2 * AS_SIGN_PK_LEN + 1];
		uint8_t id[CL_ISSUER_ID_LEN];
		if (!strcmp(cmd, "key")) {
			as_hex_encode(hex, keys.issuer_pk, AS_SIGN_PK_LEN);
		} else {
			cl_issuer_id(id, keys.issuer_pk);
			as_hex_encode(hex, id, sizeof id);
		}
		printf("%s\n", hex);
		goto done;
	}
	if ((rc = is_state_open(&st, cfg.state_dir, cfg.map_size, err, sizeof err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto done;
	}
	if (phone) {
		struct is_api api = {0};
		uint8_t hash[IS_HASH_LEN];
		memcpy(api.hash_key, keys.hash_key, sizeof api.hash_key);
		is_api_hash(&api, "phone", normalized, strlen(normalized), hash);
		sodium_memzero(&api, sizeof api);
		rc = is_state_revoke_phone(st, hash, (int64_t)time(NULL), collect_id, &ids);
	} else {
		rc = is_state_revoked_ids(st, (int64_t)time(NULL), collect_id, &ids);
	}
	if (rc)
		fprintf(stderr, PROG ": %s: %s\n", cfg.state_dir, as_strerror(rc));
	else
		rc = write_ids(&ids, out);
	if (!rc)
		fprintf(stderr, PROG ": %s%zu id(s) to put in the policy%s%s\n",
			phone ? "revoked; " : "", ids.n, out ? " written to " : "", out ? out : "");
done:
	free(ids.text);
	is_state_close(st);
	is_keys_wipe(&keys);
	is_config_free(&cfg);
	sodium_memzero(normalized, sizeof normalized);
	return rc ? 1 : 0;
}
