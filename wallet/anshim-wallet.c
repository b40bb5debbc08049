/*
 * anshim-wallet - the reference visitor wallet: what a phone app does.
 *
 * Holds a holder key pair and the credential the authority issued for it,
 * and turns them into rotating passes (credential + time + holder
 * signature) rendered as QR codes.  In the Jeju flow it scans a venue's
 * code itself: it signs a check-in (or check-out), records it in its diary
 * and outbox (diary.c, one durable file) and delivers it to the cloud over
 * MQTT until the cloud's signed answer arrives (deliver.c).  Output never
 * shows the credential, keys, or the pass and venue code texts.
 * Single-threaded command-line tool (Paho's threads stay inside the mqtt
 * module); one command at a time per wallet directory (a lock file).
 */
#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"
#include "anshim/qr.h"
#include "anshim/strbuf.h"
#include "anshim/token.h"
#include "anshim/usage.h"
#include "anshim/venuecode.h"
#include "deliver.h"
#include "diary.h"
#ifdef ANSHIM_WALLET_ISSUER
#include "enrol.h"
#endif
#include "image.h"
#include "tokens.h"
#include "wconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


static const char usage_text[] =
"Usage: anshim-wallet COMMAND [OPTIONS]\n"
"\n"
"The reference visitor wallet. It keeps a holder key and the credential the\n"
"health authority issued for it, shows rotating passes as QR codes, and\n"
"checks in by scanning a venue's own QR code (a poster or a gateway screen).\n"
"\n"
"Commands:\n"
"  new  --dir DIR\n"
"      Create a wallet in DIR: a new holder key pair (DIR/holder.key, mode\n"
"      0600, and DIR/holder.pub). Refuses to overwrite an existing wallet.\n"
"      Give DIR/holder.pub to the authority: 'anshim-cloud issue --holder'.\n"
"      Also prints the holder id (see 'id').\n"
"  consent --issuer URL [--ca FILE]\n"
"      Show the consent text an issuer asks visitors to agree to.\n"
"  enrol --dir DIR --issuer URL --phone NUMBER [--ca FILE] [--yes]\n"
"        [--timeout S]\n"
"      Enrol this wallet by phone at an issuer (https://...): shows the\n"
"      consent text and asks you to type 'yes' (--yes: you have read it),\n"
"      has a 6-digit code sent to NUMBER, then asks for the code (one line\n"
"      on standard input per try). The enrolment credential is kept in\n"
"      DIR/enrolment (mode 0600) and the issuer's key in DIR/issuer.pub;\n"
"      the issuer's URL and --ca (its CA certificate) go to wallet.conf.\n"
"      The consent lasts 8 weeks (the issuer says until when): enrol again\n"
"      to renew it. The phone number is not kept in the wallet. Then fetches\n"
"      visit tokens (see 'tokens').\n"
"  tokens --dir DIR [--timeout S]\n"
"      Top up the visit tokens (DIR/tokens, mode 0600) from the issuer the\n"
"      wallet enrolled with, to a batch of 64. Each token makes one pass\n"
"      that shares no byte with any other pass of this wallet, so venues\n"
"      cannot link your visits. 'sync' also tops them up when fewer than\n"
"      16 are left.\n"
"  id --dir DIR\n"
"      Print this wallet's holder id (32 hex digits, a hash of holder.pub):\n"
"      its name in the MQTT topics anshim/v1/wallet/HOLDER_ID/..., and so\n"
"      in its account at the broker, wallet/HOLDER_ID, which the broker's\n"
"      operator creates (mosquitto_passwd; see OPERATE-CLOUD.md). The wallet\n"
"      logs in under that name when it has a password and no --username.\n"
"  pass --dir DIR [--at UNIX_TIME|ISO8601] [--format FMT] [--out FILE] [--v1]\n"
"      Print the current pass. With visit tokens in DIR/tokens it is a\n"
"      version 2 pass (AP2:...): one unused token, the time (now, or --at)\n"
"      and the token's own signature. Each token is shown once (it is\n"
"      marked used before the pass appears) and venues cannot link two of\n"
"      your visits by it. When they run out, get more ('tokens'). With\n"
"      --v1, or in a wallet that never had tokens, it is a version 1 pass\n"
"      (AP1:...) from the credential in DIR/credential, signed with the\n"
"      holder key: the same credential in every pass. A pass is valid at a\n"
"      gateway for about 90 s either side of its time; make a new one to\n"
"      show each time.\n"
"  card --credential FILE [--format FMT] [--out FILE]\n"
"      Render a printable card from a card credential ('anshim-cloud issue\n"
"      --card'). Cards carry no holder key: keep them like a key.\n"
"  config --dir DIR [--broker HOST:PORT|URI] [--authority FILE]\n"
"         [--username NAME] [--password-file FILE] [--ca FILE] [--timeout S]\n"
"      Set how check-ins reach the cloud: the values given replace those in\n"
"      DIR/wallet.conf (mode 0600; edit it to remove one), and --authority\n"
"      copies the authority's public signing key (sign.pub) to\n"
"      DIR/authority.pub; the wallet needs it to trust the cloud's answers.\n"
"      --password-file reads the MQTT password from the first line of FILE,\n"
"      so it never appears in a process list. With no option, prints the\n"
"      settings (the password hidden).\n"
"  checkin --dir DIR (CODE_TEXT | --image PHOTO) [--at TIME] [DELIVERY]\n"
"      Check in at a venue: CODE_TEXT is the text of its QR code (AV1:...),\n"
"      or --image reads it from a photo or screenshot with zbarimg. Signs a\n"
"      check-in (credential, venue code, time, nonce), records it in the\n"
"      diary and the outbox (DIR/diary, written durably before anything is\n"
"      sent), then delivers it. If the cloud cannot be reached the check-in\n"
"      stays queued and 'anshim-wallet sync' sends it later; it is recorded\n"
"      either way. A rotating code is only valid for a few minutes: check\n"
"      in when you scan it, not later.\n"
"  checkout --dir DIR [--checkin ID] [--at TIME] [DELIVERY]\n"
"      Record leaving: a signed check-out for the latest check-in that has\n"
"      none yet, or for --checkin ID (the id, or its first 8 or more hex\n"
"      digits, as 'diary' shows it). Queued and delivered like a check-in;\n"
"      the cloud takes its time as the visit's exit time.\n"
"  diary --dir DIR [--json]\n"
"      List this wallet's visits, oldest first: check-in time, venue id,\n"
"      code type (poster or rotating), check-out time, delivery state, venue\n"
"      name (posters carry it) and the check-in id. States: queued (not yet\n"
"      answered by the cloud), stored, duplicate (the cloud had it already:\n"
"      an earlier send got through), rejected: REASON (see below).\n"
"  sync --dir DIR [DELIVERY]\n"
"      Send everything queued and wait for the cloud's answers. Run it when\n"
"      the phone is back online; resending is safe, the cloud keeps each\n"
"      check-in once.\n"
"\n"
"Delivery options (DELIVERY; defaults from DIR/wallet.conf):\n"
"  --broker HOST:PORT|URI  the cloud's MQTT broker; tcp://HOST:PORT or\n"
"                          ssl://HOST:PORT (TLS; see --ca)\n"
"  --authority FILE        the authority's public signing key (default\n"
"                          DIR/authority.pub)\n"
"  --username NAME, --password-file FILE, --ca FILE\n"
"                          MQTT credentials and the broker's CA certificate\n"
"  --timeout SECONDS       how long delivery may take, connection included\n"
"                          (default 10). checkin and checkout give up at\n"
"                          the first failed connection; sync retries until\n"
"                          the timeout.\n"
"\n"
"Delivery: each queued message is published with MQTT QoS 1 on\n"
"anshim/v1/wallet/HOLDER_ID/checkin after subscribing to .../ack. A\n"
"message leaves the queue only when the cloud's answer for it arrives,\n"
"signed by the authority; a broker's acknowledgement is not enough.\n"
"Rejection reasons: bad-credential, bad-holder-signature, revoked-holder,\n"
"forged-code, unknown-venue, revoked-gateway, remote (the check-in time is\n"
"far from the rotating code's time: a code used from a screenshot),\n"
"replay (this code was used already), unknown-checkin (a check-out of a\n"
"check-in the cloud does not have), malformed.\n"
"\n"
"Output formats (--format):\n"
"  utf8   QR code in UTF-8 block characters on the terminal (default)\n"
"  ansi   QR code with ANSI colours, for terminals that distort blocks\n"
"  text   the QR text itself (AP1:... or AC1:...), e.g. for scripts\n"
"  png    PNG image; needs --out FILE\n"
"  svg    SVG image, to --out FILE or standard output\n"
"\n"
"Files in DIR: holder.key, holder.pub, credential, authority.pub,\n"
"wallet.conf, diary (check-ins, check-outs and their delivery state),\n"
"tokens (visit tokens and their secret keys, mode 0600), lock; enrolled\n"
"wallets also enrolment (the issuer's credential) and issuer.pub.\n"
"\n"
"Exit status: 0 on success (checkin and checkout also when the message\n"
"is only queued), 1 on failure (also: the cloud rejected the check-in, or\n"
"sync left messages queued), 2 on bad usage.\n";

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
	const char *code_text;      /* checkin: the one positional argument */
	const char *image;
	const char *broker;
	const char *authority;
	const char *username;
	const char *password_file;
	const char *ca;
	const char *checkin_id;
	int64_t timeout;            /* seconds; 0: from wallet.conf */
	int json;
	int v1;                     /* pass: a version 1 pass even with tokens */
};

static int parse_args(int argc, char **argv, struct wallet_args *a)
{
	static const struct option options[] = {
		{"dir", required_argument, NULL, 'd'},
		{"credential", required_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"at", required_argument, NULL, 't'},
		{"format", required_argument, NULL, 'f'},
		{"image", required_argument, NULL, 'i'},
		{"broker", required_argument, NULL, 'b'},
		{"authority", required_argument, NULL, 'a'},
		{"username", required_argument, NULL, 'u'},
		{"password-file", required_argument, NULL, 'p'},
		{"ca", required_argument, NULL, 'C'},
		{"checkin", required_argument, NULL, 'k'},
		{"timeout", required_argument, NULL, 'T'},
		{"json", no_argument, NULL, 'j'},
		{"v1", no_argument, NULL, '1'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->format = AS_QR_UTF8;
	optind = 2;
	while ((c = as_args_next("anshim-wallet", argc, argv, "d:c:o:t:f:h", options, NULL)) != -1) {
		switch (c) {
		case 'd': a->dir = optarg; break;
		case 'c': a->credential = optarg; break;
		case 'o': a->out = optarg; break;
		case 't': a->at = optarg; break;
		case 'f':
			if (as_qr_format_parse(&a->format, optarg))
				return usage_error("unknown format '%s' (use utf8, ansi, text, png or svg)", optarg);
			break;
		case 'i': a->image = optarg; break;
		case 'b': a->broker = optarg; break;
		case 'a': a->authority = optarg; break;
		case 'u': a->username = optarg; break;
		case 'p': a->password_file = optarg; break;
		case 'C': a->ca = optarg; break;
		case 'k': a->checkin_id = optarg; break;
		case 'T':
			if (as_parse_int64(optarg, 1, 600, &a->timeout))
				return usage_error("--timeout '%s' is not a number of seconds from 1 to 600", optarg);
			break;
		case 'j': a->json = 1; break;
		case '1': a->v1 = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return AS_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc && strcmp(argv[1], "checkin") == 0)
		a->code_text = argv[optind++];
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
	char hid_hex[2 * AS_HOLDER_ID_LEN + 1];
	uint8_t pk[AS_SIGN_PK_LEN], sk[AS_SIGN_SK_LEN], hid[AS_HOLDER_ID_LEN];
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
	as_holder_id(hid, pk);
	as_hex_encode(hid_hex, hid, sizeof hid);
	printf("wallet created in %s\nholder public key: %s\nholder id: %s (its account at "
	       "the broker: wallet/%s)\n"
	       "next: anshim-cloud issue --holder %s --phone ... --out %s/credential\n",
	       a->dir, hex, hid_hex, hid_hex, pk_path, a->dir);
	return 0;
}

static int cmd_id(const struct wallet_args *a)
{
	char pk_path[PATH_MAX], hex[2 * AS_HOLDER_ID_LEN + 1];
	uint8_t pk[AS_SIGN_PK_LEN], hid[AS_HOLDER_ID_LEN];
	int rc;

	if (!a->dir)
		return usage_error("%s", "id needs --dir DIR");
	if (wallet_path(pk_path, a->dir, "holder.pub"))
		return 1;
	rc = as_keyfile_read(pk_path, AS_KEY_SIGN_PUBLIC, pk);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot read %s: %s%s\n", pk_path, as_strerror(rc),
			rc == -ENOENT ? " (no wallet there: create one with 'anshim-wallet new "
			"--dir DIR')" : "");
		return 1;
	}
	as_holder_id(hid, pk);
	as_hex_encode(hex, hid, sizeof hid);
	printf("%s\n", hex);
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

/* The credential of the wallet in dir.  When it is missing, the hint says
 * which step comes next: no wallet there at all (no holder.key) means
 * 'anshim-wallet new'; a wallet without a credential means the authority
 * has not issued one for its holder.pub yet. */
static int load_wallet_credential(const char *dir, struct as_credential *cred)
{
	char path[PATH_MAX], key_path[PATH_MAX];
	int rc;

	if (wallet_path(path, dir, "credential") || wallet_path(key_path, dir, "holder.key"))
		return 1;
	rc = as_credential_load(path, cred);
	if (rc == -ENOENT && access(key_path, F_OK) != 0) {
		fprintf(stderr, "anshim-wallet: no wallet in %s (no holder.key there); create "
			"one with 'anshim-wallet new --dir %s', then have the authority issue "
			"its credential\n", dir, dir);
		return 1;
	}
	if (rc == -ENOENT) {
		fprintf(stderr, "anshim-wallet: the wallet in %s has no credential yet; ask the "
			"authority to issue one for its holder key (anshim-cloud issue --holder "
			"%s/holder.pub --phone ... --out %s)\n", dir, dir, path);
		return 1;
	}
	return load_credential(path, cred);
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

/* When fewer unused tokens than this are left, 'pass' says so. */
#define TOKENS_LOW 8

/*
 * A version 2 pass from the wallet's next unused token into text.  Returns
 * 1 when made (the token is gone from DIR/tokens first), 0 when the wallet
 * has no usable token, or -1 after printing why it failed.
 */
static int make_pass_v2(const char *dir, int64_t now, char text[AS_SCAN_TEXT_MAX],
			size_t *left)
{
	char path[PATH_MAX], err[PATH_MAX + 200];
	struct wl_tokens t;
	const struct wl_token *tok;
	struct as_pass2 pass;
	int lock, rc, made = 0;

	memset(&pass, 0, sizeof pass);

	if (wallet_path(path, dir, "tokens"))
		return -1;
	if (access(path, F_OK) != 0)
		return 0; /* a wallet that never had tokens */
	lock = wl_diary_lock(dir);
	if (lock < 0) {
		fprintf(stderr, "anshim-wallet: cannot lock the wallet in %s: %s%s\n", dir,
			as_strerror(lock), lock == -ENOENT ? " (no wallet there? anshim-wallet "
			"new --dir DIR)" : "");
		return -1;
	}
	rc = wl_tokens_load(&t, path, err, sizeof err);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot load the visit tokens: %s%s\n", err,
			rc == AS_E_CORRUPT ? " (delete the file and get new tokens with "
			"'anshim-wallet tokens')" : "");
		wl_diary_unlock(lock);
		return -1;
	}
	tok = wl_tokens_take(&t, now);
	if (tok) {
		struct wl_token chosen = *tok;

		/* Gone from the file before it is shown: never shown twice. */
		wl_tokens_prune(&t, now);
		rc = wl_tokens_save(&t, path);
		if (rc) {
			fprintf(stderr, "anshim-wallet: cannot save %s: %s\n", path, as_strerror(rc));
			made = -1;
		} else {
			rc = as_pass2_make(&pass, &chosen.token, now, chosen.sk);
			if (rc == 0)
				rc = as_pass2_to_text(text, AS_SCAN_TEXT_MAX, &pass);
			if (rc < 0)
				fprintf(stderr, "anshim-wallet: cannot make a pass: %s\n",
					as_strerror(rc));
			made = rc < 0 ? -1 : 1;
		}
		sodium_memzero(&chosen, sizeof chosen);
	}
	*left = wl_tokens_unused(&t, now);
	wl_tokens_free(&t);
	wl_diary_unlock(lock);
	return made;
}

static int cmd_pass(const struct wallet_args *a)
{
	char path[PATH_MAX], text[AS_SCAN_TEXT_MAX], caption[80], when[32];
	uint8_t sk[AS_SIGN_SK_LEN];
	struct as_credential cred;
	struct as_pass pass;
	int64_t now = (int64_t)time(NULL);
	size_t left = 0;
	int rc;

	if (!a->dir)
		return usage_error("%s", "pass needs --dir DIR");
	if (a->at && as_parse_time(a->at, &now))
		return usage_error("--at '%s' is not a time (unix seconds or ISO 8601)", a->at);
	if (!a->v1) {
		rc = make_pass_v2(a->dir, now, text, &left);
		if (rc < 0)
			return 1;
		if (rc > 0) {
			if (left < TOKENS_LOW)
				fprintf(stderr, "anshim-wallet: %zu visit token%s left; get more with "
					"'anshim-wallet tokens --dir %s'\n", left, left == 1 ? "" : "s",
					a->dir);
			snprintf(caption, sizeof caption, "Anshim pass - %s",
				 as_format_time(when, now));
			return render(a, text, caption);
		}
		/* A wallet that uses tokens does not fall back to the linkable
		 * version 1 pass by itself. */
		if (wallet_path(path, a->dir, "tokens"))
			return 1;
		if (access(path, F_OK) == 0) {
			fprintf(stderr, "anshim-wallet: no visit token left in %s; get more with "
				"'anshim-wallet tokens --dir %s', or show a version 1 pass with "
				"--v1 (venues can link it to your other visits)\n", a->dir, a->dir);
			return 1;
		}
	}
	if (load_wallet_credential(a->dir, &cred))
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

/* ---- the Jeju flow: venue codes, diary, delivery ---- */

static int read_password_file(const char *path, char **out)
{
	unsigned char *data;
	size_t len;
	int rc = as_file_read_all(path, 4096, &data, &len);

	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot read the password file %s: %s\n", path,
			as_strerror(rc));
		return 1;
	}
	data[strcspn((char *)data, "\r\n")] = '\0';
	*out = (char *)data;
	return 0;
}

/* Settings from DIR/wallet.conf with the command line's on top.  The
 * strings given on the command line replace the config's (freed here). */
static int load_settings(const struct wallet_args *a, struct wl_config *cfg)
{
	char err[512], uri[600];
	int rc;

	memset(cfg, 0, sizeof *cfg);
	rc = wl_config_load(cfg, a->dir, err, sizeof err);
	if (rc) {
		fprintf(stderr, "anshim-wallet: %s\n", rc == AS_E_CONFIG ? err : as_strerror(rc));
		return 1;
	}
	if (a->broker) {
		if (wl_broker_uri(uri, sizeof uri, a->broker)) {
			wl_config_free(cfg);
			return usage_error("--broker '%s' is not HOST:PORT or a tcp:// or ssl:// URI",
					   a->broker);
		}
		free(cfg->broker);
		cfg->broker = strdup(uri);
	}
	if (a->username) {
		free(cfg->username);
		cfg->username = strdup(a->username);
	}
	if (a->ca) {
		free(cfg->ca_file);
		cfg->ca_file = realpath(a->ca, NULL);
		if (!cfg->ca_file) {
			fprintf(stderr, "anshim-wallet: --ca %s: %s\n", a->ca, strerror(errno));
			wl_config_free(cfg);
			return 1;
		}
	}
	if (a->password_file) {
		char *pw;

		if (read_password_file(a->password_file, &pw)) {
			wl_config_free(cfg);
			return 1;
		}
		if (cfg->password) {
			sodium_memzero(cfg->password, strlen(cfg->password));
			free(cfg->password);
		}
		cfg->password = pw;
	}
	if (a->timeout)
		cfg->timeout = a->timeout;
	if ((a->broker && !cfg->broker) || (a->username && !cfg->username)) {
		fprintf(stderr, "anshim-wallet: out of memory\n");
		wl_config_free(cfg);
		return 1;
	}
	return 0;
}

static int load_holder_key(const char *dir, uint8_t sk[AS_SIGN_SK_LEN])
{
	char path[PATH_MAX];
	int rc;

	if (wallet_path(path, dir, "holder.key"))
		return 1;
	rc = as_keyfile_read(path, AS_KEY_SIGN_SECRET, sk);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot read holder key %s: %s%s\n", path,
			as_strerror(rc), rc == -ENOENT ? " (create a wallet first: "
			"anshim-wallet new --dir DIR)" : "");
		return 1;
	}
	return 0;
}

/* The authority key: --authority FILE, else DIR/authority.pub.  1 when
 * there is none (with a hint), -1 on a bad file. */
static int load_authority(const struct wallet_args *a, uint8_t pk[AS_SIGN_PK_LEN])
{
	char path[PATH_MAX];
	const char *file = a->authority;
	int rc;

	if (!file) {
		if (wallet_path(path, a->dir, "authority.pub"))
			return -1;
		file = path;
	}
	rc = as_keyfile_read(file, AS_KEY_SIGN_PUBLIC, pk);
	if (rc == -ENOENT && !a->authority)
		return 1;
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot read the authority public key %s: %s\n",
			file, as_strerror(rc));
		return -1;
	}
	return 0;
}

static void id_text(char out[2 * AS_APP_CHECKIN_ID_LEN + 1], const uint8_t *id)
{
	as_hex_encode(out, id, AS_APP_CHECKIN_ID_LEN);
}

static const char *code_type_name(uint8_t type)
{
	return type == AS_VC_POSTER ? "poster" : type == AS_VC_ROTATING ? "rotating" : "unknown";
}

/* Lock DIR and load its diary; 0, or 1 after saying why. */
static int open_diary(const char *dir, int *lock, struct wl_diary *d, char path[PATH_MAX])
{
	char err[PATH_MAX + 200];
	int rc;

	*lock = -1;
	if (wallet_path(path, dir, "diary"))
		return 1;
	*lock = wl_diary_lock(dir);
	if (*lock < 0) {
		fprintf(stderr, "anshim-wallet: cannot lock the wallet in %s: %s%s\n", dir,
			as_strerror(*lock), *lock == -ENOENT ? " (no wallet there? "
			"anshim-wallet new --dir DIR)" : "");
		return 1;
	}
	rc = wl_diary_load(d, path, err, sizeof err);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot load the diary: %s%s\n", err,
			rc == AS_E_CORRUPT ? " (the file was changed by something else than "
			"anshim-wallet; restore it from a backup)" : "");
		wl_diary_unlock(*lock);
		*lock = -1;
		return 1;
	}
	return 0;
}

/* What a rejection reason means to the visitor. */
static const char *reason_meaning(uint8_t reason)
{
	switch (reason) {
	case AS_APP_R_REPLAY: return "this code was used for a check-in already";
	case AS_APP_R_REMOTE: return "the code was shown far from the check-in time, "
				     "as with a screenshot";
	case AS_APP_R_FORGED_CODE: return "the venue code's signature is not valid";
	case AS_APP_R_UNKNOWN_VENUE: return "the cloud does not know this venue or gateway";
	case AS_APP_R_REVOKED_GATEWAY: return "the venue's gateway was revoked";
	case AS_APP_R_REVOKED_HOLDER: return "this wallet's credential was revoked";
	case AS_APP_R_CREDENTIAL: return "the credential is not valid";
	case AS_APP_R_HOLDER_SIG: return "the wallet's signature is not valid";
	case AS_APP_R_UNKNOWN_CHECKIN: return "the cloud has no such check-in";
	default: return "see the rejection reasons in anshim-wallet --help";
	}
}

/*
 * Deliver what is queued and report.  want (may be NULL) is the entry the
 * command just made: its outcome is reported by name, after headline (what
 * was recorded, e.g. "checked in at venue 2 ..."), which is printed only
 * when the cloud did not reject it, so the user reads one outcome.  give_up: stop at
 * the first failed connection (checkin/checkout).  Returns 0 when nothing
 * is left queued or it is only queued (checkin/checkout), 1 when want was
 * rejected or (sync) messages are left.
 */
static int deliver_and_report(const struct wallet_args *a, struct wl_diary *d,
			      const char *diary_path, const uint8_t *want_id,
			      const char *headline, int give_up)
{
	uint8_t authority_pk[AS_SIGN_PK_LEN], sk[AS_SIGN_SK_LEN];
	struct wl_deliver_opts o = {0};
	struct wl_deliver_result res;
	struct wl_config cfg;
	const struct wl_entry *e;
	size_t before = wl_diary_queued(d);
	int rc, arc;

	if (before == 0) {
		if (!want_id)
			printf("nothing to send: every check-in has its answer\n");
		return 0;
	}
	if (want_id && headline && wl_diary_find(d, want_id) == NULL)
		headline = NULL;
	if (load_settings(a, &cfg))
		return 1;
	arc = load_authority(a, authority_pk);
	if (arc < 0 || load_holder_key(a->dir, sk)) {
		wl_config_free(&cfg);
		return 1;
	}
	if (!cfg.broker || arc > 0) {
		if (headline)
			fputs(headline, stdout);
		printf("queued: %zu message(s) wait for delivery; no %s configured yet "
		       "(anshim-wallet config --dir %s %s), then run anshim-wallet sync --dir %s\n",
		       before, !cfg.broker ? "broker" : "authority key", a->dir,
		       !cfg.broker ? "--broker HOST:PORT" : "--authority sign.pub", a->dir);
		wl_config_free(&cfg);
		sodium_memzero(sk, sizeof sk);
		return want_id ? 0 : 1;
	}
	o.uri = cfg.broker;
	o.username = cfg.username;
	o.password = cfg.password;
	o.ca_file = cfg.ca_file;
	o.authority_pk = authority_pk;
	o.holder_pk = sk + 32;  /* an Ed25519 secret key ends with its public key */
	o.timeout_ms = (uint64_t)cfg.timeout * 1000;
	o.give_up_offline = give_up;
	o.diary_path = diary_path;
	o.own_id = want_id;
	rc = wl_deliver(d, &o, &res);
	sodium_memzero(sk, sizeof sk);
	wl_config_free(&cfg);

	e = want_id ? wl_diary_find(d, want_id) : NULL;
	if (e && e->state == AS_APP_REJECTED) {
		char idhex[2 * AS_APP_CHECKIN_ID_LEN + 1];

		id_text(idhex, e->id);
		fprintf(stderr, "anshim-wallet: the cloud rejected it: %s (%s); no visit was "
			"recorded\ncheck-in id %.16s\n", as_app_reason_name(e->reason),
			reason_meaning(e->reason), idhex);
		return 1;
	}
	if (headline)
		fputs(headline, stdout);
	if (e && e->state != WL_QUEUED)
		printf("delivered: %s by the cloud\n", wl_state_name(e->state));
	else if (e)
		printf("queued, not delivered yet: %s\nit is recorded; 'anshim-wallet sync --dir %s' "
		       "will send it\n", res.error, a->dir);
	else if (res.answered)
		printf("delivered %zu message(s)\n", res.answered);
	if (!want_id && wl_diary_queued(d))
		printf("%zu message(s) still queued: %s\nrun 'anshim-wallet sync --dir %s' again "
		       "later\n", wl_diary_queued(d), res.error, a->dir);
	else if (!want_id)
		printf("nothing left queued\n");
	else if (e && e->state != WL_QUEUED && wl_diary_queued(d))
		printf("%zu older message(s) still queued: %s\n", wl_diary_queued(d), res.error);
	if (rc && rc != AS_E_MQTT && rc != -ETIMEDOUT) {
		fprintf(stderr, "anshim-wallet: %s\n", res.error);
		return 1;
	}
	return want_id ? 0 : (wl_diary_queued(d) ? 1 : 0);
}

/* Sign, record and queue one message (a filled in m without nonce and
 * signature).  Prints the new id.  0, or 1 after saying why. */
static int record_message(const struct wallet_args *a, struct wl_diary *d, const char *path,
			  struct as_app_checkin *m, uint8_t id_out[AS_APP_CHECKIN_ID_LEN])
{
	uint8_t sk[AS_SIGN_SK_LEN], bin[AS_APP_CHECKIN_MAX];
	struct wl_entry *e;
	int rc, n;

	if (load_holder_key(a->dir, sk))
		return 1;
	rc = as_app_checkin_sign(m, sk);
	sodium_memzero(sk, sizeof sk);
	n = rc ? rc : as_app_checkin_encode(bin, sizeof bin, m);
	if (n < 0) {
		fprintf(stderr, "anshim-wallet: cannot sign the %s: %s%s\n",
			m->kind == AS_APP_CHECKIN ? "check-in" : "check-out", as_strerror(n),
			n == AS_E_IS_CARD ? " (DIR/credential is a card credential; a wallet needs "
			"a phone credential)" : "");
		return 1;
	}
	rc = wl_diary_add(d, bin, (size_t)n, &e);
	if (rc == 0)
		rc = wl_diary_save(d, path);
	if (rc) {
		fprintf(stderr, "anshim-wallet: cannot record it in %s: %s%s\n", path,
			as_strerror(rc), rc == AS_E_FULL ? " (the diary is full)" : "");
		return 1;
	}
	memcpy(id_out, e->id, AS_APP_CHECKIN_ID_LEN);
	return 0;
}

static int load_message_base(const struct wallet_args *a, struct as_app_checkin *m, int kind)
{
	char when[32];
	int64_t now = (int64_t)time(NULL);

	memset(m, 0, sizeof *m);
	m->kind = (uint8_t)kind;
	if (a->at && as_parse_time(a->at, &now))
		return usage_error("--at '%s' is not a time (unix seconds or ISO 8601)", a->at);
	m->time = now;
	if (m->time > (int64_t)time(NULL) + AS_APP_TIME_SKEW ||
	    m->time < (int64_t)time(NULL) - AS_APP_MAX_AGE) {
		fprintf(stderr, "anshim-wallet: --at %s is %s; the cloud refuses a %s more than "
			"%d minutes ahead or %d days behind its clock (give a time near now)\n",
			as_format_time(when, m->time),
			m->time > (int64_t)time(NULL) ? "in the future" : "too long ago",
			kind == AS_APP_CHECKOUT ? "check-out" : "check-in", AS_APP_TIME_SKEW / 60,
			AS_APP_MAX_AGE / 86400);
		return 1;
	}
	if (load_wallet_credential(a->dir, &m->cred))
		return 1;
	if (m->time < m->cred.issued_at || m->time >= m->cred.expires_at) {
		fprintf(stderr, "anshim-wallet: the credential is %s at that time (valid %s",
			m->time < m->cred.issued_at ? "not valid yet" : "expired",
			as_format_time(when, m->cred.issued_at));
		fprintf(stderr, " to %s); ask the authority for a new one\n",
			as_format_time(when, m->cred.expires_at));
		return 1;
	}
	return 0;
}

static int cmd_checkin(const struct wallet_args *a)
{
	char text[AS_VENUE_CODE_TEXT_MAX], path[PATH_MAX], when[32], err[300];
	char idhex[2 * AS_APP_CHECKIN_ID_LEN + 1], headline[AS_VENUE_NAME_MAX + 160];
	uint8_t id[AS_APP_CHECKIN_ID_LEN];
	struct as_app_checkin m;
	struct wl_diary d = {0};
	int rc, lock, others;

	if (!a->dir)
		return usage_error("%s", "checkin needs --dir DIR");
	if (!!a->code_text == !!a->image)
		return usage_error("%s", "checkin needs the code's text or --image PHOTO (one of them)");
	if (a->image) {
		rc = wl_image_find_code(a->image, AS_VENUE_CODE_PREFIX, text, sizeof text, &others,
					err, sizeof err);
		if (rc == AS_E_NOT_FOUND) {
			if (others)
				fprintf(stderr, "anshim-wallet: %s holds %d QR code(s), but no Anshim "
					"venue code (AV1:)\n", a->image, others);
			else
				fprintf(stderr, "anshim-wallet: no QR code found in %s (photograph "
					"the code straight on, whole and sharp)\n", a->image);
			return 1;
		}
		if (rc) {
			fprintf(stderr, "anshim-wallet: cannot read %s: %s\n", a->image,
				rc == -ENOENT ? "zbarimg is not installed (apt install zbar-tools)" :
				rc == -EIO ? err : as_strerror(rc));
			return 1;
		}
	} else if (strncmp(a->code_text, AS_VENUE_CODE_PREFIX, strlen(AS_VENUE_CODE_PREFIX)) != 0) {
		fprintf(stderr, "anshim-wallet: not a valid venue code: %s (an Anshim venue code "
			"starts with AV1:)\n", as_strerror(AS_E_PREFIX));
		return 1;
	} else if (snprintf(text, sizeof text, "%s", a->code_text) >= (int)sizeof text) {
		fprintf(stderr, "anshim-wallet: the code text is too long to be an Anshim venue code\n");
		return 1;
	}
	rc = load_message_base(a, &m, AS_APP_CHECKIN);
	if (rc)
		return rc;
	rc = as_venue_code_from_text(&m.code, text, strlen(text));
	if (rc) {
		fprintf(stderr, "anshim-wallet: not a valid venue code: %s%s\n", as_strerror(rc),
			rc == AS_E_PREFIX ? " (an Anshim venue code starts with AV1:)" : "");
		return 1;
	}
	if (m.code.type == AS_VC_ROTATING &&
	    (m.time < m.code.slot_start - 300 ||
	     m.time >= m.code.slot_start + m.code.slot_seconds + 300))
		fprintf(stderr, "anshim-wallet: warning: this rotating code was shown at %s, "
			"far from the check-in time; the cloud will likely reject it as remote\n",
			as_format_time(when, m.code.slot_start));
	if (open_diary(a->dir, &lock, &d, path))
		return 1;
	if (record_message(a, &d, path, &m, id)) {
		wl_diary_free(&d);
		wl_diary_unlock(lock);
		return 1;
	}
	id_text(idhex, id);
	snprintf(headline, sizeof headline,
		 "checked in at venue %u%s%s%s (%s code) at %s\ncheck-in id %.16s\n",
		 m.code.venue_id, m.code.type == AS_VC_POSTER ? " \"" : "",
		 m.code.type == AS_VC_POSTER ? m.code.name : "",
		 m.code.type == AS_VC_POSTER ? "\"" : "", code_type_name(m.code.type),
		 as_format_time(when, m.time), idhex);
	rc = deliver_and_report(a, &d, path, id, headline, 1);
	wl_diary_free(&d);
	wl_diary_unlock(lock);
	return rc;
}

/* The check-in named by text: its full id or a unique prefix of at least
 * 8 hex digits. */
static struct wl_entry *find_by_prefix(struct wl_diary *d, const char *text, int *ambiguous)
{
	char hex[2 * AS_APP_CHECKIN_ID_LEN + 1];
	struct wl_entry *found = NULL;
	size_t n = strlen(text);

	*ambiguous = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (d->e[i].m.kind != AS_APP_CHECKIN)
			continue;
		id_text(hex, d->e[i].id);
		if (n >= 8 && n <= sizeof hex - 1 && strncasecmp(hex, text, n) == 0) {
			if (found)
				*ambiguous = 1;
			found = &d->e[i];
		}
	}
	return *ambiguous ? NULL : found;
}

static int cmd_checkout(const struct wallet_args *a)
{
	char path[PATH_MAX], when[32], idhex[2 * AS_APP_CHECKIN_ID_LEN + 1], headline[160];
	uint8_t id[AS_APP_CHECKIN_ID_LEN];
	struct as_app_checkin m;
	struct wl_diary d = {0};
	struct wl_entry *in;
	int rc, lock, ambiguous = 0;

	if (!a->dir)
		return usage_error("%s", "checkout needs --dir DIR");
	rc = load_message_base(a, &m, AS_APP_CHECKOUT);
	if (rc)
		return rc;
	if (open_diary(a->dir, &lock, &d, path))
		return 1;
	rc = 1;
	in = a->checkin_id ? find_by_prefix(&d, a->checkin_id, &ambiguous) : wl_diary_open_checkin(&d);
	if (!in) {
		if (a->checkin_id)
			fprintf(stderr, "anshim-wallet: %s check-in matches '%s' (give 8 or more hex "
				"digits of an id that 'anshim-wallet diary' shows)\n",
				ambiguous ? "more than one" : "no", a->checkin_id);
		else
			fprintf(stderr, "anshim-wallet: no open check-in: the latest check-in has "
				"a check-out already, or there is none (use --checkin ID)\n");
		goto out;
	}
	id_text(idhex, in->id);
	if (wl_diary_checkout_of(&d, in->id)) {
		fprintf(stderr, "anshim-wallet: check-in %.16s has a check-out already\n", idhex);
		goto out;
	}
	if (in->state == AS_APP_REJECTED) {
		fprintf(stderr, "anshim-wallet: check-in %.16s was rejected by the cloud (%s); "
			"there is no visit to check out of\n", idhex, as_app_reason_name(in->reason));
		goto out;
	}
	if (m.time < in->m.time) {
		fprintf(stderr, "anshim-wallet: the check-out time %s is before the check-in ",
			as_format_time(when, m.time));
		fprintf(stderr, "(%s)\n", as_format_time(when, in->m.time));
		goto out;
	}
	memcpy(m.checkin_id, in->id, AS_APP_CHECKIN_ID_LEN);
	if (record_message(a, &d, path, &m, id))
		goto out;
	snprintf(headline, sizeof headline, "checked out of venue %u at %s (check-in %.16s)\n",
		 in->m.code.venue_id, as_format_time(when, m.time), idhex);
	rc = deliver_and_report(a, &d, path, id, headline, 1);
out:
	wl_diary_free(&d);
	wl_diary_unlock(lock);
	return rc;
}

static const char *state_text(char *buf, size_t cap, const struct wl_entry *e)
{
	if (e->state == AS_APP_REJECTED)
		snprintf(buf, cap, "rejected: %s", as_app_reason_name(e->reason));
	else
		snprintf(buf, cap, "%s", wl_state_name(e->state));
	return buf;
}

static void diary_json(struct as_strbuf *b, struct wl_diary *d)
{
	char hex[2 * AS_APP_CHECKIN_ID_LEN + 1], when[32], st[64];
	int first = 1;

	as_strbuf_add(b, "[");
	for (size_t i = 0; i < d->n; i++) {
		const struct wl_entry *e = &d->e[i], *out;

		if (e->m.kind != AS_APP_CHECKIN)
			continue;
		out = wl_diary_checkout_of(d, e->id);
		id_text(hex, e->id);
		as_strbuf_printf(b, "%s\n  {\"checkin_id\": \"%s\", \"time\": %" PRId64
				 ", \"time_text\": \"%s\", \"venue_id\": %u, \"venue_name\": ",
				 first ? "" : ",", hex, e->m.time, as_format_time(when, e->m.time),
				 e->m.code.venue_id);
		first = 0;
		if (e->m.code.type == AS_VC_POSTER)
			as_strbuf_add_json(b, e->m.code.name);
		else
			as_strbuf_add(b, "null");
		as_strbuf_printf(b, ", \"code_type\": \"%s\", \"state\": \"%s\", \"reason\": ",
				 code_type_name(e->m.code.type), wl_state_name(e->state));
		if (e->state == AS_APP_REJECTED)
			as_strbuf_printf(b, "\"%s\"", as_app_reason_name(e->reason));
		else
			as_strbuf_add(b, "null");
		if (out) {
			as_strbuf_printf(b, ", \"checkout_time\": %" PRId64 ", \"checkout_state\": \"%s\"",
					 out->m.time, state_text(st, sizeof st, out));
		} else {
			as_strbuf_add(b, ", \"checkout_time\": null, \"checkout_state\": null");
		}
		as_strbuf_add(b, "}");
	}
	as_strbuf_add(b, first ? "]\n" : "\n]\n");
}

static void diary_table(struct as_strbuf *b, struct wl_diary *d)
{
	char hex[2 * AS_APP_CHECKIN_ID_LEN + 1], when[32], out_when[32], st[64], ost[64];
	size_t visits = 0;

	as_strbuf_printf(b, "%-25s  %-8s  %-8s  %-25s  %-26s  %-12s  %s\n", "CHECK-IN", "VENUE",
			 "CODE", "CHECK-OUT", "STATE", "ID", "NAME");
	for (size_t i = 0; i < d->n; i++) {
		const struct wl_entry *e = &d->e[i], *out;

		if (e->m.kind != AS_APP_CHECKIN)
			continue;
		visits++;
		out = wl_diary_checkout_of(d, e->id);
		id_text(hex, e->id);
		state_text(st, sizeof st, e);
		if (out && out->state != e->state) {
			size_t l = strlen(st);
			snprintf(st + l, sizeof st - l, ", out %s", state_text(ost, sizeof ost, out));
		}
		as_strbuf_printf(b, "%-25s  %-8u  %-8s  %-25s  %-26s  %.12s  %s\n",
				 as_format_time(when, e->m.time), e->m.code.venue_id,
				 code_type_name(e->m.code.type),
				 out ? as_format_time(out_when, out->m.time) : "-", st, hex,
				 e->m.code.type == AS_VC_POSTER ? e->m.code.name : "-");
	}
	as_strbuf_printf(b, "%zu visit(s), %zu message(s) queued\n", visits, wl_diary_queued(d));
}

static int cmd_diary(const struct wallet_args *a)
{
	char path[PATH_MAX];
	struct as_strbuf b = {0};
	struct wl_diary d = {0};
	int lock, rc = 0;

	if (!a->dir)
		return usage_error("%s", "diary needs --dir DIR");
	if (open_diary(a->dir, &lock, &d, path))
		return 1;
	if (a->json)
		diary_json(&b, &d);
	else
		diary_table(&b, &d);
	if (b.failed || fwrite(b.p, 1, b.len, stdout) != b.len || fflush(stdout)) {
		fprintf(stderr, "anshim-wallet: cannot print the diary\n");
		rc = 1;
	}
	as_strbuf_free(&b);
	wl_diary_free(&d);
	wl_diary_unlock(lock);
	return rc;
}

/* Online and low on visit tokens: top them up (an enrolled wallet only;
 * the lock held).  A failure is reported, never fatal: the wallet's own
 * command went through. */
static void auto_topup(const char *dir)
{
#ifdef ANSHIM_WALLET_ISSUER
	char err[1024];
	unsigned added = 0;
	size_t usable = 0;
	int rc = wl_tokens_topup(dir, WL_TOKENS_TOPUP_BELOW, 30, &added, &usable, err, sizeof err);

	if (rc && rc != AS_E_NOT_FOUND)
		fprintf(stderr, "anshim-wallet: visit tokens not topped up: %s\n", err);
	else if (added)
		printf("visit tokens topped up: %zu ready (%u new)\n", usable, added);
#else
	(void)dir;
#endif
}

static int cmd_sync(const struct wallet_args *a)
{
	char path[PATH_MAX];
	struct wl_diary d = {0};
	int lock, rc;

	if (!a->dir)
		return usage_error("%s", "sync needs --dir DIR");
	if (open_diary(a->dir, &lock, &d, path))
		return 1;
	rc = deliver_and_report(a, &d, path, NULL, NULL, 0);
	wl_diary_free(&d);
	auto_topup(a->dir);
	wl_diary_unlock(lock);
	return rc;
}

static int cmd_config(const struct wallet_args *a)
{
	char path[PATH_MAX], hex[2 * AS_SIGN_PK_LEN + 1];
	uint8_t pk[AS_SIGN_PK_LEN];
	struct wl_config cfg;
	int rc, lock;

	if (!a->dir)
		return usage_error("%s", "config needs --dir DIR");
	lock = wl_diary_lock(a->dir);
	if (lock < 0) {
		fprintf(stderr, "anshim-wallet: cannot lock the wallet in %s: %s\n", a->dir,
			as_strerror(lock));
		return 1;
	}
	if (load_settings(a, &cfg)) {
		wl_diary_unlock(lock);
		return 1;
	}
	rc = 0;
	if (a->authority) {
		rc = as_keyfile_read(a->authority, AS_KEY_SIGN_PUBLIC, pk);
		if (rc)
			fprintf(stderr, "anshim-wallet: %s is not the authority's public signing "
				"key: %s (use the cloud's sign.pub)\n", a->authority, as_strerror(rc));
		else if (wallet_path(path, a->dir, "authority.pub"))
			rc = 1;
		else if ((rc = as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, pk, 0)) != 0)
			fprintf(stderr, "anshim-wallet: cannot write %s: %s\n", path, as_strerror(rc));
	}
	if (!rc && (a->broker || a->username || a->password_file || a->ca || a->timeout)) {
		rc = wl_config_save(&cfg, a->dir);
		if (rc)
			fprintf(stderr, "anshim-wallet: cannot write %s/wallet.conf: %s\n", a->dir,
				as_strerror(rc));
	}
	if (!rc) {
		printf("broker    %s\nusername  %s\npassword  %s\nca_file   %s\ntimeout   %llds\n",
		       cfg.broker ? cfg.broker : "(none: check-ins are only queued)",
		       cfg.username ? cfg.username : "(none)", cfg.password ? "(set)" : "(none)",
		       cfg.ca_file ? cfg.ca_file : "(system)", (long long)cfg.timeout);
		if (load_authority(a, pk) == 0) {
			as_hex_encode(hex, pk, sizeof pk);
			printf("authority %s\n", hex);
		} else {
			printf("authority (none: anshim-wallet config --dir %s --authority sign.pub)\n",
			       a->dir);
		}
	}
	wl_config_free(&cfg);
	wl_diary_unlock(lock);
	return rc ? 1 : 0;
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
	/* 'COMMAND --help': that command's part of the manual (usage.h). */
	if (as_usage_subcommand_help(argc, argv, "anshim-wallet", usage_text))
		return 0;
	if (as_crypto_init()) {
		fprintf(stderr, "anshim-wallet: libsodium failed to initialise\n");
		return 1;
	}
	if (!strcmp(cmd, "enrol") || !strcmp(cmd, "consent") || !strcmp(cmd, "tokens")) {
#ifdef ANSHIM_WALLET_ISSUER
		return !strcmp(cmd, "enrol")	 ? wl_cmd_enrol(argc, argv)
		       : !strcmp(cmd, "consent") ? wl_cmd_consent(argc, argv)
						 : wl_cmd_tokens(argc, argv);
#else
		fprintf(stderr, "anshim-wallet: this build has no issuer client (libcurl)\n");
		return 1;
#endif
	}
	rc = parse_args(argc, argv, &args);
	if (rc)
		return rc;
	if (strcmp(cmd, "new") == 0)
		return cmd_new(&args);
	if (strcmp(cmd, "id") == 0)
		return cmd_id(&args);
	if (strcmp(cmd, "pass") == 0)
		return cmd_pass(&args);
	if (strcmp(cmd, "card") == 0)
		return cmd_card(&args);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(&args);
	if (strcmp(cmd, "checkin") == 0)
		return cmd_checkin(&args);
	if (strcmp(cmd, "checkout") == 0)
		return cmd_checkout(&args);
	if (strcmp(cmd, "diary") == 0)
		return cmd_diary(&args);
	if (strcmp(cmd, "sync") == 0)
		return cmd_sync(&args);
	return usage_error("unknown command '%s'", cmd);
}
