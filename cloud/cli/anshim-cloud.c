/*
 * anshim-cloud - the health authority's command-line tool: authority keys
 * and credential issuance (later: enrolment, policy, tracing, audit).
 *
 * Each subcommand parses its own options and calls one module; this file
 * only dispatches.  Single-threaded.
 */
#include "authority.h"
#include "cli.h"
#include "commands.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "clconfig.h"
#include "anshim/policy.h"
#include "anshim/parse.h"
#include "anshim/usage.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_KEY_DIR "/etc/anshim/authority"

static const char usage_text[] =
"Usage: anshim-cloud COMMAND [OPTIONS]\n"
"\n"
"Tools for the health authority that runs the Anshim cloud.\n"
"\n"
"Commands:\n"
"  keys init [--audit | --token-ids] [--dir DIR]\n"
"      Create the authority key set in DIR (default " DEFAULT_KEY_DIR "):\n"
"        sign.key, sign.pub         Ed25519: signs credentials, policy, acks\n"
"        contact.key, contact.pub   X25519: personal data is sealed to it\n"
"        pseudonym.key              keyed BLAKE2b: phone -> pseudonym (pid)\n"
"        audit.key, audit.pub       Ed25519: signs the audit log\n"
"        tokenid.key                ChaCha20: reads a visit token's issue\n"
"      Secret keys are written atomically with mode 0600. Refuses to touch\n"
"      a directory that already holds any of these files. --audit adds\n"
"      only audit.key and audit.pub to a key set made without them;\n"
"      --token-ids only tokenid.key. tokenid.key belongs to the\n"
"      aggregator (anshim-cloudd) and to the issuer (anshim-issuerd), which\n"
"      gets a copy (mode 0600): no one else.\n"
"      contact.key, pseudonym.key and audit.key belong to the reveal\n"
"      service (anshim-revealed) alone: chown them to its user.\n"
"      Give sign.pub and contact.pub to gateways; keep the rest offline or\n"
"      on the cloud host only (see docs/OPERATE-CLOUD.md).\n"
"\n"
"  issue --holder FILE|HEX --phone PHONE [--name NAME] --out FILE\n"
"        [--keys DIR] [--valid-days N] [--at TIME] [--config FILE]\n"
"  issue --card --phone PHONE [--name NAME] --out FILE [...]\n"
"      Issue a visitor credential binding PHONE (and NAME, optional) to a\n"
"      wallet's holder public key (its holder.pub file, or 64 hex digits).\n"
"      The phone and name are sealed to the contact key: gateways never see\n"
"      them. With --card, issue a printed-card credential instead (no holder\n"
"      key; for visitors without a smartphone). Valid for N days (default\n"
"      365) from now or from --at. Phone numbers: 010-1234-5678,\n"
"      +82 10 1234 5678, ... (see docs/PROTOCOL.md).\n"
"\n"
"  enroll --gateway-key KEY --venue ID --venue-name NAME [--address A]\n"
"         [--category C] [--dwell MINUTES]\n"
"      Register a gateway (KEY: its device.pub, or the public key 'anshim-gw\n"
"      init' printed) at venue ID (a number), creating or updating the venue\n"
"      with its name, address, category and default visit length (60 min).\n"
"      Its batches are accepted from then on. A category is 1-24 of a-z, 0-9\n"
"      and '-' (bar, cafe, ...): the policy's collect levels go by it.\n"
"\n"
"  enroll --csv FILE [--verbose]\n"
"      Enrol a roll-out's venue list at once. FILE ('-': standard input) is\n"
"      CSV whose first row names the columns venue_id, name, address,\n"
"      category, dwell and gateway_key (venue_id and name required; an\n"
"      empty gateway_key makes a poster-only venue). Rows already in the\n"
"      registry as the file says are left alone, so running it again changes\n"
"      nothing and says so. Bad rows are printed as 'FILE: line N: why' and\n"
"      skipped; the good rows are enrolled all the same (exit status 1 when\n"
"      any row was bad). Progress goes to standard error on long lists.\n"
"\n"
"  enroll --requests FILE|DIR [--approve-all | --reject-all | --list]\n"
"      Import the enrolment requests venue owners made with 'anshim-gw init\n"
"      --venue-name ...' (lines starting AE1:, one per line; a folder: all\n"
"      its files). Each request's device signature is checked, then it is\n"
"      shown and, on a terminal, you approve, reject or skip it; without a\n"
"      terminal give --approve-all or --reject-all, or --list to only show\n"
"      them. Approving enrols the gateway at the venue it asked for (a new\n"
"      venue number if it gave none). Decisions are kept in\n"
"      STORE/enrol-decisions: importing the same requests again asks nothing.\n"
"\n"
"  revoke --gateway ID\n"
"      Refuse every batch from gateway ID from now on (a stolen gateway).\n"
"      Then run 'policy set' to tell all gateways.\n"
"\n"
"  policy set --level N [--category NAME=LEVEL]... [--clear-categories]\n"
"             [--revoke-credential C]... [--revoke-ids FILE]...\n"
"             [--issuer-key K]... [--drop-issuer-key K]...\n"
"             [--v1-passes-until TIME |\n"
"             --v1-passes refuse|accept] [--out FILE] [--no-publish]\n"
"      Sign the policy: alert level N (1-4; gateways collect at 3 and above by\n"
"      default), the contact key, the revoked gateways, and the revoked\n"
"      credentials (each C a credential file or its 32-hex-digit id; they\n"
"      accumulate). --revoke-ids FILE adds the ids in FILE, 32 hex digits\n"
"      a line: those 'anshim-issuer revoke' writes for a revoked phone (its\n"
"      enrolments and visit tokens). --issuer-key K lets gateways accept the\n"
"      visit tokens of an issuer (K: its issuer.pub or the key in 64 hex\n"
"      digits; keys stay until dropped). Version 1 phone passes stay\n"
"      accepted until --v1-passes-until TIME (the migration period), are\n"
"      refused with '--v1-passes refuse' and accepted again with no end\n"
"      with 'accept'.\n"
"      Issuer keys, the v1 rule and category levels not named are kept from\n"
"      the last policy. Saved in the store directory, published retained on\n"
"      anshim/v1/policy (anshim-cloudd republishes it on every connection),\n"
"      and copied to FILE for a gateway without network ('policy' in its\n"
"      state directory). Each policy's sequence number is higher than the\n"
"      last, so an old one cannot be replayed.\n"
"      --category NAME=LEVEL (repeatable, e.g. --category bar=2 --category\n"
"      cafe=3): venues of category NAME collect from alert level LEVEL; a\n"
"      category not listed collects from 3. The table replaces the last\n"
"      policy's; without --category the last table is kept, and\n"
"      --clear-categories empties it. Every active gateway is told its\n"
"      venue's category (from enrolment), and the cloud refuses records a\n"
"      venue made while its category was not collecting ('not-collecting'\n"
"      in 'stats').\n"
"\n"
"  stats [--json]\n"
"      Visits and people stored, batches, rejected batches by reason, and\n"
"      for each gateway: venue, records, the seq it is stored through, when\n"
"      it was last seen and the lag from batch creation to ingest.\n"
"\n"
"  gateways [--silent] [--from TIME] [--to TIME] [--json]\n"
"      Each gateway's coverage from its signed heartbeats: the periods it was\n"
"      heard from, the periods it was silent (offline, down, rebooted, still\n"
"      silent, never heard), and its last heartbeat (up since, last seq,\n"
"      chain head, journal use, clock state). --silent lists only the\n"
"      gateways silent now, or with --from/--to silent during that window.\n"
"      See 'anshim-cloud gateways --help'.\n"
"\n"
"  audit verify [--keys DIR] [--witness [--wait SECONDS]]\n"
"      Check the audit log of traces and reveals (audit_log): every entry is\n"
"      hash-chained to the one before and signed with audit.key (entries\n"
"      from before the reveal service: with sign.key). Prints 'N entries,\n"
"      chain intact' (exit 0) or the first broken entry and why (exit 1).\n"
"      The chain alone cannot show entries cut off the end: --witness also\n"
"      fetches the head anshim-cloudd keeps retained on the broker\n"
"      (anshim/v1/audit/head; waiting up to --wait seconds, default 10),\n"
"      checks its signature, and fails (exit 1) unless the log holds that\n"
"      entry with that hash: 'entries K-M were cut off the end', 'entry M\n"
"      is not the one witnessed', or no head on the broker at all.\n"
"  audit show [--json]\n"
"      List the audit entries: time, who, action (trace, ask, approve,\n"
"      refuse, reveal, break-glass), the case's pid, window, depth,\n"
"      contacts, capsules revealed, the request answered, reason.\n"
"\n"
"  trace (--phone PHONE | --pid HEX) --from TIME --to TIME --reason TEXT\n"
"        [--depth N] [--min-overlap MIN] [--risk-period DURATION]\n"
"        [--incubation DAYS] [--case-ref REF] [--json] [--reveal] [--keys DIR]\n"
"      Trace a case: its visits with entry in the infectious window (TIME:\n"
"      2026-03-02, 2026-03-02T09:00+09:00 or unix seconds; a bare --to date\n"
"      means the end of that day), everyone who was at the same venue at the\n"
"      same time (order 1), and, up to --depth 3, the people they met from\n"
"      their exposure to DAYS later (default 14). A contact's risk is HIGH from\n"
"      MIN minutes of exposure (default 15) within any one DURATION (default\n"
"      24h; e.g. 36h, 2d, 90m); each contact shows that most and the total\n"
"      exposure over all venues and days. Prints pids. Every trace is written\n"
"      to the audit log by the reveal service (anshim-revealed, at\n"
"      reveal_socket) with your Unix user, --reason and --case-ref, before\n"
"      anything is printed; if it cannot be written, nothing is. --reveal is\n"
"      the break-glass reveal: the service opens the contacts' phones and\n"
"      names, only for members of reveal_breakglass_group, and logs it as\n"
"      break-glass (the console's two-person reveal is the normal way).\n"
"      --phone: the reveal service turns it into the case's pid (with\n"
"      --keys DIR, pseudonym.key is read from DIR instead).\n"
"      --json prints the stable form described in docs/TRACING.md.\n"
"\n"
"  poster --venue ID [--out FILE] [--format pdf|png|svg] [--size a4|a5]\n"
"         [--store DIR] [--keys DIR]\n"
"      Make venue ID's printable check-in poster (PDF by default): its name\n"
"      and address from the registry and a QR code signed with sign.key\n"
"      that visitors scan with the wallet app. 'poster --verify TEXT'\n"
"      checks a scanned poster code. See 'anshim-cloud poster --help'.\n"
"\n"
"  poster --csv FILE --out DIR | poster --csv FILE --combined --out FILE.pdf\n"
"      The posters of every venue of a roll-out list (the file 'enroll --csv'\n"
"      took): one file per venue, DIR/venue-ID.pdf, or with --combined one\n"
"      PDF with a page per venue, to print at once (--size a4|a5).\n"
"\n"
"  user add NAME --role analyst|investigator|supervisor\n"
"  user passwd NAME | user disable NAME | user list [--json]\n"
"      The investigator console's accounts (the configuration's 'accounts'\n"
"      file): add one with its role, set a new password (which also unlocks\n"
"      it), disable one, or list them. The password is asked on the terminal\n"
"      with echo off, or read from standard input; never on the command line.\n"
"      See 'anshim-cloud user --help'.\n"
"\n"
"  purge\n"
"      Delete every visit older than the retention period (the\n"
"      configuration's 'retention', 56 days by default) or dated later than\n"
"      now plus 'time_skew' (10 minutes by default; such times are refused\n"
"      at ingest, but a store may hold some from before) from every index,\n"
"      and the sealed capsules of people left with no visit. anshim-cloudd\n"
"      also does this daily. The audit log is kept.\n"
"\n"
"Options for all commands: --config FILE (default " CL_DEFAULT_CONFIG "),\n"
"which gives store_dir, keys_dir and the broker. --keys DIR overrides\n"
"keys_dir where keys are used.\n"
"\n"
"Exit status: 0 on success, 1 on failure, 2 on bad usage.\n";

static int cmd_keys(int argc, char **argv)
{
	static const struct option options[] = {
		{"dir", required_argument, NULL, 'd'},
		{"audit", no_argument, NULL, 'a'},
		{"token-ids", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = DEFAULT_KEY_DIR, *failed = NULL;
	int c, rc, audit_only = 0, token_ids_only = 0;

	if (argc < 3 || strcmp(argv[2], "init") != 0)
		return cl_usage_error("%s", "usage: anshim-cloud keys init [--audit | --token-ids] "
				      "[--dir DIR]");
	optind = 3;
	while ((c = as_args_next("anshim-cloud", argc, argv, "d:h", options, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'a')
			audit_only = 1;
		else if (c == 't')
			token_ids_only = 1;
		else if (c == 'h')
			return fputs(usage_text, stdout), 0;
		else
			return CL_EXIT_USAGE; /* as_args_next printed why */
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s'", argv[optind]);
	if (audit_only && token_ids_only)
		return cl_usage_error("%s", "--audit and --token-ids: give one of them");
	rc = audit_only ? cl_authority_create_audit(dir, &failed)
	     : token_ids_only ? cl_authority_create_token_id(dir, &failed)
	     : cl_authority_create(dir, &failed);
	if (rc == AS_E_EXISTS) {
		fprintf(stderr, "anshim-cloud: %s already exists; refusing to overwrite "
			"authority keys (choose another --dir, or move the old keys away "
			"deliberately)\n", failed);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "anshim-cloud: cannot create keys in %s: %s: %s\n", dir,
			failed ? failed : dir, as_strerror(rc));
		return 1;
	}
	if (token_ids_only)
		printf("token id key created in %s: tokenid.key (mode 0600: for the aggregator's "
		       "user, and a copy for the issuer)\n", dir);
	else if (audit_only)
		printf("audit log keys created in %s: audit.key (mode 0600: give it to the reveal "
		       "service's user alone) and audit.pub\n", dir);
	else
		printf("authority keys created in %s\n"
		       "  public:  sign.pub contact.pub (give these to gateways), audit.pub\n"
		       "  secret:  sign.key contact.key pseudonym.key audit.key tokenid.key (mode "
		       "0600; keep "
		       "safe;\n"
		       "           contact.key, pseudonym.key and audit.key belong to the reveal "
		       "service's user)\n", dir);
	return 0;
}

/* --holder takes a holder.pub file or 64 hex digits. */
static int read_holder_key(const char *arg, uint8_t pk[AS_SIGN_PK_LEN])
{
	if (strlen(arg) == 2 * AS_SIGN_PK_LEN && as_hex_decode(pk, AS_SIGN_PK_LEN, arg) == 0)
		return 0;
	return as_keyfile_read(arg, AS_KEY_SIGN_PUBLIC, pk);
}

static int cmd_issue(int argc, char **argv)
{
	static const struct option options[] = {
		{"keys", required_argument, NULL, 'k'},
		{"holder", required_argument, NULL, 'H'},
		{"phone", required_argument, NULL, 'p'},
		{"name", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"valid-days", required_argument, NULL, 'v'},
		{"at", required_argument, NULL, 't'},
		{"card", no_argument, NULL, 'c'},
		{"config", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *keys = NULL, *holder = NULL, *phone = NULL, *name = NULL;
	struct cl_config cfg;
	const char *out = NULL, *failed = NULL;
	int64_t valid_days = 365, now = (int64_t)time(NULL);
	uint8_t holder_pk[AS_SIGN_PK_LEN];
	struct cl_authority auth;
	struct as_credential cred;
	struct as_contact contact;
	char pid_hex[2 * AS_PID_LEN + 1];
	int c, card = 0, rc;

	optind = 2;
	while ((c = as_args_next("anshim-cloud", argc, argv, "k:H:p:n:o:v:t:ch", options, NULL)) != -1) {
		switch (c) {
		case 'k': keys = optarg; break;
		case 'H': holder = optarg; break;
		case 'p': phone = optarg; break;
		case 'n': name = optarg; break;
		case 'o': out = optarg; break;
		case 'c': card = 1; break;
		case 'C': break; /* read by cl_cli_load_config */
		case 'v':
			if (as_parse_int64(optarg, 1, 3650, &valid_days))
				return cl_usage_error("--valid-days '%s': give a whole number of days, 1 to 3650", optarg);
			break;
		case 't':
			if (as_parse_time(optarg, &now))
				return cl_usage_error("--at '%s' is not a time (unix seconds or ISO 8601)", optarg);
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s'", argv[optind]);
	if (!phone || !out)
		return cl_usage_error("%s", "issue needs --phone PHONE and --out FILE");
	if (card == (holder != NULL))
		return cl_usage_error("%s", "issue needs exactly one of --holder FILE|HEX or --card");
	rc = as_contact_set(&contact, phone, name);
	if (rc == AS_E_PHONE)
		return cl_usage_error("%s", "--phone: not a phone number we accept (examples: "
				   "010-1234-5678, +82 10 1234 5678)");
	if (rc)
		return cl_usage_error("%s", "--name: at most 64 bytes of UTF-8, no control characters");
	if (holder && (rc = read_holder_key(holder, holder_pk)) != 0) {
		fprintf(stderr, "anshim-cloud: --holder %s: %s (give the wallet's holder.pub or "
			"64 hex digits)\n", holder, as_strerror(rc));
		return 1;
	}
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (!keys)
		keys = cfg.keys_dir;
	rc = cl_authority_load(&auth, keys, CL_KEY_SIGN | CL_KEY_CONTACT_PUBLIC | CL_KEY_PSEUDONYM,
			       &failed);
	if (rc) {
		fprintf(stderr, "anshim-cloud: cannot load authority key %s: %s%s\n",
			failed ? failed : keys, as_strerror(rc),
			rc == -ENOENT ? " (create keys with 'anshim-cloud keys init --dir DIR', "
			"or pass --keys DIR)" : "");
		cl_config_free(&cfg);
		return 1;
	}
	cl_config_free(&cfg);
	rc = cl_authority_issue(&auth, &contact, holder ? holder_pk : NULL, now,
				valid_days * 86400, &cred);
	cl_authority_wipe(&auth);
	sodium_memzero(&contact, sizeof contact);
	if (!rc)
		rc = as_credential_save(out, &cred, 0);
	if (rc) {
		fprintf(stderr, "anshim-cloud: cannot issue the credential to %s: %s\n", out,
			as_strerror(rc));
		return 1;
	}
	as_hex_encode(pid_hex, cred.pid, AS_PID_LEN);
	printf("issued %s credential pid=%s valid %lld days -> %s\n", card ? "card" : "phone",
	       pid_hex, (long long)valid_days, out);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage_text, cmd ? stdout : stderr);
		return cmd ? 0 : CL_EXIT_USAGE;
	}
	/* 'COMMAND --help': that command's part of the manual (usage.h). */
	if (as_usage_subcommand_help(argc, argv, "anshim-cloud", usage_text))
		return 0;
	if (as_crypto_init()) {
		fprintf(stderr, "anshim-cloud: libsodium failed to initialise\n");
		return 1;
	}
	if (strcmp(cmd, "keys") == 0)
		return cmd_keys(argc, argv);
	if (strcmp(cmd, "issue") == 0)
		return cmd_issue(argc, argv);
	if (strcmp(cmd, "policy") == 0)
		return cl_cmd_policy(argc, argv);
	if (strcmp(cmd, "enroll") == 0)
		return cl_cmd_enroll(argc, argv);
	if (strcmp(cmd, "revoke") == 0)
		return cl_cmd_revoke(argc, argv);
	if (strcmp(cmd, "stats") == 0)
		return cl_cmd_stats(argc, argv);
	if (strcmp(cmd, "purge") == 0)
		return cl_cmd_purge(argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cl_cmd_audit(argc, argv);
	if (strcmp(cmd, "trace") == 0)
		return cl_cmd_trace(argc, argv);
	if (strcmp(cmd, "poster") == 0)
		return cl_cmd_poster(argc, argv);
	if (strcmp(cmd, "gateways") == 0)
		return cl_cmd_gateways(argc, argv);
	if (strcmp(cmd, "user") == 0)
		return cl_cmd_user(argc, argv);
	return cl_usage_error("unknown command '%s'", cmd);
}
