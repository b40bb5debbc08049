/*
 * clconfig.h - the cloud's configuration: one table shared by anshim-cloudd
 * and anshim-cloud (which finds the store, keys and broker in it).  The
 * shipped example is generated from the table
 * (anshim-cloudd --print-example-config).
 */
#ifndef CL_CLCONFIG_H
#define CL_CLCONFIG_H

#include <stdint.h>

#include "anshim/config.h"

#define CL_DEFAULT_CONFIG "/etc/anshim/cloud.conf"

struct cl_config {
	char *store_dir;
	char *keys_dir;
	char *broker;
	char *client_id;
	char *shared_group;
	char *broker_username;
	char *broker_password;
	char *broker_ca_file;
	char *broker_cert_file;
	char *broker_key_file;
	char *audit_log;
	int64_t audit_witness_every;
	int64_t audit_witness_interval;
	char *accounts;
	char *reveal_socket;
	char *reveal_console_user;
	char *reveal_breakglass_group;
	uint64_t map_size;
	uint64_t trace_memory;
	int64_t retention;
	int64_t purge_interval;
	int64_t ingest_group;
	uint64_t ingest_group_bytes;
	int64_t app_slot_tolerance;
	uint64_t max_batch_bytes;
	int64_t ingest_queue_messages;
	uint64_t ingest_queue_bytes;
	int64_t time_skew;
	int log_level;
};

extern const struct as_config_option cl_config_table[];

/* Load path, or the defaults alone when path is NULL.  cfg must be zeroed;
 * release with cl_config_free. */
int cl_config_load(struct cl_config *cfg, const char *path, char *err, size_t err_len);
void cl_config_free(struct cl_config *cfg);
int cl_config_log_level(const struct cl_config *cfg);

#endif
