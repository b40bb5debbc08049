/*
 * gwconfig.h - the gateway's configuration: one table, shared by
 * anshim-gatewayd (which runs on it) and anshim-gw (which finds the state
 * directory and control socket in it).  The shipped example file
 * packaging/gateway.conf is generated from this table.
 */
#ifndef GW_GWCONFIG_H
#define GW_GWCONFIG_H

#include <stdint.h>

#include "anshim/config.h"

#define GW_DEFAULT_CONFIG "/etc/anshim/gateway.conf"
#define GW_DEFAULT_TIMEZONE "Asia/Seoul"
#define GW_DEFAULT_WEB_DIR "/usr/share/anshim/gateway-web"

struct gw_config {
	char *state_dir;
	char *authority_key;
	char *control_socket;
	struct as_config_list sources;
	int64_t max_line;
	int64_t freshness;
	int64_t duplicate_window;
	int64_t collect_level;
	int64_t retention;
	int64_t sent_retention;
	int64_t purge_interval;
	uint64_t map_size;
	int64_t commit_max_records;
	char *timezone;         /* of the paper register's times */
	/* the rotating venue code (anshim-gw show-code) */
	int64_t venue_id;       /* 0 = not set */
	int64_t code_slot;      /* seconds */
	/* the staff screen (staffweb.c) */
	char *web_listen;       /* "off": none */
	int64_t web_port;
	char *web_tls_cert;
	char *web_tls_key;
	char *web_dir;
	int64_t staff_lockout;
	int64_t staff_session;
	/* sync to the cloud (empty broker: offline only) */
	char *broker;
	char *broker_username;
	char *broker_password;
	char *broker_ca_file;
	char *broker_cert_file;
	char *broker_key_file;
	int64_t mqtt_keepalive;
	int64_t batch_max_records;
	uint64_t batch_max_bytes;
	int64_t inflight_batches;
	int64_t reconnect_min;
	int64_t reconnect_max;
	int64_t ack_timeout;
	int64_t heartbeat_interval; /* seconds */
	int clock;              /* index into gw_clock_choices */
	int log_level;          /* index into gw_log_choices */
};

extern const struct as_config_option gw_config_table[];

/* Load path (or the defaults alone when path is NULL) into cfg, which must
 * be zeroed.  Error text in err.  Release with gw_config_free. */
int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t err_len);
void gw_config_free(struct gw_config *cfg);

/* The syslog level for cfg->log_level. */
int gw_config_log_level(const struct gw_config *cfg);

/*
 * Check that cfg->timezone names a zone of the tz database on this machine
 * (a file under $TZDIR or /usr/share/zoneinfo; the C library would take an
 * unknown name silently as UTC).  0, or AS_E_CONFIG with the fix in err,
 * naming config_path.  Any thread.
 */
int gw_config_check_timezone(const struct gw_config *cfg, const char *config_path, char *err,
			     size_t err_len);

/*
 * Make cfg->timezone the process's local time zone (TZ, tzset), so that
 * the register's dates and times are read in it.  Checks it first (as
 * gw_config_check_timezone).  Single-threaded CLI start-up only: it
 * changes the environment.
 */
int gw_config_use_timezone(const struct gw_config *cfg, const char *config_path, char *err,
			   size_t err_len);

#endif
