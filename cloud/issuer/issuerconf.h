/*
 * issuerconf.h - anshim-issuerd's configuration (its table, shipped as
 * packaging/issuer.conf) and what it names on disk: the TLS files, the
 * code command, the consent text, the authority's contact key and the
 * issuer's own keys in the state directory.  Shared by the daemon and by
 * the anshim-issuer tool.
 *
 * Single-threaded start-up; the loaded structs are read-only afterwards.
 */
#ifndef IS_ISSUERCONF_H
#define IS_ISSUERCONF_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/config.h"
#include "anshim/identity.h"

#define IS_DEFAULT_CONFIG "/etc/anshim/issuer.conf"

struct is_config {
	char *listen;
	int64_t port;
	char *tls_cert;
	char *tls_key;
	char *state_dir;
	uint64_t map_size;
	char *contact_pub;
	char *authority_pub;
	char *token_id_key;
	char *broker, *broker_username, *broker_password;
	char *broker_ca_file, *broker_cert_file, *broker_key_file;
	char *client_id;
	char *code_command;
	int64_t code_command_timeout;
	int64_t code_lifetime;
	int64_t code_tries;
	char *consent_file;
	int64_t consent_version;
	int64_t consent_lifetime;
	int64_t token_lifetime;
	int64_t request_skew;
	int64_t rate_phone_burst, rate_phone_period;
	int64_t rate_holder_burst, rate_holder_period;
	int64_t rate_address_burst, rate_address_period;
	int64_t threads;
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t connection_timeout;
	int log_level;
};

extern const struct as_config_option is_config_table[];

/* What the daemon holds in memory. */
struct is_keys {
	uint8_t issuer_sk[AS_SIGN_SK_LEN];
	uint8_t issuer_pk[AS_SIGN_PK_LEN];
	uint8_t hash_key[32];
	uint8_t token_id_key[32];           /* tokenid.key: the ids of visit tokens */
	uint8_t contact_pk[AS_BOX_PK_LEN];
	uint8_t authority_pk[AS_SIGN_PK_LEN]; /* verifies the cloud's feed acks */
	uint8_t consent_hash[32];           /* SHA-256 of the consent text */
	char *consent_text;                 /* malloc'd, NUL-terminated */
	int have_issuer, have_hash;         /* found (or made) */
};

enum is_keys_mode {
	IS_KEYS_CREATE, /* the daemon's start: make issuer.key and hash.key if absent */
	IS_KEYS_CHECK,  /* --check-config: absent keys are fine (made at start) */
	IS_KEYS_TOOL    /* anshim-issuer: the keys must exist */
};

/* Load c from path (c zeroed beforehand).  0, or an error in err. */
int is_config_load(struct is_config *c, const char *path, char *err, size_t err_len);
void is_config_free(struct is_config *c);
/* The checks beyond the table: TLS pair and listen address, code_command
 * runnable.  0, or an error with err naming the setting and the fix. */
int is_config_check(const struct is_config *c, const char *path, char *err, size_t err_len);
/* Read (or make, by mode) the keys, the contact key and the consent text.
 * keys is filled (zeroed first); is_keys_wipe frees and wipes it, also
 * after a failure.  0, or an error with err naming the file and the fix. */
int is_keys_load(struct is_keys *keys, const struct is_config *c, enum is_keys_mode mode,
		 char *err, size_t err_len);
void is_keys_wipe(struct is_keys *keys);

#endif
