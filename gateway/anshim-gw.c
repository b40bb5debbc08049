/*
 * anshim-gw - the venue gateway's command-line tool.
 *
 * init creates the device key; verify-pass checks a pass offline exactly
 * as the daemon does; status, events and purge talk to the daemon over its
 * control socket; register (interactive) and import (CSV) turn the paper
 * register into sealed entries: name and phone are sealed to the
 * authority's contact key HERE, before anything is sent to the daemon, so
 * the daemon never holds them in plaintext.  show-code draws the rotating
 * venue code (showcode.c) and verify-code checks a scanned venue code, both
 * offline.  Single-threaded.
 */
#include "control_client.h"
#include "gwconfig.h"
#include "journal.h"
#include "register.h"
#include "showcode.h"
#include "staffauth.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/capsule.h"
#include "anshim/credential.h"
#include "anshim/enrolreq.h"
#include "anshim/daemon.h"
#include "anshim/error.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"
#include "anshim/policy.h"
#include "anshim/qr.h"
#include "anshim/token.h"
#include "anshim/usage.h"
#include "anshim/venuecode.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>

#define DEFAULT_FRESHNESS 90

static const char usage_text[] =
"Usage: anshim-gw COMMAND [OPTIONS]\n"
"\n"
"Control tool for the Anshim venue gateway (anshim-gatewayd).\n"
"\n"
"Commands:\n"
"  init [--venue-name NAME [--address A] [--category C] [--dwell MINUTES]\n"
"       [--venue ID] [--png FILE] [--qr utf8|ansi|text]]\n"
"      Create the gateway's state directory and keys (device.key, which\n"
"      signs this gateway's batches, and import.key) and print the gateway\n"
"      id and public key to give the health authority for enrolment.\n"
"      Safe to re-run: existing keys are kept and their id is printed.\n"
"      With --venue-name, also make a self-service enrolment request: the\n"
"      public key and the venue's name, address, category (bar, cafe, ...),\n"
"      usual visit length and, if the authority gave you one, its venue\n"
"      number, signed by the device key. It is printed as a QR code (--qr\n"
"      text: none) and as one line starting AE1:, kept in\n"
"      STATE/enrol-request, and with --png written as a picture. Send it to\n"
"      the health authority; 'status' says 'enrolled as venue N' once they\n"
"      approve it.\n"
"  status [--json]\n"
"      Show whether the gateway is collecting (and the alert level), how\n"
"      many records are journaled and unsent, the oldest unsent one, the\n"
"      clock state, each scan source, journal space, where the staff screen\n"
"      is (or why it is not running) and the last error.\n"
"  events [--count N]\n"
"      Follow check-in outcomes as they happen, one JSON object per line\n"
"      (accepted, duplicate, rejected with a reason, not-collecting), e.g.\n"
"      to drive a kiosk screen, LED or buzzer. Stops after N events if set.\n"
"  scan [TEXT...|-] [--scan-socket PATH]\n"
"      Hand scans to the running daemon as a scanner would: each TEXT (a\n"
"      pass or card, AP1:... or AC1:...), or with '-' each line of standard\n"
"      input, is written to the daemon's scan socket (the first 'source\n"
"      socket PATH' of the configuration, or --scan-socket PATH) and its\n"
"      answer printed: accepted, duplicate, rejected REASON or\n"
"      not-collecting. For example: zbarcam --raw | anshim-gw scan -\n"
"      Exit status 0 when every scan was accepted or a duplicate, else 1.\n"
"  purge\n"
"      Delete records past the retention period now (the daemon also does\n"
"      this on a timer) and print how many went.\n"
"  offline | online\n"
"      Drop the connection to the cloud's broker on purpose, or restore it.\n"
"      Scanning goes on offline; the journal keeps every check-in and sends\n"
"      them when the gateway is back online.\n"
"  register\n"
"      Type in the paper visitor register, one entry at a time: date, time,\n"
"      name, phone, headcount and optional exit time. A bad field is asked\n"
"      again. Name and phone are sealed to the health authority at once;\n"
"      no one at the venue can read them back, and they are not stored in\n"
"      plaintext anywhere.\n"
"  import FILE.csv\n"
"      Import a spreadsheet of the paper register: a header row, then\n"
"      columns date,time,name,phone[,headcount][,exit_time]. Every row is\n"
"      checked; bad rows are listed by line number with the reason and the\n"
"      rest are imported. Importing the same file again adds nothing. The\n"
"      summary names the time zone used. Exit status 1 if any row was\n"
"      rejected.\n"
"\n"
"      Fields of register and import:\n"
"        date       YYYY-MM-DD, YYYY.MM.DD or YYYY/MM/DD (month and day may\n"
"                   have one digit: 2026.3.2)\n"
"        time       H:MM or H:MM:SS, 24-hour clock (9:05, 18:30:00)\n"
"        name       up to 64 bytes of text\n"
"        phone      a phone number in a usual spelling (010-1234-5678,\n"
"                   01012345678, +82 10 1234 5678)\n"
"        headcount  1 to 999; empty means 1\n"
"        exit_time  H:MM or H:MM:SS on the entry date, after the entry;\n"
"                   empty if unknown\n"
"      Dates and times are wall-clock times in the configuration's\n"
"      'timezone' (default Asia/Seoul), whatever this machine's own time\n"
"      zone is.\n"
"  journal [--json]\n"
"      List the journaled records, oldest first: seq, kind, entry time,\n"
"      flags (unsynced/corrected clock), headcount, and the visitor's\n"
"      pseudonym (pid; empty for paper entries, which carry only the sealed\n"
"      capsule; for a version 2 pass the visit token's id instead, which\n"
"      names no one). Reads the journal directly; works while the daemon\n"
"      runs.\n"
"  verify-pass TEXT|- [--authority FILE] [--policy FILE] [--at TIME]\n"
"              [--freshness SECONDS]\n"
"      Check a scanned pass (AP2:... or AP1:...) or card (AC1:...) offline\n"
"      against the authority's public signing key (default: authority_key\n"
"      from the configuration) and, for a version 2 pass, the issuer keys\n"
"      of the signed policy (default: the gateway's, 'policy' in its\n"
"      state directory). '-' reads the text from standard input. Prints\n"
"      'valid pass pid=HEX ...' (or 'valid pass v2 token=HEX ...') and\n"
"      exits 0, or 'rejected: REASON' and exits 1, where REASON is one of:\n"
"      malformed, bad-issuer-signature, unknown-issuer,\n"
"      bad-holder-signature, bad-token-signature, expired, not-yet-valid,\n"
"      stale, wrong-form. Revocation and the policy's end of version 1\n"
"      passes are not checked here.\n"
"      A pass is fresh within --freshness seconds (default 90) of the clock\n"
"      (now, or --at: unix seconds or ISO 8601).\n"
"  show-code [--png FILE] [--once] [--format utf8|ansi|text]\n"
"      Show this gateway's rotating venue code, for visitors to check in by\n"
"      scanning it with the wallet app. Each code holds the venue id (the\n"
"      'venue_id' configuration key: set it to the id this gateway was\n"
"      enrolled with), the gateway id and the current time slot\n"
"      ('code_slot', default 30 s), signed with device.key, so a photo sent\n"
"      to someone at home stops working within a few slots. It is drawn on\n"
"      the terminal (utf8: half blocks, the default; ansi: colours; text:\n"
"      the code's text) with the venue and the seconds left under it, and\n"
"      redrawn at each new slot. --png FILE also rewrites FILE at each\n"
"      slot (atomically, by rename) for a kiosk image viewer or browser.\n"
"      Needs no network and no running daemon, but must read device.key\n"
"      (run it as the gateway's user). --once draws one slot and exits.\n"
"      Stops on Ctrl-C (SIGINT) or SIGTERM.\n"
"  staff-pin\n"
"      Set the staff PIN of the staff screen (the gateway's web page: /staff\n"
"      for the paper register, CSV upload and status; /kiosk needs none).\n"
"      Asks for 4 to 12 digits twice (or reads one line from standard input\n"
"      when it is not a terminal) and stores only an argon2id hash of it, in\n"
"      state_dir/staff.pin (mode 0600); run it as the gateway's user, then\n"
"      reload the daemon (systemctl reload anshim-gateway, or SIGHUP). After\n"
"      5 wrong PINs in a row a device is locked out for 'staff_lockout'.\n"
"  verify-code TEXT|- [--authority FILE] [--gateway-key FILE] [--at TIME]\n"
"      Decode a scanned venue code (AV1:...) and check its signature: a\n"
"      poster against the authority's public key (default authority_key),\n"
"      a rotating code against the showing gateway's public key (default:\n"
"      this gateway's device.pub). A rotating code is also checked to be\n"
"      current: its slot must hold the clock (now, or --at), give or take\n"
"      one slot. Prints the fields and 'valid', or 'rejected: REASON'\n"
"      (malformed, bad-signature, wrong-gateway, stale) and exits 1.\n"
"\n"
"Common options:\n"
"  --config FILE    gateway configuration (default " GW_DEFAULT_CONFIG "; the\n"
"                   file must exist)\n"
"  --socket PATH    control socket (default: control_socket from the config)\n"
"\n"
"Exit status: 0 success / valid, 1 failure / rejected, 2 bad usage.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = as_usage_verror("anshim-gw", fmt, ap);
	va_end(ap);
	return rc;
}

/* Options every command accepts, and the configuration they lead to. */
struct cli {
	const char *config_path;   /* NULL: the default, which may be absent */
	const char *socket_path;
	struct gw_config cfg;
	int cfg_loaded;
};

/* Load the configuration: the named file, or the default one; as for the
 * daemon, it must exist (as_daemon_config_path).  cli->config_path is then
 * the file used. */
static int cli_load_config(struct cli *cli)
{
	char err[PATH_MAX + 1024];
	int rc;

	if (cli->cfg_loaded)
		return 0;
	rc = as_daemon_config_path("anshim-gatewayd", cli->config_path, GW_DEFAULT_CONFIG,
				   &cli->config_path, err, sizeof err);
	if (rc) {
		fprintf(stderr, "anshim-gw: %s\n", err);
		return rc;
	}
	memset(&cli->cfg, 0, sizeof cli->cfg);
	rc = gw_config_load(&cli->cfg, cli->config_path, err, sizeof err);
	if (rc) {
		fprintf(stderr, "anshim-gw: %s\n", err);
		return rc;
	}
	cli->cfg_loaded = 1;
	return 0;
}

/* Connect to the control socket: --socket, else control_socket from the
 * configuration (which is then loaded). */
static int cli_connect(struct cli *cli, struct gw_client *client)
{
	char err[PATH_MAX + 256];
	int rc = cli->socket_path ? 0 : cli_load_config(cli);

	if (rc)
		return rc;
	rc = gw_client_connect(client, cli->socket_path ? cli->socket_path :
			       cli->cfg.control_socket, err, sizeof err);
	if (rc)
		fprintf(stderr, "anshim-gw: %s\n", err);
	return rc;
}

/* Parse argv from index 2 with the common options plus extra ones; extra
 * options are handed to on_opt.  Returns 0, or AS_EXIT_USAGE. */
static int cli_parse(struct cli *cli, int argc, char **argv, const struct option *extra,
		     const char *extra_short, int (*on_opt)(void *ctx, int c, const char *arg),
		     void *ctx, int *first_arg)
{
	struct option options[16];
	char shortopts[32] = "h";
	size_t n = 0;
	int c;

	options[n++] = (struct option){"config", required_argument, NULL, 1000};
	options[n++] = (struct option){"socket", required_argument, NULL, 1001};
	options[n++] = (struct option){"help", no_argument, NULL, 'h'};
	for (size_t i = 0; extra && extra[i].name && n < 15; i++)
		options[n++] = extra[i];
	options[n] = (struct option){NULL, 0, NULL, 0};
	if (extra_short)
		snprintf(shortopts, sizeof shortopts, "h%s", extra_short);
	optind = 2;
	while ((c = as_args_next("anshim-gw", argc, argv, shortopts, options, NULL)) != -1) {
		if (c == 1000) {
			cli->config_path = optarg;
		} else if (c == 1001) {
			cli->socket_path = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			exit(0);
		} else if (c == '?' || !on_opt || on_opt(ctx, c, optarg)) {
			return AS_EXIT_USAGE; /* the reason is printed */
		}
	}
	if (first_arg) {
		*first_arg = optind;
	} else if (optind < argc) {
		return usage_error("unexpected argument '%s'", argv[optind]);
	}
	return 0;
}

/* ---- scan ---- */

struct scan_opts {
	const char *socket_path;
};

static int scan_on_opt(void *ctx, int c, const char *arg)
{
	struct scan_opts *o = ctx;

	if (c != 's')
		return 1;
	o->socket_path = arg;
	return 0;
}

/* The path of the configuration's first 'source socket PATH' in out, or
 * -ENOENT.  Read as the daemon reads it (sources.c): words split by
 * blanks. */
static int config_scan_socket(const struct gw_config *cfg, char out[256])
{
	char kind[16], extra[2];

	for (size_t i = 0; i < cfg->sources.n; i++)
		if (sscanf(cfg->sources.items[i], "%15s %255s %1s", kind, out, extra) == 2 &&
		    strcmp(kind, "socket") == 0)
			return 0;
	return -ENOENT;
}

/* Send one scan line and print its answer.  1 when it was accepted or a
 * duplicate, 0 for another answer, < 0 when the daemon did not answer. */
static int scan_one(struct gw_client *client, const char *line)
{
	char reply[512];
	int rc = gw_client_send(client, line);

	if (!rc)
		rc = gw_client_read_line(client, reply, sizeof reply, 30000);
	if (rc <= 0) {
		fprintf(stderr, "anshim-gw: scan: no answer from the daemon: %s\n",
			as_strerror(rc ? rc : -ECONNRESET));
		return rc ? rc : -ECONNRESET;
	}
	printf("%s\n", reply);
	fflush(stdout);
	return strcmp(reply, "accepted") == 0 || strcmp(reply, "duplicate") == 0;
}

static int cmd_scan(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {
		{"scan-socket", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct scan_opts o = {NULL};
	struct gw_client client;
	char err[PATH_MAX + 256], path[256], *line = NULL;
	size_t cap = 0, failed = 0;
	ssize_t n;
	int first, rc, from_stdin;

	if ((rc = cli_parse(cli, argc, argv, extra, "", scan_on_opt, &o, &first)) != 0)
		return rc;
	from_stdin = first == argc || (first == argc - 1 && strcmp(argv[first], "-") == 0);
	if (!o.socket_path) {
		if (cli_load_config(cli))
			return 1;
		o.socket_path = config_scan_socket(&cli->cfg, path) == 0 ? path : NULL;
		if (!o.socket_path) {
			fprintf(stderr, "anshim-gw: the configuration has no 'source socket PATH' "
				"(add one and restart the daemon, or give --scan-socket PATH)\n");
			return 1;
		}
	}
	rc = gw_client_connect(&client, o.socket_path, err, sizeof err);
	if (rc) {
		fprintf(stderr, "anshim-gw: %s\n", err);
		return 1;
	}
	rc = 0;
	if (!from_stdin) {
		for (int i = first; i < argc && rc >= 0; i++)
			if (argv[i][0] && (rc = scan_one(&client, argv[i])) == 0)
				failed++;
	} else {
		while (rc >= 0 && (n = getline(&line, &cap, stdin)) > 0) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] && (rc = scan_one(&client, line)) == 0)
				failed++;
		}
		free(line);
	}
	gw_client_close(&client);
	return rc < 0 || failed ? 1 : 0;
}

/* ---- init ---- */

/* The venue details of a self-service enrolment request (init). */
struct init_opts {
	struct as_enrolreq req;
	int want_request;
	const char *png;
	enum as_qr_format qr;
};

static int init_text(char *dst, size_t cap, const char *arg, const char *what)
{
	if (strlen(arg) >= cap)
		return usage_error("%s is longer than %zu bytes", what, cap - 1);
	memcpy(dst, arg, strlen(arg) + 1);
	return 0;
}

static int init_on_opt(void *ctx, int c, const char *arg)
{
	struct init_opts *o = ctx;
	int64_t n;

	switch (c) {
	case 'n':
		o->want_request = 1;
		return init_text(o->req.name, sizeof o->req.name, arg, "--venue-name");
	case 'a':
		o->want_request = 1;
		return init_text(o->req.address, sizeof o->req.address, arg, "--address");
	case 'C':
		o->want_request = 1;
		if (strlen(arg) > AS_ENROLREQ_CATEGORY_MAX || strspn(arg, "abcdefghijklmnopqrstuvwxyz"
				"0123456789-") != strlen(arg) || !arg[0])
			return usage_error("--category '%s': 1-24 letters a-z, digits or '-' "
					   "(bar, cafe, restaurant, ...)", arg);
		return init_text(o->req.category, sizeof o->req.category, arg, "--category");
	case 'd':
		o->want_request = 1;
		if (as_parse_int64(arg, 1, 1440, &n))
			return usage_error("--dwell '%s': the usual visit in minutes, 1 to 1440", arg);
		o->req.dwell_minutes = (uint16_t)n;
		return 0;
	case 'v':
		o->want_request = 1;
		if (as_parse_int64(arg, 1, UINT32_MAX, &n))
			return usage_error("--venue '%s': the venue number the health authority "
					   "gave you (leave it out if you have none)", arg);
		o->req.venue_id = (uint32_t)n;
		return 0;
	case 'p': o->png = arg; return 0;
	case 'q':
		if (as_qr_format_parse(&o->qr, arg) || (o->qr != AS_QR_UTF8 && o->qr != AS_QR_ANSI &&
							 o->qr != AS_QR_TEXT))
			return usage_error("--qr '%s': give utf8, ansi or text (no QR)", arg);
		return 0;
	default: return 1;
	}
}

static int init_request_check(const struct init_opts *o)
{
	if (!o->req.name[0]) {
		fprintf(stderr, "anshim-gw: an enrolment request needs --venue-name NAME (the name "
			"visitors know the venue by)\n");
		return 1;
	}
	return 0;
}

/* Sign, save (STATE/enrol-request) and print the enrolment request. */
static int init_request(struct cli *cli, struct init_opts *o, const uint8_t sk[AS_SIGN_SK_LEN])
{
	char text[AS_ENROLREQ_TEXT_MAX + 1], path[PATH_MAX];
	struct as_qr qr;
	int rc;

	o->req.created_at = (int64_t)time(NULL);
	rc = as_enrolreq_sign(&o->req, sk);
	if (!rc)
		rc = as_enrolreq_to_text(text, sizeof text, &o->req);
	if (rc < 0) {
		fprintf(stderr, "anshim-gw: cannot make the enrolment request: %s (names and "
			"addresses must be UTF-8 text without control characters)\n",
			as_strerror(rc));
		return 1;
	}
	snprintf(path, sizeof path, "%s/enrol-request", cli->cfg.state_dir);
	{
		size_t len = strlen(text);
		text[len] = '\n';
		rc = as_file_write_atomic(path, text, len + 1, 0644, 0);
		text[len] = '\0';
	}
	if (rc) {
		fprintf(stderr, "anshim-gw: %s: %s\n", path, as_strerror(rc));
		return 1;
	}
	if (o->png) {
		rc = as_qr_output(text, AS_QR_PNG, o->png, NULL, 0);
		if (rc) {
			fprintf(stderr, "anshim-gw: --png %s: %s\n", o->png, as_strerror(rc));
			return 1;
		}
	}
	printf("\nenrolment request for venue \"%s\"%s%s (saved in %s):\n", o->req.name,
	       o->req.category[0] ? ", category " : "", o->req.category, path);
	if (o->qr != AS_QR_TEXT) {
		rc = as_qr_encode(&qr, text, 0);
		if (!rc) {
			rc = as_qr_print_terminal(stdout, &qr, o->qr == AS_QR_ANSI);
			as_qr_free(&qr);
		}
		if (rc)
			fprintf(stderr, "anshim-gw: cannot draw the QR code: %s (the text below "
				"is the same request)\n", as_strerror(rc));
	}
	printf("%s\n", text);
	printf("next: send this request (scan the QR code, or copy the line starting AE1:) to "
	       "the health authority; once they approve it, 'anshim-gw status' shows "
	       "\"enrolled as venue N\"\n");
	return 0;
}

static int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {
		{"venue-name", required_argument, NULL, 'n'},
		{"address", required_argument, NULL, 'a'},
		{"category", required_argument, NULL, 'C'},
		{"dwell", required_argument, NULL, 'd'},
		{"venue", required_argument, NULL, 'v'},
		{"png", required_argument, NULL, 'p'},
		{"qr", required_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	struct init_opts o = {.qr = AS_QR_UTF8};
	char path[PATH_MAX], id_hex[2 * AS_GWID_LEN + 1], pk_hex[2 * AS_SIGN_PK_LEN + 1];
	uint8_t pk[AS_SIGN_PK_LEN], sk[AS_SIGN_SK_LEN], import_key[32], gw_id[AS_GWID_LEN];
	int rc, created = 0;

	if ((rc = cli_parse(cli, argc, argv, extra, NULL, init_on_opt, &o, NULL)) != 0)
		return rc;
	if (o.png && !o.want_request)
		return usage_error("%s", "--png writes the enrolment request: give the venue "
				   "details too (--venue-name ...)");
	if (cli_load_config(cli))
		return 1;
	rc = as_mkdir_p(cli->cfg.state_dir, 0700);
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot create state directory %s: %s\n",
			cli->cfg.state_dir, as_strerror(rc));
		return 1;
	}
	snprintf(path, sizeof path, "%s/device.key", cli->cfg.state_dir);
	rc = as_keyfile_read(path, AS_KEY_SIGN_SECRET, sk);
	if (rc == -ENOENT) {
		crypto_sign_keypair(pk, sk);
		rc = as_keyfile_write(path, AS_KEY_SIGN_SECRET, sk, AS_WRITE_EXCLUSIVE);
		created = 1;
	}
	if (rc) {
		fprintf(stderr, "anshim-gw: %s: %s\n", path, as_strerror(rc));
		sodium_memzero(sk, sizeof sk);
		return 1;
	}
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (o.want_request) {
		/* Checked before anything is printed: a bad name fails the
		 * command, the keys stay as they are. */
		rc = init_request_check(&o);
		if (rc) {
			sodium_memzero(sk, sizeof sk);
			return rc;
		}
	}
	snprintf(path, sizeof path, "%s/device.pub", cli->cfg.state_dir);
	rc = as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, pk, 0);
	snprintf(path, sizeof path, "%s/import.key", cli->cfg.state_dir);
	if (!rc && access(path, F_OK) != 0) {
		randombytes_buf(import_key, sizeof import_key);
		rc = as_keyfile_write(path, AS_KEY_PSEUDONYM, import_key, AS_WRITE_EXCLUSIVE);
		sodium_memzero(import_key, sizeof import_key);
	}
	if (rc) {
		fprintf(stderr, "anshim-gw: %s: %s\n", path, as_strerror(rc));
		sodium_memzero(sk, sizeof sk);
		return 1;
	}
	as_gateway_id(gw_id, pk);
	as_hex_encode(id_hex, gw_id, sizeof gw_id);
	as_hex_encode(pk_hex, pk, sizeof pk);
	printf("configuration %s\n%s gateway keys in %s\ngateway id: %s\npublic key: %s\n",
	       cli->config_path, created ? "created" : "kept existing", cli->cfg.state_dir,
	       id_hex, pk_hex);
	if (o.want_request) {
		rc = init_request(cli, &o, sk);
		sodium_memzero(sk, sizeof sk);
		return rc;
	}
	sodium_memzero(sk, sizeof sk);
	if (created)
		printf("next: give the public key to the health authority for "
		       "'anshim-cloud enroll', and copy its sign.pub to %s\n",
		       cli->cfg.authority_key);
	return 0;
}

/* ---- status, events, purge ---- */

static int want_json;

static int status_opt(void *ctx, int c, const char *arg)
{
	(void)ctx;
	(void)arg;
	if (c != 'j')
		return 1;
	want_json = 1;
	return 0;
}

/* Find "key": in a flat JSON object and copy its raw value text. */
static const char *json_field(const char *json, const char *key, char *out, size_t cap)
{
	char pattern[64];
	const char *p, *end;
	size_t n;

	snprintf(pattern, sizeof pattern, "\"%s\":", key);
	p = strstr(json, pattern);
	if (!p) {
		snprintf(out, cap, "?");
		return out;
	}
	p += strlen(pattern);
	if (*p == '"') {
		end = strchr(p + 1, '"');
		p++;
	} else if (*p == '[') {
		end = strchr(p, ']');
		if (end)
			end++;
	} else {
		end = p + strcspn(p, ",}");
	}
	n = end ? (size_t)(end - p) : strlen(p);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

/* The scan sources of a status reply, one line each: "NAME: STATE, N lines
 * (M too long)".  json holds "sources":[{"name":..,"state":..,"lines":..,
 * "oversized":..},...]. */
static void print_sources(const char *json)
{
	const char *p = strstr(json, "\"sources\":[");
	const char *end = p ? strchr(p, ']') : NULL;
	char name[1024], state[128], lines[32], oversized[32];
	int n = 0;

	if (p)
		p += strlen("\"sources\":[");
	for (int i = 0; p && end && p < end && i < 256; i++) {
		const char *next = strchr(p, '}');
		if (!next || next > end || !strstr(p, "\"name\":"))
			break;
		json_field(p, "name", name, sizeof name);
		json_field(p, "state", state, sizeof state);
		json_field(p, "lines", lines, sizeof lines);
		json_field(p, "oversized", oversized, sizeof oversized);
		printf("%s%s: %s, %s lines read", n++ ? "             " : "sources      ", name, state,
		       lines);
		if (strcmp(oversized, "0") != 0)
			printf(" (%s too long, dropped)", oversized);
		printf("\n");
		p = next + 1;
	}
	if (!n)
		printf("sources      none\n");
}

static void print_status(const char *json)
{
	char v[5][2048], when[32], cloud_error[2048] = "";
	const char *sync = strstr(json, "\"sync\":{");
	int64_t oldest = 0;
	double used = 0, size = 1;

	printf("gateway      %s\n", json_field(json, "gateway_id", v[0], sizeof v[0]));
	if (strcmp(json_field(json, "enrolled_venue", v[0], sizeof v[0]), "0") != 0 &&
	    strcmp(v[0], "?") != 0)
		printf("enrolled     as venue %s\n", v[0]);
	else if (strcmp(json_field(json, "enrolled", v[0], sizeof v[0]), "true") == 0)
		printf("enrolled     yes (the cloud acknowledges its records; the venue number "
		       "comes with the next policy)\n");
	else
		printf("enrolled     not yet: the health authority has not approved this "
		       "gateway (send them the request 'anshim-gw init --venue-name ...' "
		       "prints)\n");
	printf("collecting   %s (alert level %s; this venue collects from level %s",
	       strcmp(json_field(json, "collecting", v[0], sizeof v[0]), "true") == 0 ? "yes" : "NO",
	       json_field(json, "alert_level", v[1], sizeof v[1]),
	       json_field(json, "collect_from_level", v[2], sizeof v[2]));
	if (json_field(json, "category", v[3], sizeof v[3])[0])
		printf(", category %s", v[3]);
	printf(")\n");
	printf("records      %s journaled, %s unsent\n",
	       json_field(json, "records", v[0], sizeof v[0]),
	       json_field(json, "unsent", v[1], sizeof v[1]));
	as_parse_int64(json_field(json, "oldest_unsent", v[0], sizeof v[0]), 0, INT64_MAX, &oldest);
	printf("oldest unsent %s\n", oldest ? as_format_time(when, oldest) : "-");
	printf("clock        %s\n", json_field(json, "clock", v[0], sizeof v[0]));
	sscanf(json_field(json, "map_used", v[0], sizeof v[0]), "%lf", &used);
	sscanf(json_field(json, "map_size", v[1], sizeof v[1]), "%lf", &size);
	printf("storage      %.1f of %.1f MiB used (%.0f%%)\n", used / 1048576, size / 1048576,
	       size > 0 ? 100 * used / size : 0);
	printf("today        accepted %s, duplicate %s, rejected %s, not collecting %s\n",
	       json_field(json, "accepted", v[0], sizeof v[0]),
	       json_field(json, "duplicate", v[1], sizeof v[1]),
	       json_field(json, "rejected", v[2], sizeof v[2]),
	       json_field(json, "not_collecting", v[3], sizeof v[3]));
	{
		int64_t until = -1;

		json_field(json, "v1_passes_until", v[1], sizeof v[1]);
		if (strcmp(v[1], "null") != 0)
			as_parse_int64(v[1], 0, INT64_MAX, &until);
		printf("passes       version 2 from %s issuer key(s); version 1 %s%s\n",
		       json_field(json, "issuer_keys", v[0], sizeof v[0]),
		       until < 0 ? "accepted" : until == 0 ? "refused" : "accepted until ",
		       until > 0 ? as_format_time(when, until) : "");
	}
	print_sources(json);
	if (!sync || strcmp(json_field(sync, "enabled", v[0], sizeof v[0]), "true") != 0) {
		printf("cloud        offline only (no broker configured)\n");
	} else {
		int64_t last_ack = 0;
		int connected = strcmp(json_field(sync, "connected", v[0], sizeof v[0]), "true") == 0;
		as_parse_int64(json_field(sync, "last_ack_time", v[2], sizeof v[2]), 0, INT64_MAX,
			       &last_ack);
		printf("cloud        %s%s, acked through seq %s, last ack %s\n",
		       connected ? "connected via " : strcmp(json_field(sync, "offline", v[1],
							   sizeof v[1]), "true") == 0 ?
		       "OFFLINE (on request)" : "NOT connected",
		       connected ? json_field(sync, "broker", v[4], sizeof v[4]) : "",
		       json_field(sync, "acked_seq", v[3], sizeof v[3]),
		       last_ack ? as_format_time(when, last_ack) : "never");
		{
			int64_t last_hb = 0;

			as_parse_int64(json_field(sync, "last_heartbeat", v[0], sizeof v[0]), 0,
				       INT64_MAX, &last_hb);
			printf("heartbeat    every %s s, %s sent, last %s\n",
			       json_field(sync, "heartbeat_interval", v[1], sizeof v[1]),
			       json_field(sync, "heartbeats_sent", v[2], sizeof v[2]),
			       last_hb ? as_format_time(when, last_hb) : "never");
		}
		json_field(sync, "last_error", cloud_error, sizeof cloud_error);
		if (cloud_error[0])
			printf("cloud error  %s\n", cloud_error);
	}
	{
		const char *web = strstr(json, "\"web\":{");
		if (web) {
			json_field(web, "url", v[0], sizeof v[0]);
			json_field(web, "error", v[1], sizeof v[1]);
			if (v[0][0])
				printf("staff screen %skiosk and %sstaff\n", v[0], v[0]);
			else if (v[1][0])
				printf("staff screen NOT running: %s\n", v[1]);
			else
				printf("staff screen off (web_listen off)\n");
		}
	}
	/* The gateway's own error first; else why it cannot reach the cloud. */
	json_field(json, "last_error", v[0], sizeof v[0]);
	printf("last error   %s\n", v[0][0] ? v[0] : cloud_error[0] ? cloud_error : "none");
}

static int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct gw_client client;
	char reply[16384];
	int rc;

	if ((rc = cli_parse(cli, argc, argv, extra, NULL, status_opt, NULL, NULL)) != 0)
		return rc;
	if (cli_connect(cli, &client))
		return 1;
	rc = gw_client_request(&client, "status", reply, sizeof reply);
	gw_client_close(&client);
	if (rc < 0) {
		fprintf(stderr, "anshim-gw: status: %s\n", as_strerror(rc));
		return 1;
	}
	if (want_json)
		printf("%s\n", reply);
	else
		print_status(reply);
	return 0;
}

static int64_t events_limit = -1;

static int events_opt(void *ctx, int c, const char *arg)
{
	(void)ctx;
	if (c != 'n' || as_parse_int64(arg, 1, INT64_MAX, &events_limit))
		return usage_error("--count '%s': give a positive number of events", arg), 1;
	return 0;
}

static int cmd_events(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"count", required_argument, NULL, 'n'},
					      {NULL, 0, NULL, 0}};
	struct gw_client client;
	char line[4096];
	int rc;

	if ((rc = cli_parse(cli, argc, argv, extra, NULL, events_opt, NULL, NULL)) != 0)
		return rc;
	if (cli_connect(cli, &client))
		return 1;
	rc = gw_client_request(&client, "events", line, sizeof line);
	if (rc < 0 || strcmp(line, "ok") != 0) {
		fprintf(stderr, "anshim-gw: events: %s\n", rc < 0 ? as_strerror(rc) : line);
		gw_client_close(&client);
		return 1;
	}
	for (int64_t seen = 0; events_limit < 0 || seen < events_limit; seen++) {
		rc = gw_client_read_line(&client, line, sizeof line, -1);
		if (rc <= 0)
			break;
		printf("%s\n", line);
		fflush(stdout);
	}
	gw_client_close(&client);
	if (rc < 0) {
		fprintf(stderr, "anshim-gw: events: %s\n", as_strerror(rc));
		return 1;
	}
	return 0;
}

static int cmd_purge(struct cli *cli, int argc, char **argv)
{
	struct gw_client client;
	char reply[256];
	int rc;

	if ((rc = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, NULL)) != 0)
		return rc;
	if (cli_connect(cli, &client))
		return 1;
	rc = gw_client_send(&client, "purge");
	if (!rc)
		rc = gw_client_read_line(&client, reply, sizeof reply, 600000);
	gw_client_close(&client);
	if (rc <= 0 || strncmp(reply, "{\"purged\":", 10) != 0) {
		fprintf(stderr, "anshim-gw: purge: %s\n", rc <= 0 ? as_strerror(rc ? rc : -ECONNRESET)
			: reply);
		return 1;
	}
	printf("purged %s records\n", json_field(reply, "purged", reply + 128, 64));
	return 0;
}

static int cmd_online(struct cli *cli, int argc, char **argv)
{
	struct gw_client client;
	char reply[256];
	int rc;

	if ((rc = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, NULL)) != 0)
		return rc;
	if (cli_connect(cli, &client))
		return 1;
	rc = gw_client_request(&client, argv[1], reply, sizeof reply);
	gw_client_close(&client);
	if (rc < 0 || strcmp(reply, "ok") != 0) {
		fprintf(stderr, "anshim-gw: %s: %s\n", argv[1], rc < 0 ? as_strerror(rc) : reply);
		return 1;
	}
	printf("gateway is %s\n", argv[1]);
	return 0;
}

/* ---- paper register: sealing and sending ---- */

struct register_session {
	struct gw_client client;
	uint8_t contact_pk[AS_BOX_PK_LEN];
	unsigned long sent;
	struct gw_register_tally tally;
};

static int register_open(struct cli *cli, struct register_session *rs)
{
	char reply[256], err[PATH_MAX + 512];
	int rc;

	memset(rs, 0, sizeof *rs);
	if (cli_load_config(cli))
		return -1;
	/* The register's dates and times are wall-clock times of the venue's
	 * zone, not of this machine's. */
	if (gw_config_use_timezone(&cli->cfg, cli->config_path, err, sizeof err)) {
		fprintf(stderr, "anshim-gw: %s\n", err);
		return -1;
	}
	if (cli_connect(cli, &rs->client))
		return -1;
	rc = gw_client_request(&rs->client, "contact-key", reply, sizeof reply);
	if (rc < 0 || strncmp(reply, "contact-key ", 12) != 0 ||
	    as_hex_decode(rs->contact_pk, AS_BOX_PK_LEN, reply + 12) != 0) {
		fprintf(stderr, "anshim-gw: the gateway has no signed policy yet, so it does not "
			"know the authority's contact key to seal entries to (%s); wait until it "
			"has received one, or place one in its state directory\n",
			rc < 0 ? as_strerror(rc) : reply);
		gw_client_close(&rs->client);
		return -1;
	}
	return 0;
}

/* Seal e and send it as request id. */
static int register_send(struct register_session *rs, unsigned long id,
			 const struct gw_register_entry *e)
{
	uint8_t capsule[AS_CAPSULE_LEN], digest[GW_REGISTER_DIGEST_LEN];
	char capsule_hex[2 * AS_CAPSULE_LEN + 1], digest_hex[2 * GW_REGISTER_DIGEST_LEN + 1];
	char line[600];
	int rc = as_capsule_seal(capsule, &e->contact, rs->contact_pk);

	if (rc)
		return rc;
	gw_register_row_digest(digest, e);
	as_hex_encode(capsule_hex, capsule, sizeof capsule);
	as_hex_encode(digest_hex, digest, sizeof digest);
	snprintf(line, sizeof line, "manual %lu %lld %lld %u %s %s", id, (long long)e->entry_time,
		 (long long)e->exit_time, e->headcount, capsule_hex, digest_hex);
	rc = gw_client_send(&rs->client, line);
	if (!rc)
		rs->sent++;
	return rc;
}

/* Read one "ID OUTCOME [detail]" reply; prints rejections with their line.
 * Returns 0, or a negative error if the daemon went away. */
static int register_read_reply(struct register_session *rs, int verbose)
{
	char reply[256], outcome[32] = "", detail[160] = "";
	unsigned long id = 0;
	int rc = gw_client_read_line(&rs->client, reply, sizeof reply, 60000);

	if (rc <= 0)
		return rc ? rc : -ECONNRESET;
	if (sscanf(reply, "%lu %31s %159s", &id, outcome, detail) < 2) {
		fprintf(stderr, "anshim-gw: unexpected reply from the daemon: %s\n", reply);
		return -EPROTO;
	}
	{
		char line[256];
		gw_register_tally_outcome(&rs->tally, line, sizeof line, id, outcome, detail);
		fputs(line, stdout);
	}
	if (verbose && strcmp(outcome, "accepted") == 0)
		printf("recorded (%s)\n", detail);
	else if (verbose && strcmp(outcome, "duplicate") == 0)
		printf("already recorded: this exact entry was entered before\n");
	return 0;
}
/* ---- journal ---- */

static int print_record(void *ctx, const struct as_record *rec)
{
	int json = *(int *)ctx;
	static const uint8_t zero[AS_PID_LEN];
	char pid[2 * AS_PID_LEN + 1] = "", token[2 * AS_PID_LEN + 1] = "", when[32];
	char shown[2 * AS_PID_LEN + 8];

	/* A token record's pid field holds the token id, not a pid. */
	if (rec->kind == AS_REC_TOKEN)
		as_hex_encode(token, rec->pid, AS_PID_LEN);
	else if (memcmp(rec->pid, zero, AS_PID_LEN) != 0)
		as_hex_encode(pid, rec->pid, AS_PID_LEN);
	if (json) {
		printf("{\"seq\":%llu,\"kind\":\"%s\",\"time\":%lld,\"exit\":%lld,\"headcount\":%u,"
		       "\"unsynced\":%s,\"corrected\":%s,\"pid\":\"%s\"",
		       (unsigned long long)rec->seq, as_record_kind_name(rec->kind),
		       (long long)rec->entry_time, (long long)rec->exit_time, rec->headcount,
		       rec->flags & AS_REC_CLOCK_UNSYNCED ? "true" : "false",
		       rec->flags & AS_REC_TIME_CORRECTED ? "true" : "false", pid);
		if (token[0])
			printf(",\"token\":\"%s\"", token);
		printf("}\n");
		return 0;
	}
	if (token[0])
		snprintf(shown, sizeof shown, "token %s", token);
	else
		snprintf(shown, sizeof shown, "%s", pid[0] ? pid : "(sealed paper entry)");
	printf("%8llu  %-6s  %s  %3u  %-9s  %s\n", (unsigned long long)rec->seq,
	       as_record_kind_name(rec->kind), as_format_time(when, rec->entry_time),
	       rec->headcount, rec->flags & AS_REC_CLOCK_UNSYNCED ? "unsynced" :
	       rec->flags & AS_REC_TIME_CORRECTED ? "corrected" : "synced", shown);
	return 0;
}

static int cmd_journal(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	char dir[PATH_MAX], err[PATH_MAX + 256];
	struct gw_journal *j;
	int rc;

	if ((rc = cli_parse(cli, argc, argv, extra, NULL, status_opt, NULL, NULL)) != 0)
		return rc;
	if (cli_load_config(cli))
		return 1;
	snprintf(dir, sizeof dir, "%s/journal", cli->cfg.state_dir);
	rc = gw_journal_open_readonly(&j, dir, err, sizeof err);
	if (rc) {
		fprintf(stderr, "anshim-gw: %s\n", err);
		return 1;
	}
	if (!want_json)
		printf("%8s  %-6s  %-25s  %3s  %-9s  %s\n", "seq", "kind", "entry time", "hc",
		       "clock", "pid");
	rc = gw_journal_scan(j, 0, 0, SIZE_MAX, print_record, &want_json);
	gw_journal_close(j);
	if (rc) {
		fprintf(stderr, "anshim-gw: reading %s: %s\n", dir, as_strerror(rc));
		return 1;
	}
	return 0;
}

#define IMPORT_WINDOW 256

struct import_ctx {
	struct register_session *rs;
	unsigned long rows_ok, rows_bad, replies;
	int failed;
	int progress;
};

static void import_on_entry(void *ctx, unsigned line, const struct gw_register_entry *e)
{
	struct import_ctx *ic = ctx;
	int rc;

	if (ic->failed)
		return;
	while (ic->rs->sent - ic->replies >= IMPORT_WINDOW && !ic->failed) {
		if (register_read_reply(ic->rs, 0) < 0)
			ic->failed = 1;
		else
			ic->replies++;
	}
	rc = ic->failed ? -EIO : register_send(ic->rs, line, e);
	if (rc) {
		ic->failed = 1;
		return;
	}
	ic->rows_ok++;
	if (ic->progress && ic->rows_ok % 1000 == 0)
		fprintf(stderr, "\r%lu rows sent...", ic->rows_ok);
}

static void import_on_reject(void *ctx, unsigned line, const char *why)
{
	struct import_ctx *ic = ctx;

	ic->rows_bad++;
	printf("line %u: rejected: %s\n", line, why);
}

static int cmd_import(struct cli *cli, int argc, char **argv)
{
	struct register_session rs;
	struct import_ctx ic;
	const char *path;
	FILE *in;
	int first, rc;

	if ((rc = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first)) != 0)
		return rc;
	if (first != argc - 1)
		return usage_error("%s", "import needs exactly one FILE.csv");
	path = argv[first];
	in = fopen(path, "r");
	if (!in) {
		fprintf(stderr, "anshim-gw: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (register_open(cli, &rs)) {
		fclose(in);
		return 1;
	}
	memset(&ic, 0, sizeof ic);
	ic.rs = &rs;
	ic.progress = isatty(STDERR_FILENO);
	rc = gw_register_read_file(in, (int64_t)time(NULL), cli->cfg.retention, import_on_entry,
				   import_on_reject, &ic);
	fclose(in);
	while (!ic.failed && ic.replies < rs.sent) {
		if (register_read_reply(&rs, 0) < 0)
			ic.failed = 1;
		else
			ic.replies++;
	}
	gw_client_close(&rs.client);
	if (ic.progress && ic.rows_ok >= 1000)
		fprintf(stderr, "\r");
	if (rc) {
		char line[512];
		gw_register_file_error(line, sizeof line, path, rc);
		fprintf(stderr, "anshim-gw: %s", line);
		return 1;
	}
	if (ic.failed) {
		fprintf(stderr, "anshim-gw: lost the connection to the daemon after %lu of %lu "
			"rows; run the same import again: rows already recorded are skipped\n",
			ic.replies, ic.rows_ok);
		return 1;
	}
	{
		char line[512];
		rs.tally.invalid = ic.rows_bad;
		gw_register_summary(line, sizeof line, path, &rs.tally, cli->cfg.timezone);
		fputs(line, stdout);
	}
	return ic.rows_bad || rs.tally.rejected || rs.tally.not_collecting ? 1 : 0;
}

/* Prompt for one field until it is valid (or input ends: returns -1). */
static int prompt_field(const char *label, const char *fallback, enum gw_register_field field,
			char *out, size_t cap)
{
	char why[GW_REGISTER_WHY_MAX];

	for (int attempt = 0; attempt < 20; attempt++) {
		if (fallback)
			printf("%s [%s]: ", label, fallback);
		else
			printf("%s: ", label);
		fflush(stdout);
		if (!fgets(out, (int)cap, stdin))
			return -1;
		if (!strchr(out, '\n') && !feof(stdin)) {
			/* Longer than any valid answer: drop the rest of the line so
			 * it is not taken as the answer to the next question. */
			int ch;
			while ((ch = getchar()) != EOF && ch != '\n')
				;
			sodium_memzero(out, cap);
			printf("  too long; please enter it again\n");
			continue;
		}
		out[strcspn(out, "\r\n")] = '\0';
		if (!out[0] && fallback)
			snprintf(out, cap, "%s", fallback);
		if (gw_register_check_field(field, out, why, sizeof why) == 0)
			return 0;
		printf("  %s\n", why);
	}
	return -1;
}

static int cmd_register(struct cli *cli, int argc, char **argv)
{
	struct register_session rs;
	char date[32], timebuf[32], name[AS_CONTACT_NAME_MAX + 8], phone[64], head[16], exit_t[32];
	char today[32], why[GW_REGISTER_WHY_MAX];
	struct gw_register_entry e;
	time_t now_t = time(NULL);
	struct tm tm;
	int rc, status = 0;

	if ((rc = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, NULL)) != 0)
		return rc;
	if (register_open(cli, &rs))
		return 1;
	localtime_r(&now_t, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	printf("Paper register entry. Name and phone are sealed for the health authority "
	       "as soon as you press Enter;\nthey cannot be shown again. Ctrl-D to finish.\n"
	       "Dates and times are in the time zone %s ('timezone' in %s).\n",
	       cli->cfg.timezone, cli->config_path);
	for (unsigned long id = 1; id < 100000; id++) {
		printf("\nEntry %lu\n", id);
		if (prompt_field("  Date (YYYY-MM-DD)", today, GW_REG_DATE, date, sizeof date) ||
		    prompt_field("  Time of entry (HH:MM)", NULL, GW_REG_TIME, timebuf, sizeof timebuf) ||
		    prompt_field("  Name", NULL, GW_REG_NAME, name, sizeof name) ||
		    prompt_field("  Phone", NULL, GW_REG_PHONE, phone, sizeof phone) ||
		    prompt_field("  Headcount", "1", GW_REG_HEADCOUNT, head, sizeof head) ||
		    prompt_field("  Exit time (HH:MM, empty if unknown)", "", GW_REG_EXIT_TIME,
				 exit_t, sizeof exit_t))
			break;
		rc = gw_register_validate(&e, date, timebuf, name, phone, head, exit_t,
					  (int64_t)time(NULL), cli->cfg.retention, why, sizeof why);
		sodium_memzero(name, sizeof name);
		sodium_memzero(phone, sizeof phone);
		if (rc) {
			printf("  not recorded: %s; please enter it again\n", why);
			id--;
			continue;
		}
		rc = register_send(&rs, id, &e);
		sodium_memzero(&e, sizeof e);
		if (!rc)
			rc = register_read_reply(&rs, 1);
		if (rc) {
			fprintf(stderr, "anshim-gw: lost the connection to the daemon: %s\n",
				as_strerror(rc));
			status = 1;
			break;
		}
	}
	printf("\n%lu recorded, %lu already recorded, %lu rejected\n", rs.tally.imported,
	       rs.tally.duplicate, rs.tally.rejected + rs.tally.not_collecting);
	gw_client_close(&rs.client);
	return status || rs.tally.rejected || rs.tally.not_collecting ? 1 : status;
}

/* verify-pass for a version 2 pass: the issuer keys come from the signed
 * policy (--policy FILE, else the gateway's saved one). */
static int verify_pass_v2(struct cli *cli, const char *text, size_t len, const char *policy_path,
			  const uint8_t authority_pk[AS_SIGN_PK_LEN], int64_t now,
			  int64_t freshness)
{
	char path[PATH_MAX], id_hex[2 * AS_TOKEN_ID_LEN + 1], until[32];
	struct as_pass2_verify_params params = {NULL, now, freshness};
	struct as_policy policy;
	struct as_pass2 pass;
	unsigned char *data;
	size_t data_len;
	int rc;

	if (!policy_path) {
		if (cli_load_config(cli))
			return 1;
		snprintf(path, sizeof path, "%s/policy", cli->cfg.state_dir);
		policy_path = path;
	}
	rc = as_file_read_all(policy_path, AS_POLICY_MAX_BYTES, &data, &data_len);
	if (!rc) {
		rc = as_policy_decode(&policy, data, data_len, authority_pk);
		free(data);
	}
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot use the policy %s: %s (a version 2 pass is "
			"checked against the issuer keys of the authority's signed policy; give "
			"--policy FILE)\n", policy_path, as_strerror(rc));
		return 1;
	}
	params.policy = &policy;
	rc = as_pass2_verify_text(&pass, text, len, &params);
	as_policy_free(&policy);
	if (rc) {
		printf("rejected: %s (%s)\n", as_scan_reason(rc), as_strerror(rc));
		return 1;
	}
	as_hex_encode(id_hex, pass.token.token_id, AS_TOKEN_ID_LEN);
	printf("valid pass v2 token=%s expires=%s\n", id_hex,
	       as_format_time(until, pass.token.expires_at));
	return 0;
}

static int cmd_verify_pass(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"authority", required_argument, NULL, 'a'},
		{"at", required_argument, NULL, 't'},
		{"freshness", required_argument, NULL, 'f'},
		{"policy", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 1000},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *authority = NULL, *policy = NULL, *text;
	char line[AS_SCAN_TEXT_MAX + 2], pid_hex[2 * AS_PID_LEN + 1], until[32];
	uint8_t authority_pk[AS_SIGN_PK_LEN];
	struct as_verify_params params = {0};
	struct as_scan scan;
	int64_t freshness = DEFAULT_FRESHNESS;
	size_t len;
	int c, rc;

	params.now = (int64_t)time(NULL);
	optind = 2;
	while ((c = as_args_next("anshim-gw", argc, argv, "a:t:f:h", options, NULL)) != -1) {
		switch (c) {
		case 'a': authority = optarg; break;
		case 't':
			if (as_parse_time(optarg, &params.now))
				return usage_error("--at '%s' is not a time (unix seconds or ISO 8601)", optarg);
			break;
		case 'f':
			if (as_parse_int64(optarg, 1, 86400, &freshness))
				return usage_error("--freshness '%s': give seconds, 1 to 86400", optarg);
			break;
		case 'p': policy = optarg; break;
		case 1000: cli->config_path = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return AS_EXIT_USAGE; /* the reason is printed */
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", "verify-pass needs exactly one TEXT argument (or '-')");
	if (as_args_text_operand("anshim-gw", argv[optind], "pass text", line, sizeof line, &text))
		return 1;
	if (!authority) {
		if (cli_load_config(cli))
			return 1;
		authority = cli->cfg.authority_key;
	}
	rc = as_keyfile_read(authority, AS_KEY_SIGN_PUBLIC, authority_pk);
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot read the authority public key %s: %s "
			"(copy the authority's sign.pub there, or pass --authority FILE)\n",
			authority, as_strerror(rc));
		return 1;
	}
	params.authority_pk = authority_pk;
	params.freshness = freshness;
	len = strlen(text);
	if (as_pass2_is_text(text, len))
		return verify_pass_v2(cli, text, len, policy, authority_pk, params.now, freshness);
	rc = as_scan_verify(&scan, text, len, &params);
	if (rc) {
		printf("rejected: %s (%s)\n", as_scan_reason(rc), as_strerror(rc));
		return 1;
	}
	as_hex_encode(pid_hex, scan.cred.pid, AS_PID_LEN);
	printf("valid %s pid=%s expires=%s\n", scan.kind == AS_SCAN_CARD ? "card" : "pass",
	       pid_hex, as_format_time(until, scan.cred.expires_at));
	return 0;
}

/* ---- show-code, verify-code ---- */

struct show_opts {
	const char *png;
	const char *format;
	int once;
};

static int show_opt(void *ctx, int c, const char *arg)
{
	struct show_opts *o = ctx;

	switch (c) {
	case 'p': o->png = arg; return 0;
	case 'f': o->format = arg; return 0;
	case 'o': o->once = 1; return 0;
	default: return usage_error("%s", "bad option for 'show-code'");
	}
}

static int cmd_show_code(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {
		{"png", required_argument, NULL, 'p'},
		{"format", required_argument, NULL, 'f'},
		{"once", no_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	struct show_opts o = {NULL, "utf8", 0};
	struct gw_showcode sc;
	char path[PATH_MAX];
	int rc;

	if ((rc = cli_parse(cli, argc, argv, extra, NULL, show_opt, &o, NULL)) != 0)
		return rc;
	memset(&sc, 0, sizeof sc);
	if (as_qr_format_parse(&sc.format, o.format) ||
	    (sc.format != AS_QR_UTF8 && sc.format != AS_QR_ANSI && sc.format != AS_QR_TEXT))
		return usage_error("--format '%s': give utf8, ansi or text (for an image file "
				   "use --png FILE)", o.format);
	if (cli_load_config(cli))
		return 1;
	if (cli->cfg.venue_id == 0) {
		fprintf(stderr, "anshim-gw: show-code needs the venue id: set 'venue_id ID' in %s "
			"to the venue id this gateway was enrolled with ('anshim-cloud enroll "
			"--venue ID')\n", cli->config_path);
		return 1;
	}
	sc.venue_id = (uint32_t)cli->cfg.venue_id;
	sc.slot_seconds = (unsigned)cli->cfg.code_slot;
	sc.png_path = o.png;
	sc.out = stdout;
	sc.redraw = !o.once && isatty(STDOUT_FILENO);
	rc = gw_showcode_load_key(&sc, cli->cfg.state_dir, path, sizeof path);
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot read the device key %s: %s (%s)\n", path,
			as_strerror(rc), rc == -ENOENT ? "run 'anshim-gw init' first" :
			"run show-code as the gateway's user, which owns the state directory");
		gw_showcode_wipe(&sc);
		return 1;
	}
	rc = gw_showcode_run(&sc, o.once);
	gw_showcode_wipe(&sc);
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot show the venue code%s%s: %s\n",
			o.png ? " to " : "", o.png ? o.png : "", as_strerror(rc));
		return 1;
	}
	return 0;
}

static int cmd_verify_code(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"authority", required_argument, NULL, 'a'},
		{"gateway-key", required_argument, NULL, 'g'},
		{"at", required_argument, NULL, 't'},
		{"config", required_argument, NULL, 1000},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *authority = NULL, *gateway = NULL, *text, *keyfile, *reason = NULL;
	char line[AS_VENUE_CODE_TEXT_MAX + 2], path[PATH_MAX], hex[2 * AS_GWID_LEN + 1];
	char when[32];
	uint8_t pk[AS_SIGN_PK_LEN], gw_id[AS_GWID_LEN];
	struct as_venue_code code;
	int64_t now = (int64_t)time(NULL);
	int c, rc;

	optind = 2;
	while ((c = as_args_next("anshim-gw", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'a': authority = optarg; break;
		case 'g': gateway = optarg; break;
		case 't':
			if (as_parse_time(optarg, &now))
				return usage_error("--at '%s' is not a time (unix seconds or ISO 8601)", optarg);
			break;
		case 1000: cli->config_path = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return AS_EXIT_USAGE; /* the reason is printed */
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", "verify-code needs exactly one TEXT argument (or '-')");
	if (as_args_text_operand("anshim-gw", argv[optind], "venue code text", line, sizeof line, &text))
		return 1;
	rc = as_venue_code_from_text(&code, text, strlen(text));
	if (rc) {
		printf("rejected: malformed (%s)\n", as_strerror(rc));
		return 1;
	}
	if (code.type == AS_VC_POSTER) {
		printf("poster venue=%u name=\"%s\" issued=%s\n", code.venue_id, code.name,
		       as_format_time(when, code.issued_at));
		keyfile = authority;
		if (!keyfile) {
			if (cli_load_config(cli))
				return 1;
			keyfile = cli->cfg.authority_key;
		}
	} else {
		as_hex_encode(hex, code.gw_id, AS_GWID_LEN);
		printf("rotating venue=%u gateway=%s slot_start=%lld slot_seconds=%u (%s)\n",
		       code.venue_id, hex, (long long)code.slot_start, code.slot_seconds,
		       as_format_time(when, code.slot_start));
		keyfile = gateway;
		if (!keyfile) {
			if (cli_load_config(cli))
				return 1;
			snprintf(path, sizeof path, "%s/device.pub", cli->cfg.state_dir);
			keyfile = path;
		}
	}
	rc = as_keyfile_read(keyfile, AS_KEY_SIGN_PUBLIC, pk);
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot read the public key %s: %s (%s)\n", keyfile,
			as_strerror(rc), code.type == AS_VC_POSTER ?
			"copy the authority's sign.pub there, or pass --authority FILE" :
			"pass the showing gateway's device.pub with --gateway-key FILE");
		return 1;
	}
	if (code.type == AS_VC_ROTATING) {
		as_gateway_id(gw_id, pk);
		if (memcmp(gw_id, code.gw_id, AS_GWID_LEN) != 0)
			reason = "wrong-gateway";
		else if (now < code.slot_start - code.slot_seconds ||
			 now >= code.slot_start + 2 * (int64_t)code.slot_seconds)
			reason = "stale";
	}
	if (!reason && as_venue_code_verify(&code, pk))
		reason = "bad-signature";
	if (reason) {
		printf("rejected: %s\n", reason);
		return 1;
	}
	printf("valid\n");
	return 0;
}

/* ---- staff-pin ---- */

/* Read one line into buf without echo on a terminal.  0, or -1 at end of
 * input or for a line too long. */
static int read_secret_line(const char *prompt, char *buf, size_t cap)
{
	int tty = isatty(STDIN_FILENO);
	struct termios old, quiet;
	size_t n;
	int rc = 0;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = 0;
		}
	}
	if (!fgets(buf, (int)cap, stdin))
		rc = -1;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = rc ? 0 : strlen(buf);
	if (!rc && (n == 0 || buf[n - 1] != '\n') && !feof(stdin))
		rc = -1;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return rc;
}

static int cmd_staff_pin(struct cli *cli, int argc, char **argv)
{
	char pin[64], again[64], line[256], path[PATH_MAX];
	int rc, first;

	if ((rc = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first)) != 0)
		return rc;
	if (first != argc)
		return usage_error("%s", "staff-pin takes no arguments (it asks for the PIN)");
	if (cli_load_config(cli))
		return 1;
	if (read_secret_line("New staff PIN (4-12 digits): ", pin, sizeof pin) ||
	    !gw_staffauth_pin_valid(pin)) {
		sodium_memzero(pin, sizeof pin);
		fprintf(stderr, "anshim-gw: a staff PIN is %d to %d digits (0-9) and nothing else; "
			"nothing was changed\n", GW_STAFF_PIN_MIN, GW_STAFF_PIN_MAX);
		return 1;
	}
	if (isatty(STDIN_FILENO)) {
		if (read_secret_line("Same PIN again: ", again, sizeof again) ||
		    strcmp(pin, again) != 0) {
			sodium_memzero(pin, sizeof pin);
			sodium_memzero(again, sizeof again);
			fprintf(stderr, "anshim-gw: the two PINs differ; nothing was changed\n");
			return 1;
		}
		sodium_memzero(again, sizeof again);
	}
	rc = gw_staffauth_hash_pin(line, sizeof line, pin);
	sodium_memzero(pin, sizeof pin);
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot hash the PIN: %s\n", as_strerror(rc));
		return 1;
	}
	snprintf(path, sizeof path, "%s/" GW_STAFF_PIN_FILE, cli->cfg.state_dir);
	rc = as_file_write_atomic(path, line, strlen(line), 0600, 0);
	if (rc) {
		fprintf(stderr, "anshim-gw: cannot write %s: %s (run this as the gateway's user, "
			"after 'anshim-gw init')\n", path, as_strerror(rc));
		return 1;
	}
	printf("staff PIN set (%s); reload the gateway to use it: systemctl reload "
	       "anshim-gateway\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli *cli, int argc, char **argv);
	} commands[] = {
		{"init", cmd_init}, {"status", cmd_status}, {"events", cmd_events},
		{"purge", cmd_purge}, {"register", cmd_register}, {"import", cmd_import},
		{"journal", cmd_journal}, {"offline", cmd_online}, {"online", cmd_online},
		{"verify-pass", cmd_verify_pass}, {"show-code", cmd_show_code},
		{"verify-code", cmd_verify_code}, {"scan", cmd_scan},
		{"staff-pin", cmd_staff_pin},
	};
	const char *cmd = argc > 1 ? argv[1] : NULL;
	struct cli cli;
	int rc;

	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage_text, cmd ? stdout : stderr);
		return cmd ? 0 : AS_EXIT_USAGE;
	}
	/* 'COMMAND --help': that command's part of the manual (usage.h). */
	if (as_usage_subcommand_help(argc, argv, "anshim-gw", usage_text))
		return 0;
	if (as_crypto_init()) {
		fprintf(stderr, "anshim-gw: libsodium failed to initialise\n");
		return 1;
	}
	memset(&cli, 0, sizeof cli);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			rc = commands[i].run(&cli, argc, argv);
			if (cli.cfg_loaded)
				gw_config_free(&cli.cfg);
			return rc;
		}
	}
	return usage_error("unknown command '%s'", cmd);
}
