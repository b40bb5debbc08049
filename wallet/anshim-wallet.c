/*
 * anshim-wallet - the reference visitor wallet: what a phone app does.
 *
 * Holds a holder key pair and the credential the authority issued for it,
 * and turns them into rotating passes (credential + time + holder
 * signature) rendered as QR codes.  Single-threaded command-line tool.
 */
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"
#include "anshim/qr.h"
#include "anshim/usage.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static const char usage_text[] =
"Usage: anshim-wallet COMMAND [OPTIONS]\n"
"\n"
"The reference visitor wallet. It keeps a holder key and the credential the\n"
"health authority issued for it, and shows rotating passes as QR codes.\n"
"\n"
"Commands:\n"
"  new  --dir DIR\n"
"      Create a wallet in DIR: a new holder key pair (DIR/holder.key, mode\n"
"      0600, and DIR/holder.pub). Refuses to overwrite an existing wallet.\n"
"      Give DIR/holder.pub to the authority: 'anshim-cloud issue --holder'.\n"
"  pass --dir DIR [--at UNIX_TIME|ISO8601] [--format FMT] [--out FILE]\n"
"      Print the current pass: the credential in DIR/credential, the time\n"
"      (now, or --at) and the holder signature. A pass is valid at a\n"
"      gateway for about 90 s either side of its time; make a new one to\n"
"      show each time.\n"
"  card --credential FILE [--format FMT] [--out FILE]\n"
"      Render a printable card from a card credential ('anshim-cloud issue\n"
"      --card'). Cards carry no holder key: keep them like a key.\n"
"\n"
"Output formats (--format):\n"
"  utf8   QR code in UTF-8 block characters on the terminal (default)\n"
"  ansi   QR code with ANSI colours, for terminals that distort blocks\n"
"  text   the QR text itself (AP1:... or AC1:...), e.g. for scripts\n"
"  png    PNG image; needs --out FILE\n"
"  svg    SVG image, to --out FILE or standard output\n"
"\n"
"Exit status: 0 on success, 1 on failure, 2 on bad usage.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = as_usage_verror("anshim-wallet", fmt, ap);
	va_end(ap);
	return rc;
}

struct wallet_args {
	const char *dir;
	const char *credential;
	const char *out;
	const char *at;
	enum as_qr_format format;
};

static int parse_args(int argc, char **argv, struct wallet_args *a)
{
	static const struct option options[] = {
		{"dir", required_argument, NULL, 'd'},
		{"credential", required_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"at", required_argument, NULL, 't'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->format = AS_QR_UTF8;
	optind = 2;
	while ((c = getopt_long(argc, argv, "d:c:o:t:f:h", options, NULL)) != -1) {
		switch (c) {
		case 'd': a->dir = optarg; break;
		case 'c': a->credential = optarg; break;
		case 'o': a->out = optarg; break;
		case 't': a->at = optarg; break;
		case 'f':
			if (as_qr_format_parse(&a->format, optarg))
				return usage_error("unknown format '%s' (use utf8, ansi, text, png or svg)", optarg);
			break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return usage_error("%s", "bad option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int wallet_path(char *out, const char *dir, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		fprintf(stderr, "anshim-wallet: path too long: %s/%s\n", dir, name);
		return -1;
	}
	return 0;
}

static int cmd_new(const struct wallet_args *a)
{
	char sk_path[PATH_MAX], pk_path[PATH_MAX], hex[2 * AS_SIGN_PK_LEN + 1];
	uint8_t pk[AS_SIGN_PK_LEN], sk[AS_SIGN_SK_LEN];
	int rc;

	if (!a->dir)
		return usage_error("%s", "new needs --dir DIR");
	if (wallet_path(sk_path, a->dir, "holder.key") || wallet_path(pk_path, a->dir, "holder.pub"))
		return 1;
	rc = as_mkdir_p(a->dir, 0700);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot create %s: %s\n", a->dir, as_strerror(rc));
		return 1;
	}
	crypto_sign_keypair(pk, sk);
	rc = as_keyfile_write(sk_path, AS_KEY_SIGN_SECRET, sk, AS_WRITE_EXCLUSIVE);
	sodium_memzero(sk, sizeof sk);
	if (rc == AS_E_EXISTS) {
		fprintf(stderr, "anshim-wallet: %s already exists; a wallet is there already "
			"(use another --dir)\n", sk_path);
		return 1;
	}
	if (!rc)
		rc = as_keyfile_write(pk_path, AS_KEY_SIGN_PUBLIC, pk, 0);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot write the holder key in %s: %s\n",
			a->dir, as_strerror(rc));
		return 1;
	}
	as_hex_encode(hex, pk, sizeof pk);
	printf("wallet created in %s\nholder public key: %s\n"
	       "next: anshim-cloud issue --holder %s --phone ... --out %s/credential\n",
	       a->dir, hex, pk_path, a->dir);
	return 0;
}

static int load_credential(const char *path, struct as_credential *cred)
{
	int rc = as_credential_load(path, cred);

	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot load credential %s: %s%s\n", path,
			as_strerror(rc), rc == -ENOENT ? " (ask the authority to issue one: "
			"anshim-cloud issue)" : "");
		return 1;
	}
	return 0;
}

static int render(const struct wallet_args *a, const char *text, const char *caption)
{
	int rc = as_qr_output(text, a->format, a->out, caption, 0);

	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot write the %s: %s%s\n",
			a->out ? a->out : "code", as_strerror(rc),
			rc == AS_E_USAGE ? " (png needs --out FILE; utf8/ansi print to the terminal)" : "");
		return 1;
	}
	return 0;
}

static int cmd_pass(const struct wallet_args *a)
{
	char path[PATH_MAX], text[AS_SCAN_TEXT_MAX], caption[80], when[32];
	uint8_t sk[AS_SIGN_SK_LEN];
	struct as_credential cred;
	struct as_pass pass;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (!a->dir)
		return usage_error("%s", "pass needs --dir DIR");
	if (a->at && as_parse_time(a->at, &now))
		return usage_error("--at '%s' is not a time (unix seconds or ISO 8601)", a->at);
	if (wallet_path(path, a->dir, "credential") || load_credential(path, &cred))
		return 1;
	if (wallet_path(path, a->dir, "holder.key"))
		return 1;
	rc = as_keyfile_read(path, AS_KEY_SIGN_SECRET, sk);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot read holder key %s: %s\n", path, as_strerror(rc));
		return 1;
	}
	rc = as_pass_make(&pass, &cred, now, sk);
	sodium_memzero(sk, sizeof sk);
	if (rc == 0)
		rc = as_pass_to_text(text, sizeof text, &pass);
	if (rc < 0) {
		fprintf(stderr, "anshim-wallet: cannot make a pass: %s\n", as_strerror(rc));
		return 1;
	}
	snprintf(caption, sizeof caption, "Anshim pass - %s", as_format_time(when, now));
	return render(a, text, caption);
}

static int cmd_card(const struct wallet_args *a)
{
	char text[AS_SCAN_TEXT_MAX], caption[80], until[32];
	struct as_credential cred;
	int rc;

	if (!a->credential)
		return usage_error("%s", "card needs --credential FILE");
	if (load_credential(a->credential, &cred))
		return 1;
	if (!(cred.flags & AS_CRED_CARD)) {
		fprintf(stderr, "anshim-wallet: %s is a phone credential, not a card credential "
			"(issue one with 'anshim-cloud issue --card')\n", a->credential);
		return 1;
	}
	rc = as_card_to_text(text, sizeof text, &cred);
	if (rc < 0) {
		fprintf(stderr, "anshim-wallet: cannot make a card: %s\n", as_strerror(rc));
		return 1;
	}
	as_format_time(until, cred.expires_at);
	snprintf(caption, sizeof caption, "Anshim visitor card - valid until %.10s", until);
	return render(a, text, caption);
}

int main(int argc, char **argv)
{
	struct wallet_args args = {0};
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		fputs(usage_text, cmd ? stdout : stderr);
		return cmd ? 0 : AS_EXIT_USAGE;
	}
	if (as_crypto_init()) {
		fprintf(stderr, "anshim-wallet: libsodium failed to initialise\n");
		return 1;
	}
	rc = parse_args(argc, argv, &args);
	if (rc)
		return rc;
	if (strcmp(cmd, "new") == 0)
		return cmd_new(&args);
	if (strcmp(cmd, "pass") == 0)
		return cmd_pass(&args);
	if (strcmp(cmd, "card") == 0)
		return cmd_card(&args);
	return usage_error("unknown command '%s'", cmd);
}
