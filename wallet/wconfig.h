/*
 * wconfig.h - the wallet's delivery settings, DIR/wallet.conf (`key value`
 * lines, common/config.h syntax; written by `anshim-wallet config`).
 *
 *   broker    tcp://HOST:PORT or ssl://HOST:PORT; unset: check-ins are
 *             only queued until a broker is configured
 *   username  MQTT user name (optional)
 *   password  MQTT password (optional; the file is mode 0600)
 *   ca_file   CA certificate of an ssl:// broker (optional; system CAs)
 *   timeout   how long a delivery may take, e.g. 10s (1s..10m)
 *   issuer    the issuer's URL (https://HOST[:PORT]), set by enrol
 *   issuer_ca CA certificate of the issuer (optional; system CAs)
 *
 * The authority's public signing key, which verifies the cloud's answers,
 * lives beside it in DIR/authority.pub (a key file).
 */
#ifndef WALLET_WCONFIG_H
#define WALLET_WCONFIG_H

#include <stddef.h>
#include <stdint.h>

struct wl_config {
	char *broker;
	char *username;
	char *password;
	char *ca_file;
	int64_t timeout;        /* seconds */
	char *issuer;           /* https://HOST[:PORT], or NULL */
	char *issuer_ca;
};

/* Load DIR/wallet.conf into c (zeroed beforehand); a missing file gives the
 * defaults.  0, AS_E_CONFIG (err says where) or -errno.  Single-threaded. */
int wl_config_load(struct wl_config *c, const char *dir, char *err, size_t err_len);

/* Write c to DIR/wallet.conf atomically, mode 0600.  0 or -errno. */
int wl_config_save(const struct wl_config *c, const char *dir);

void wl_config_free(struct wl_config *c);

/* Broker text from the command line: HOST:PORT becomes tcp://HOST:PORT; a
 * URI (tcp://, ssl://, mqtt://, mqtts://) is kept.  Into out; 0 or
 * AS_E_USAGE. */
int wl_broker_uri(char *out, size_t cap, const char *text);

#endif
