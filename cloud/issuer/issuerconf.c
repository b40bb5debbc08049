/*
 * issuerconf.c - anshim-issuerd's settings table, start-up checks and key
 * loading (see issuerconf.h).
 *
 * Keys in the state directory: issuer.key (Ed25519 secret, 0600) with
 * issuer.pub beside it, and hash.key (32-byte secret, 0600) for the keyed
 * hashes that stand in for phones, addresses and codes.  Both are made
 * once, with AS_WRITE_EXCLUSIVE, so two starts at once cannot end with
 * different keys; a key lost means every stored hash is useless (the
 * buckets start full, pending codes die), never that a wrong one is
 * trusted.  Single-threaded start-up.
 */
#include "issuerconf.h"

#include "code_sender.h"

#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/httpserver.h"
#include "anshim/keyfile.h"
#include "anshim/mqtt.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OPT(field) offsetof(struct is_config, field)

static const char *const log_choices[] = {"error", "warning", "notice", "info", "debug", NULL};

const struct as_config_option is_config_table[] = {
	AS_HTTP_LISTEN_CONFIG_ROWS(struct is_config, "8443",
				   "(behind a TLS proxy on the same machine)",
				   "0.0.0.0 for the internet",
				   "Wallets check it against the system's CAs (or the CA they were given).",
				   "the issuer's"),
	{"state_dir", AS_CFG_PATH, OPT(state_dir), 0, 0, NULL, 0, "/var/lib/anshim-issuer",
	 "The issuer's own keys (issuer.key, issuer.pub, hash.key; made on the first "
	 "start) and its state: pending codes, rate-limit buckets, and the "
	 "enrolments and tokens issued per phone (as keyed hashes) for revocation. "
	 "Back it up: without issuer.key no wallet's enrolment works."},
	{"map_size", AS_CFG_SIZE, OPT(map_size), 1 << 20, INT64_MAX, NULL, 0, "1G",
	 "The largest size of the state database. Each enrolment takes about 400 "
	 "bytes and each token about 80 until they expire; expired ones are purged "
	 "every hour."},
	{"contact_pub", AS_CFG_PATH, OPT(contact_pub), 0, 0, NULL, 0,
	 "/etc/anshim/issuer/contact.pub",
	 "The health authority's public contact key (contact.pub from the cloud's "
	 "keys_dir). At enrolment the phone number is sealed to it at once: only the "
	 "authority can open it, to find the person behind a visit token. The issuer "
	 "never stores the number itself."},
	{"authority_pub", AS_CFG_PATH, OPT(authority_pub), 0, 0, NULL, 0,
	 "/etc/anshim/issuer/sign.pub",
	 "The health authority's public signing key (sign.pub from the cloud's "
	 "keys_dir): it verifies the cloud's acknowledgements of token capsules."},
	{"token_id_key", AS_CFG_PATH, OPT(token_id_key), 0, 0, NULL, 0,
	 "/etc/anshim/issuer/tokenid.key",
	 "The key of visit token ids (tokenid.key from the cloud's keys_dir; a secret: "
	 "mode 0600, owned by the issuer's user). Each token id carries its issue's "
	 "serial, encrypted under this key: a venue sees random bytes, and the cloud, "
	 "which holds the same key, keeps one row per issue instead of one per token."},
	AS_MQTT_CONFIG_ROWS(struct is_config, "tcp://127.0.0.1:1883",
			    "The cloud's MQTT broker, tcp://HOST:PORT or ssl://HOST:PORT (8883 "
			    "with TLS). For every batch of visit tokens the issuer sends the "
			    "tokens' capsules there (anshim/v1/issuer/ISSUER_ID/capsules), from "
			    "an outbox in state_dir that keeps them until the cloud acknowledges "
			    "them: tokens are issued while the broker is away, and traced once "
			    "their capsules arrive."),
	{"client_id", AS_CFG_STRING, OPT(client_id), 1, 64, NULL, 0, "anshim-issuerd",
	 "MQTT client id. The shipped broker configuration replaces it with the "
	 "account name (broker_username)."},
	{"code_command", AS_CFG_PATH, OPT(code_command), 0, 0, NULL, AS_CFG_REQUIRED,
	 "/usr/local/lib/anshim/send-code",
	 "The program that sends a one-time code: an SMS or KakaoTalk gateway's "
	 "client. It is run with no arguments and reads two lines on standard "
	 "input: the phone number (E.164, e.g. +821012345678) and the message. Exit "
	 "status 0 means sent. Its output is discarded."},
	{"code_command_timeout", AS_CFG_DURATION, OPT(code_command_timeout), 1, 120, NULL, 0,
	 "10s", "How long code_command may run before it is stopped and the wallet "
	 "told to try again."},
	{"code_lifetime", AS_CFG_DURATION, OPT(code_lifetime), 1, 3600, NULL, 0, "5m",
	 "A code works for this long after it was sent, once."},
	{"code_tries", AS_CFG_INT, OPT(code_tries), 1, 20, NULL, 0, "5",
	 "After this many wrong codes the enrolment is dead: the visitor starts again "
	 "and a new code is sent."},
	{"consent_file", AS_CFG_PATH, OPT(consent_file), 0, 0, NULL, 0,
	 "/usr/share/anshim/consent/consent-1.txt",
	 "The consent text (UTF-8) that wallets show before enrolment, served at "
	 "GET /v1/consent with its SHA-256. A wallet sends back the version and hash "
	 "it showed; an enrolment for another text is refused."},
	{"consent_version", AS_CFG_INT, OPT(consent_version), 1, 1000000, NULL, 0, "1",
	 "The consent text's version. Raise it whenever the text changes: "
	 "enrolments to an older version get no more tokens until the visitor "
	 "consents again."},
	{"consent_lifetime", AS_CFG_DURATION, OPT(consent_lifetime), 3600, 366 * 86400, NULL, 0,
	 "8w", "How long a consent lasts: the enrolment credential's expiry, the "
	 "retention period. Renewing means consenting (enrolling) again."},
	{"token_lifetime", AS_CFG_DURATION, OPT(token_lifetime), 3600, 90 * 86400, NULL, 0, "7d",
	 "How long a visit token is valid (never past the consent's expiry). Short "
	 "keeps the revocation list small."},
	{"request_skew", AS_CFG_DURATION, OPT(request_skew), 10, 86400, NULL, 0, "5m",
	 "How far a tokens request's time may be from the issuer's clock."},
	{"rate_phone_burst", AS_CFG_INT, OPT(rate_phone_burst), 1, 1000000, NULL, 0, "3",
	 "Codes sent to one phone number at once before the limit applies."},
	{"rate_phone_period", AS_CFG_DURATION, OPT(rate_phone_period), 1, 86400, NULL, 0, "20m",
	 "One more code to the same phone number per this period, up to the burst."},
	{"rate_holder_burst", AS_CFG_INT, OPT(rate_holder_burst), 1, 1000000, NULL, 0, "10",
	 "Requests (enrolments and token batches) from one holder key at once."},
	{"rate_holder_period", AS_CFG_DURATION, OPT(rate_holder_period), 1, 86400, NULL, 0,
	 "10m", "One more request from the same holder key per this period."},
	{"rate_address_burst", AS_CFG_INT, OPT(rate_address_burst), 1, 1000000, NULL, 0, "200",
	 "Requests from one client address at once. Mobile carriers put many phones "
	 "behind one address: keep this generous."},
	{"rate_address_period", AS_CFG_DURATION, OPT(rate_address_period), 1, 86400, NULL, 0,
	 "1s", "One more request from the same client address per this period."},
	{"threads", AS_CFG_INT, OPT(threads), 1, 64, NULL, 0, "4",
	 "Threads that answer requests (a fixed pool). A request waiting for "
	 "code_command holds one."},
	{"max_connections", AS_CFG_INT, OPT(max_connections), 1, 65536, NULL, 0, "1024",
	 "Most open connections in all; more wait in the listen queue."},
	{"max_connections_per_ip", AS_CFG_INT, OPT(max_connections_per_ip), 0, 65536, NULL, 0,
	 "64", "Most open connections from one client address (0: no limit)."},
	{"connection_timeout", AS_CFG_DURATION, OPT(connection_timeout), 1, 3600, NULL, 0, "15s",
	 "A connection that sends nothing for this long is closed."},
	{"log_level", AS_CFG_ENUM, OPT(log_level), 0, 0, log_choices, 0, "info",
	 "Least important messages to log. 'info' logs each request's method, path "
	 "and status; never a phone number, code, key or address."},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL, NULL},
};

int is_config_load(struct is_config *c, const char *path, char *err, size_t err_len)
{
	return as_config_load_file(path, is_config_table, c, err, err_len);
}

void is_config_free(struct is_config *c)
{
	as_config_free(is_config_table, c);
}

int is_config_check(const struct is_config *c, const char *path, char *err, size_t err_len)
{
	char inner[512];
	int rc;

	if ((rc = as_http_listen_check(c->listen, c->tls_cert, c->tls_key, path, err,
				       err_len)) != 0)
		return rc;
	if ((rc = is_sender_check(c->code_command, inner, sizeof inner)) != 0) {
		as_err_printf(err, err_len, "%s: %s", path, inner);
		return rc;
	}
	return 0;
}

/* Read the key at dir/name, or (mode) make it. */
static int key_file(const char *dir, const char *name, enum as_key_kind kind, void *key,
		    enum is_keys_mode mode, int *have, char *err, size_t err_len)
{
	char path[PATH_MAX];
	int rc;

	*have = 0;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return -ENAMETOOLONG;
	rc = as_keyfile_read(path, kind, key);
	if (rc == -ENOENT && mode == IS_KEYS_CHECK)
		return 0;
	if (rc == -ENOENT && mode == IS_KEYS_CREATE) {
		if ((rc = as_mkdir_p(dir, 0700)) != 0) {
			as_err_printf(err, err_len, "cannot create state directory %s: %s", dir,
				      as_strerror(rc));
			return rc;
		}
		if (kind == AS_KEY_SIGN_SECRET) {
			uint8_t pk[AS_SIGN_PK_LEN];
			char pub[PATH_MAX];
			crypto_sign_keypair(pk, key);
			snprintf(pub, sizeof pub, "%s/issuer.pub", dir);
			rc = as_keyfile_write(path, kind, key, AS_WRITE_EXCLUSIVE);
			if (!rc)
				rc = as_keyfile_write(pub, AS_KEY_SIGN_PUBLIC, pk, 0);
		} else {
			randombytes_buf(key, as_key_len(kind));
			rc = as_keyfile_write(path, kind, key, AS_WRITE_EXCLUSIVE);
		}
		if (rc == AS_E_EXISTS)
			rc = as_keyfile_read(path, kind, key);
	}
	if (rc) {
		as_err_printf(err, err_len, "%s: %s (%s)", path, as_strerror(rc),
			      rc == -ENOENT ? "start anshim-issuerd once to make it, or restore it "
			      "from the backup" : rc == AS_E_KEY_PERMS ? "chmod 600 it" :
			      "restore it from the backup");
		return rc;
	}
	*have = 1;
	return 0;
}

int is_keys_load(struct is_keys *keys, const struct is_config *c, enum is_keys_mode mode,
		 char *err, size_t err_len)
{
	unsigned char *text = NULL;
	size_t len = 0;
	int rc;

	memset(keys, 0, sizeof *keys);
	rc = as_keyfile_read(c->contact_pub, AS_KEY_CONTACT_PUBLIC, keys->contact_pk);
	if (rc) {
		as_err_printf(err, err_len, "contact_pub %s: %s (copy contact.pub from the cloud's "
			      "keys_dir there)", c->contact_pub, as_strerror(rc));
		return rc;
	}
	rc = as_keyfile_read(c->authority_pub, AS_KEY_SIGN_PUBLIC, keys->authority_pk);
	if (rc) {
		as_err_printf(err, err_len, "authority_pub %s: %s (copy sign.pub from the cloud's "
			      "keys_dir there)", c->authority_pub, as_strerror(rc));
		return rc;
	}
	rc = as_keyfile_read(c->token_id_key, AS_KEY_PSEUDONYM, keys->token_id_key);
	if (rc) {
		as_err_printf(err, err_len, "token_id_key %s: %s (%s)", c->token_id_key,
			      as_strerror(rc), rc == AS_E_KEY_PERMS
			      ? "chmod 600 it" : "copy tokenid.key from the cloud's keys_dir there, "
			      "mode 0600; 'anshim-cloud keys init --token-ids' makes it for a key "
			      "set that has none");
		return rc;
	}
	rc = as_file_read_all(c->consent_file, 64 * 1024, &text, &len);
	if (rc) {
		as_err_printf(err, err_len, "consent_file %s: %s (install the consent text there, "
			      "at most 64 KiB)", c->consent_file, as_strerror(rc));
		return rc;
	}
	json_t *probe = json_stringn((const char *)text, len);
	if (!probe || len == 0 || memchr(text, 0, len)) {
		json_decref(probe);
		free(text);
		as_err_printf(err, err_len, "consent_file %s is empty or not UTF-8 text",
			      c->consent_file);
		return AS_E_CONFIG;
	}
	json_decref(probe);
	crypto_hash_sha256(keys->consent_hash, text, len);
	keys->consent_text = (char *)text;
	rc = key_file(c->state_dir, "issuer.key", AS_KEY_SIGN_SECRET, keys->issuer_sk, mode,
		      &keys->have_issuer, err, err_len);
	if (!rc && keys->have_issuer)
		crypto_sign_ed25519_sk_to_pk(keys->issuer_pk, keys->issuer_sk);
	if (!rc)
		rc = key_file(c->state_dir, "hash.key", AS_KEY_PSEUDONYM, keys->hash_key, mode,
			      &keys->have_hash, err, err_len);
	return rc;
}

void is_keys_wipe(struct is_keys *keys)
{
	free(keys->consent_text);
	sodium_memzero(keys, sizeof *keys);
}
