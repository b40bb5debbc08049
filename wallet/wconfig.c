/*
 * wconfig.c - DIR/wallet.conf: the config table, loading with defaults,
 * and writing it back (quoted values, atomic, 0600).  The password is a
 * secret value: never echoed, wiped when freed.  Single-threaded CLI.
 */
#include "wconfig.h"

#include "anshim/config.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct as_config_option table[] = {
	{"broker", AS_CFG_STRING, offsetof(struct wl_config, broker), 1, 512, NULL, 0, NULL,
	 "The MQTT broker the cloud listens on: tcp://HOST:PORT, or ssl://HOST:PORT "
	 "with TLS. Unset: check-ins are only queued."},
	{"username", AS_CFG_STRING, offsetof(struct wl_config, username), 1, 256, NULL, 0, NULL,
	 "MQTT user name, if the broker asks for one."},
	{"password", AS_CFG_STRING, offsetof(struct wl_config, password), 1, 256, NULL,
	 AS_CFG_SECRET, NULL, "MQTT password, if the broker asks for one."},
	{"ca_file", AS_CFG_PATH, offsetof(struct wl_config, ca_file), 2, PATH_MAX, NULL, 0, NULL,
	 "CA certificate that signed an ssl:// broker's certificate (default: the "
	 "system's CAs)."},
	{"timeout", AS_CFG_DURATION, offsetof(struct wl_config, timeout), 1, 600, NULL, 0, "10s",
	 "How long one delivery may take, connection included."},
	{"issuer", AS_CFG_STRING, offsetof(struct wl_config, issuer), 9, 512, NULL, 0, NULL,
	 "The issuer this wallet enrolled with (https://HOST[:PORT]), where it gets "
	 "visit tokens. Set by 'anshim-wallet enrol'."},
	{"issuer_ca", AS_CFG_PATH, offsetof(struct wl_config, issuer_ca), 2, PATH_MAX, NULL, 0,
	 NULL, "CA certificate that signed the issuer's certificate (default: the "
	 "system's CAs). Set by 'anshim-wallet enrol --ca'."},
	{0},
};

int wl_config_load(struct wl_config *c, const char *dir, char *err, size_t err_len)
{
	char path[PATH_MAX];
	int rc;

	if (snprintf(path, sizeof path, "%s/wallet.conf", dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	rc = as_config_load_file(path, table, c, err, err_len);
	if (rc == -ENOENT)
		rc = as_config_defaults(table, c, err, err_len);
	return rc;
}

static void add_value(struct as_strbuf *b, const char *key, const char *v)
{
	if (!v)
		return;
	as_strbuf_printf(b, "%s \"", key);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			as_strbuf_addn(b, "\\", 1);
		as_strbuf_addn(b, v, 1);
	}
	as_strbuf_add(b, "\"\n");
}

int wl_config_save(const struct wl_config *c, const char *dir)
{
	struct as_strbuf b = {0};
	char path[PATH_MAX];
	int rc;

	if (snprintf(path, sizeof path, "%s/wallet.conf", dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	as_strbuf_add(&b, "# anshim-wallet delivery settings (anshim-wallet config --help)\n");
	add_value(&b, "broker", c->broker);
	add_value(&b, "username", c->username);
	add_value(&b, "password", c->password);
	add_value(&b, "ca_file", c->ca_file);
	as_strbuf_printf(&b, "timeout %" PRId64 "s\n", c->timeout);
	add_value(&b, "issuer", c->issuer);
	add_value(&b, "issuer_ca", c->issuer_ca);
	rc = b.failed ? -ENOMEM : as_file_write_atomic(path, b.p, b.len, 0600, 0);
	if (b.p)
		memset(b.p, 0, b.len);
	as_strbuf_free(&b);
	return rc;
}

void wl_config_free(struct wl_config *c)
{
	as_config_free(table, c);
}

int wl_broker_uri(char *out, size_t cap, const char *text)
{
	static const char *const schemes[] = {"tcp://", "ssl://", "mqtt://", "mqtts://"};
	const char *colon = strrchr(text, ':');

	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strncmp(text, schemes[i], strlen(schemes[i])) == 0)
			return snprintf(out, cap, "%s", text) < (int)cap ? 0 : AS_E_USAGE;
	if (strstr(text, "://") || !colon || colon == text || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5)
		return AS_E_USAGE;
	return snprintf(out, cap, "tcp://%s", text) < (int)cap ? 0 : AS_E_USAGE;
}
