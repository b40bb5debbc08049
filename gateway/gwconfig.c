/*
 * gwconfig.c - the gateway's configuration table (see gwconfig.h).
 *
 * Every key, its bounds, default and help live here and only here; the
 * example file, --check-config and the parser all come from this table.
 * The default LMDB map size follows the pointer width: 32-bit armhf cannot
 * map more than about 1 GiB safely, 64-bit gateways get more room.
 * Any thread (pure data + calls into the config module).
 */
#include "gwconfig.h"

#include "anshim/batch.h"
#include "anshim/log.h"
#include "anshim/mqtt.h"

#include "anshim/error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define OPT(field) offsetof(struct gw_config, field)

#if UINTPTR_MAX > 0xffffffffu
#define DEFAULT_MAP_SIZE "4G"
#else
#define DEFAULT_MAP_SIZE "512M"
#endif

static const char *const clock_choices[] = {"auto", "synced", "unsynced", NULL};
static const char *const log_choices[] = {"error", "warning", "notice", "info", "debug", NULL};

const struct as_config_option gw_config_table[] = {
	{"state_dir", AS_CFG_PATH, OPT(state_dir), 0, 0, NULL, 0, "/var/lib/anshim-gateway",
	 "Directory for the gateway's state: the device key (device.key), the "
	 "import key, the current policy and the LMDB journal. Created mode 0700 "
	 "by 'anshim-gw init'."},
	{"authority_key", AS_CFG_PATH, OPT(authority_key), 0, 0, NULL, 0,
	 "/etc/anshim/authority.pub",
	 "The health authority's public signing key (its sign.pub). Passes, "
	 "cards and policies are verified against it, offline."},
	{"control_socket", AS_CFG_PATH, OPT(control_socket), 0, 0, NULL, 0,
	 "/run/anshim-gateway/control.sock",
	 "Unix socket for anshim-gw (status, events, register, import, purge). "
	 "Anyone who can connect can enter paper-register rows and read the "
	 "event stream: the socket is mode 0660."},
	{"source", AS_CFG_LIST, OPT(sources), 0, 256, NULL, 0, "stdin",
	 "A scan source; repeat the key for several. Each line read is one scan.\n"
	 "'source stdin': standard input, e.g. zbarcam --raw | anshim-gatewayd.\n"
	 "'source tty /dev/ttyACM0 9600': a serial or USB CDC-ACM scanner at the "
	 "given baud rate.\n"
	 "'source evdev /dev/input/by-id/...-event-kbd': a USB HID keyboard-style "
	 "scanner, grabbed so its keystrokes reach only the gateway.\n"
	 "'source socket /run/anshim-gateway/scan.sock': a local socket; each line "
	 "written is answered with its outcome (accepted, duplicate, rejected "
	 "REASON, not-collecting)."},
	{"max_line", AS_CFG_INT, OPT(max_line), 64, 65536, NULL, 0, "1024",
	 "Longest scan line in bytes; longer lines are dropped with the reason "
	 "'oversized' and the source keeps reading."},
	{"freshness", AS_CFG_DURATION, OPT(freshness), 5, 3600, NULL, 0, "90s",
	 "How far a pass's time may be from the gateway clock, either way. "
	 "Passes rotate every 30 s, so a screenshot goes stale after this."},
	{"duplicate_window", AS_CFG_DURATION, OPT(duplicate_window), 0, 86400, NULL, 0, "10m",
	 "A second scan of the same person within this window is answered "
	 "'duplicate' (already checked in) and not recorded again."},
	{"collect_level", AS_CFG_INT, OPT(collect_level), 1, 4, NULL, 0, "3",
	 "Record check-ins only while the authority's signed alert level is at "
	 "least this; otherwise scans are answered 'not-collecting'."},
	{"retention", AS_CFG_DURATION, OPT(retention), 86400, 366 * 86400, NULL, 0, "56d",
	 "Records older than this are purged, sent or not (8 weeks by default); keep it "
	 "at least the cloud's retention."},
	{"sent_retention", AS_CFG_DURATION, OPT(sent_retention), 0, 366 * 86400, NULL, 0,
	 "24h",
	 "Records the cloud has acknowledged are purged after this, so a stolen "
	 "gateway holds little."},
	{"purge_interval", AS_CFG_DURATION, OPT(purge_interval), 60, 7 * 86400, NULL, 0, "1h",
	 "How often the retention purge runs ('anshim-gw purge' runs it now)."},
	{"map_size", AS_CFG_SIZE, OPT(map_size), 1 << 20, INT64_MAX, NULL, 0, DEFAULT_MAP_SIZE,
	 "Maximum size of the LMDB journal. When it is full, scans are answered "
	 "'rejected: storage-full' until purging frees space; nothing stored is "
	 "lost. Keep it at or below 1G on 32-bit (armhf) systems."},
	{"commit_max_records", AS_CFG_INT, OPT(commit_max_records), 1, 65536, NULL, 0, "1000",
	 "Most records written in one group commit (one fsync)."},
	{"timezone", AS_CFG_STRING, OPT(timezone), 1, 64, NULL, 0, GW_DEFAULT_TIMEZONE,
	 "The time zone of the paper register: the dates and times typed with "
	 "'anshim-gw register' or imported with 'anshim-gw import' are read as "
	 "wall-clock times in this zone, whatever the machine's own zone is. A name "
	 "from the tz database (tzdata), e.g. Asia/Seoul or Europe/Berlin."},
	{"venue_id", AS_CFG_INT, OPT(venue_id), 0, UINT32_MAX, NULL, 0, "0",
	 "The venue id this gateway was enrolled at ('anshim-cloud enroll --venue "
	 "ID'). 'anshim-gw show-code' and the kiosk page use it, to put the venue "
	 "in the rotating QR code visitors scan with the wallet app; 0 = not set."},
	{"code_slot", AS_CFG_DURATION, OPT(code_slot), 5, 3600, NULL, 0, "30s",
	 "How long each rotating venue code (show-code, the kiosk page) is valid "
	 "before the next one replaces it. A screenshot sent away stops working "
	 "after the cloud's tolerance of a few slots."},
	{"web_listen", AS_CFG_STRING, OPT(web_listen), 1, 64, NULL, 0, "127.0.0.1",
	 "Address of the staff screen: the kiosk page (http://127.0.0.1:PORT/kiosk, "
	 "for a touchscreen at the counter) and the staff pages (/staff: paper "
	 "register, CSV upload, status; behind the staff PIN). 'off' turns it off. "
	 "An address other than loopback (the venue's LAN) needs web_tls_cert, "
	 "web_tls_key and a staff PIN ('anshim-gw staff-pin')."},
	{"web_port", AS_CFG_INT, OPT(web_port), 0, 65535, NULL, 0, "8470",
	 "TCP port of the staff screen (0: any free port; the log says which)."},
	{"web_tls_cert", AS_CFG_PATH, OPT(web_tls_cert), 0, 0, NULL, 0, NULL,
	 "PEM certificate (chain) of the staff screen, for HTTPS on the LAN."},
	{"web_tls_key", AS_CFG_PATH, OPT(web_tls_key), 0, 0, NULL, 0, NULL,
	 "PEM private key of web_tls_cert; not readable by other users."},
	{"web_dir", AS_CFG_PATH, OPT(web_dir), 0, 0, NULL, 0, GW_DEFAULT_WEB_DIR,
	 "Directory of the staff screen's pages (installed with the package)."},
	{"staff_lockout", AS_CFG_DURATION, OPT(staff_lockout), 10, 86400, NULL, 0, "5m",
	 "After 5 wrong staff PINs in a row from one device, that device waits this "
	 "long before the next try (20 wrong PINs from all devices lock everyone)."},
	{"staff_session", AS_CFG_DURATION, OPT(staff_session), 60, 7 * 86400, NULL, 0, "12h",
	 "How long a staff login lasts on a device."},
	AS_MQTT_CONFIG_ROWS(struct gw_config, NULL,
			    "The MQTT broker to send check-ins to, tcp://HOST:PORT or "
			    "ssl://HOST:PORT (8883 with TLS). Unset: the gateway works offline "
			    "only and keeps everything in its journal until it is set."),
	{"mqtt_keepalive", AS_CFG_DURATION, OPT(mqtt_keepalive), 5, 3600, NULL, 0, "60s",
	 "MQTT keep-alive: how soon a dead connection is noticed."},
	{"batch_max_records", AS_CFG_INT, OPT(batch_max_records), 1, 1024, NULL, 0, "500",
	 "Most records in one signed batch."},
	{"batch_max_bytes", AS_CFG_SIZE, OPT(batch_max_bytes), 512, AS_BATCH_MAX_BYTES, NULL, 0, "128k",
	 "Largest batch in bytes (keep it under the broker's message_size_limit)."},
	{"inflight_batches", AS_CFG_INT, OPT(inflight_batches), 1, 32, NULL, 0, "8",
	 "Batches sent and not yet acknowledged by the cloud, at most."},
	{"reconnect_min", AS_CFG_DURATION, OPT(reconnect_min), 1, 3600, NULL, 0, "1s",
	 "First delay before reconnecting to the broker; it doubles on each failure."},
	{"reconnect_max", AS_CFG_DURATION, OPT(reconnect_max), 1, 86400, NULL, 0, "5m",
	 "Longest delay between reconnection attempts (each is randomised, so many "
	 "gateways do not come back at once)."},
	{"ack_timeout", AS_CFG_DURATION, OPT(ack_timeout), 1, 3600, NULL, 0, "30s",
	 "Resend unacknowledged batches when the cloud has not acknowledged them "
	 "within this time."},
	{"heartbeat_interval", AS_CFG_DURATION, OPT(heartbeat_interval), 1, 86400, NULL, 0, "5m",
	 "How often the gateway sends the cloud a signed heartbeat (up since, "
	 "last seq, chain head, journal use, clock state) while it is connected, "
	 "even when nobody checks in. The cloud counts a gateway silent after two "
	 "intervals without one, and shows investigators when a venue's gateway "
	 "was silent. Changed by a restart."},
	{"clock", AS_CFG_ENUM, OPT(clock), 0, 0, clock_choices, 0, "auto",
	 "Is the wall clock trustworthy? 'auto' asks the kernel (NTP sync state); "
	 "'synced' or 'unsynced' force it. Records made while it is unsynced are "
	 "marked and corrected later from the cloud's signed time."},
	{"log_level", AS_CFG_ENUM, OPT(log_level), 0, 0, log_choices, 0, "info",
	 "Least important messages to log."},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL, NULL},
};

int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t err_len)
{
	if (!path)
		return as_config_defaults(gw_config_table, cfg, err, err_len);
	return as_config_load_file(path, gw_config_table, cfg, err, err_len);
}

void gw_config_free(struct gw_config *cfg)
{
	as_config_free(gw_config_table, cfg);
}

int gw_config_log_level(const struct gw_config *cfg)
{
	return AS_LOG_ERR + cfg->log_level;
}

int gw_config_check_timezone(const struct gw_config *cfg, const char *config_path, char *err,
			     size_t err_len)
{
	const char *tz = cfg->timezone, *dir = getenv("TZDIR");
	char path[PATH_MAX];
	struct stat st;
	int ok = tz && tz[0] && tz[0] != '/' && !strstr(tz, "..");

	for (const char *p = tz; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("/_+-", *p);
	if (ok) {
		snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
		ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	}
	if (ok)
		return 0;
	snprintf(err, err_len, "timezone '%.64s' in %s is not a time zone this machine knows: "
		 "give a name from the tz database such as Asia/Seoul (see "
		 "/usr/share/zoneinfo; install the package tzdata)", tz ? tz : "",
		 config_path ? config_path : "the configuration");
	return AS_E_CONFIG;
}

int gw_config_use_timezone(const struct gw_config *cfg, const char *config_path, char *err,
			   size_t err_len)
{
	int rc = gw_config_check_timezone(cfg, config_path, err, err_len);

	if (rc)
		return rc;
	if (setenv("TZ", cfg->timezone, 1) != 0) {
		snprintf(err, err_len, "cannot set the time zone: %s", strerror(errno));
		return -errno;
	}
	tzset();
	return 0;
}
