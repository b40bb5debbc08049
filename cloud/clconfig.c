/*
 * clconfig.c - the cloud's configuration table (see clconfig.h).  Every
 * key, bound, default and help text lives here only.  Any thread.
 */
#include "clconfig.h"

#include "anshim/batch.h"
#include "anshim/log.h"
#include "anshim/mqtt.h"

#include <stddef.h>

#define OPT(field) offsetof(struct cl_config, field)

static const char *const log_choices[] = {"error", "warning", "notice", "info", "debug", NULL};

const struct as_config_option cl_config_table[] = {
	{"store_dir", AS_CFG_PATH, OPT(store_dir), 0, 0, NULL, 0, "/var/lib/anshim-cloud",
	 "Directory of the LMDB store: gateway registry, visits and their indexes, "
	 "sealed contact capsules, counters; and the last signed policy."},
	{"keys_dir", AS_CFG_PATH, OPT(keys_dir), 0, 0, NULL, 0, "/etc/anshim/authority",
	 "The authority key directory made by 'anshim-cloud keys init': sign.key "
	 "signs acks and policies (anshim-cloudd, anshim-cloud); contact.key opens "
	 "capsules, pseudonym.key derives pseudonyms and audit.key signs the audit "
	 "log: those three are read by the reveal service (anshim-revealed) alone."},
	AS_MQTT_CONFIG_ROWS(struct cl_config, "tcp://127.0.0.1:1883",
			    "The MQTT broker, tcp://HOST:PORT or ssl://HOST:PORT (8883 with "
			    "TLS)."),
	{"client_id", AS_CFG_STRING, OPT(client_id), 1, 64, NULL, 0, "anshim-cloudd",
	 "MQTT client id. Each aggregator instance needs its own. The shipped broker "
	 "configuration (use_username_as_clientid) replaces it with the account name "
	 "(broker_username), so that no other account can take it over: there, give "
	 "each instance its own account."},
	{"shared_group", AS_CFG_STRING, OPT(shared_group), 0, 64, NULL, 0, NULL,
	 "Subscribe to batches as the MQTT shared subscription $share/GROUP/... so "
	 "that several aggregator instances split the load. Unset: plain "
	 "subscription."},
	{"audit_log", AS_CFG_PATH, OPT(audit_log), 0, 0, NULL, 0, "/var/lib/anshim-reveal/audit.log",
	 "The append-only, hash-chained, signed audit log of traces and reveals. "
	 "Only the reveal service (anshim-revealed) writes it; its group (the "
	 "console) may read it."},
	{"audit_witness_every", AS_CFG_INT, OPT(audit_witness_every), 0, 1000000, NULL, 0, "1",
	 "anshim-cloudd publishes the audit log's head (its last entry's seq, hash "
	 "and signature) retained on the broker, anshim/v1/audit/head, once the log "
	 "has grown by this many entries, on every connection, and every "
	 "audit_witness_interval; 'anshim-cloud audit verify --witness' compares "
	 "the log with it, so entries cut off the end or rewritten are found. "
	 "Entries newer than the published head are not witnessed yet: 1 witnesses "
	 "each within a second. 0: never (extra aggregator instances that share "
	 "another's log)."},
	{"audit_witness_interval", AS_CFG_DURATION, OPT(audit_witness_interval), 1, 86400, NULL,
	 0, "1h", "Republish the audit head at least this often, even when the log "
	 "has not grown."},
	{"accounts", AS_CFG_PATH, OPT(accounts), 0, 0, NULL, 0, "/var/lib/anshim/console/accounts",
	 "The console's user accounts (name, role, argon2id password hash, lockout "
	 "state), one file owned by the console's user, mode 0640 in a group the "
	 "reveal service is in (anshim-accounts when packaged: it reads the roles "
	 "for the two-person rule) or 0600. Manage it with "
	 "'anshim-cloud user add|passwd|disable|list'; anshim-consoled reads it at "
	 "every login."},
	{"reveal_socket", AS_CFG_PATH, OPT(reveal_socket), 0, 0, NULL, 0,
	 "/run/anshim-reveal/reveal.sock",
	 "The Unix socket of the reveal service (anshim-revealed), the only process "
	 "that can read contact.key: the console, the CLI and the aggregator ask it "
	 "to open capsules and to write audit entries."},
	{"reveal_console_user", AS_CFG_STRING, OPT(reveal_console_user), 1, 63, NULL, 0,
	 "anshim-console",
	 "The Unix user (name or number) anshim-consoled runs as. The reveal service "
	 "takes the account name a request from this user carries (the console "
	 "authenticated it); any other caller is recorded by its own Unix user."},
	{"reveal_breakglass_group", AS_CFG_STRING, OPT(reveal_breakglass_group), 1, 63, NULL, 0,
	 "anshim-breakglass",
	 "The Unix group (name or number) whose members may use the command line's "
	 "break-glass reveal ('anshim-cloud trace --reveal'). Each one is logged as "
	 "'break-glass'."},
	{"map_size", AS_CFG_SIZE, OPT(map_size), 1 << 20, INT64_MAX, NULL, 0, "64G",
	 "Maximum size of the LMDB store (address space, not disk, until used)."},
	{"trace_memory", AS_CFG_SIZE, OPT(trace_memory), 16 << 20, 1ULL << 40, NULL, 0, "512M",
	 "The most working memory one trace may take (anshim-cloud trace, the "
	 "console). A trace that would need more stops cleanly after its last "
	 "whole order and says how many people it reached: narrow the window or "
	 "lower the depth (a depth-3 trace over two weeks of a busy city reaches "
	 "hundreds of thousands of people)."},
	{"retention", AS_CFG_DURATION, OPT(retention), 86400, 366 * 86400, NULL, 0, "56d",
	 "Visits and capsules older than this are purged (8 weeks by default)."},
	{"purge_interval", AS_CFG_DURATION, OPT(purge_interval), 60, 7 * 86400, NULL, 0, "24h",
	 "How often anshim-cloudd runs the retention purge."},
	{"ingest_group", AS_CFG_INT, OPT(ingest_group), 1, 65536, NULL, 0, "4096",
	 "Most messages (batches, wallet check-ins) ingested in one transaction "
	 "(one fsync). A group only fills when messages are waiting: bigger groups "
	 "drain a backlog faster (bench/visits_gen at 1M visits: 4096 batches per "
	 "commit ran 3.6 times as fast as 256)."},
	{"ingest_group_bytes", AS_CFG_SIZE, OPT(ingest_group_bytes), 65536, 1 << 30, NULL, 0,
	 "16M", "Most message bytes in one transaction (about 75,000 records), so "
	 "a commit and the acks that wait for it stay well under a second."},
	{"app_slot_tolerance", AS_CFG_DURATION, OPT(app_slot_tolerance), 0, 3600, NULL, 0, "60s",
	 "How far a wallet check-in's time may lie outside the slot of the rotating "
	 "venue code it shows (phones' clocks drift; a code is shown for a slot of "
	 "30 s by default). A screenshot sent away and used later is refused as "
	 "'remote'."},
	{"max_batch_bytes", AS_CFG_SIZE, OPT(max_batch_bytes), 1024, AS_BATCH_MAX_BYTES, NULL, 0,
	 "255174", "Larger messages on a batch topic are refused as oversize."},
	{"ingest_queue_messages", AS_CFG_INT, OPT(ingest_queue_messages), 16, 10000000, NULL, 0,
	 "20000", "Most messages waiting for the ingest thread. When the queue is "
	 "full, anshim-cloudd stops reading from the broker until it has drained to "
	 "half: the broker holds the rest (QoS 1, in the persistent session; see "
	 "max_queued_messages in its configuration) and nothing acknowledged is "
	 "dropped."},
	{"ingest_queue_bytes", AS_CFG_SIZE, OPT(ingest_queue_bytes), 1 << 20, 1ULL << 34, NULL, 0,
	 "64M", "Most message bytes waiting for the ingest thread (the same "
	 "backpressure as ingest_queue_messages). Keep it above ingest_group_bytes."},
	{"time_skew", AS_CFG_DURATION, OPT(time_skew), 0, 86400, NULL, 0, "10m",
	 "How far in the future a visit's time may lie (clocks differ a little). A "
	 "batch or wallet check-in with a time later than now plus this, or older "
	 "than retention, is refused ('time-future', 'time-past'); the purge deletes "
	 "stored visits later than now plus this."},
	{"log_level", AS_CFG_ENUM, OPT(log_level), 0, 0, log_choices, 0, "info",
	 "Least important messages to log."},
	{NULL, 0, 0, 0, 0, NULL, 0, NULL, NULL},
};

int cl_config_load(struct cl_config *cfg, const char *path, char *err, size_t err_len)
{
	if (!path)
		return as_config_defaults(cl_config_table, cfg, err, err_len);
	return as_config_load_file(path, cl_config_table, cfg, err, err_len);
}

void cl_config_free(struct cl_config *cfg)
{
	as_config_free(cl_config_table, cfg);
}

int cl_config_log_level(const struct cl_config *cfg)
{
	return AS_LOG_ERR + cfg->log_level;
}
