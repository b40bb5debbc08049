/*
 * anshim-gw - the venue gateway's command-line tool.
 *
 * verify-pass checks a scanned pass or card offline, exactly as the
 * gateway daemon does, and says why it is rejected.  Single-threaded.
 */
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_USAGE 2
#define DEFAULT_AUTHORITY_PUB "/etc/anshim/authority.pub"
#define DEFAULT_FRESHNESS 90

static const char usage_text[] =
"Usage: anshim-gw COMMAND [OPTIONS]\n"
"\n"
"Control tool for the Anshim venue gateway.\n"
"\n"
"Commands:\n"
"  verify-pass TEXT|- [--authority FILE] [--at TIME] [--freshness SECONDS]\n"
"      Check a scanned pass (AP1:...) or card (AC1:...) offline against the\n"
"      authority's public signing key (default " DEFAULT_AUTHORITY_PUB ",\n"
"      the authority's sign.pub). '-' reads the text from standard input.\n"
"      Prints 'valid pass pid=HEX ...' and exits 0, or 'rejected: REASON'\n"
"      and exits 1, where REASON is one of: malformed, bad-issuer-signature,\n"
"      bad-holder-signature, expired, not-yet-valid, stale, wrong-form.\n"
"      A pass is fresh within --freshness seconds (default 90) of the\n"
"      gateway clock (now, or --at: unix seconds or ISO 8601).\n"
"\n"
"Exit status: 0 valid / success, 1 rejected / failure, 2 bad usage.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "anshim-gw: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'anshim-gw --help'.\n");
	return EXIT_USAGE;
}

static int cmd_verify_pass(int argc, char **argv)
{
	static const struct option options[] = {
		{"authority", required_argument, NULL, 'a'},
		{"at", required_argument, NULL, 't'},
		{"freshness", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *authority = DEFAULT_AUTHORITY_PUB, *text;
	char line[AS_SCAN_TEXT_MAX + 2], pid_hex[2 * AS_PID_LEN + 1], until[32];
	uint8_t authority_pk[AS_SIGN_PK_LEN];
	struct as_verify_params params = {0};
	struct as_scan scan;
	int64_t freshness = DEFAULT_FRESHNESS;
	size_t len;
	int c, rc;

	params.now = (int64_t)time(NULL);
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:t:f:h", options, NULL)) != -1) {
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
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage_error("%s", "bad option for 'verify-pass'");
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", "verify-pass needs exactly one TEXT argument (or '-')");
	text = argv[optind];
	if (strcmp(text, "-") == 0) {
		if (!fgets(line, sizeof line, stdin)) {
			fprintf(stderr, "anshim-gw: no pass text on standard input\n");
			return 1;
		}
		line[strcspn(line, "\r\n")] = '\0';
		text = line;
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

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage_text, cmd ? stdout : stderr);
		return cmd ? 0 : EXIT_USAGE;
	}
	if (as_crypto_init()) {
		fprintf(stderr, "anshim-gw: libsodium failed to initialise\n");
		return 1;
	}
	if (strcmp(cmd, "verify-pass") == 0)
		return cmd_verify_pass(argc, argv);
	return usage_error("unknown command '%s'", cmd);
}
