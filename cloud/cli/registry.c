/*
 * registry.c - anshim-cloud enroll, revoke and stats: the gateway and
 * venue registry and the ingest statistics, read and written directly in
 * the LMDB store (the daemon sees changes with its next batch).
 * 'enroll --csv' enrols a roll-out's venue list row by row: a row is
 * compared with the registry first and written only when it changes
 * something, so a re-run writes nothing.  Single-threaded.
 */
#include "cli.h"
#include "commands.h"
#include "gwcoverage.h"
#include "venuecsv.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"
#include "anshim/policy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int copy_text(char *dst, size_t cap, const char *src, const char *what)
{
	if (strlen(src) >= cap) {
		fprintf(stderr, "anshim-cloud: %s is longer than %zu bytes\n", what, cap - 1);
		return -1;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* ---- enroll --csv ---- */

struct csv_tally {
	unsigned added, updated, unchanged, bad;
};

static int venue_same(const struct cl_venue *a, const struct cl_venue *b)
{
	return a->id == b->id && a->dwell_minutes == b->dwell_minutes &&
	       strcmp(a->name, b->name) == 0 && strcmp(a->address, b->address) == 0 &&
	       strcmp(a->category, b->category) == 0;
}

/* Enrol one good row unless the registry already says the same.  Prints
 * what it did with verbose, and any warning.  0 or a store error. */
static int enroll_row(struct cl_store *store, const struct cl_venuecsv_row *row,
		      struct csv_tally *t, int verbose)
{
	struct cl_venue old;
	struct cl_gateway gw, old_gw;
	char hex[2 * AS_GWID_LEN + 1];
	int venue_rc, gw_rc = AS_E_NOT_FOUND, rc;

	venue_rc = cl_store_get_venue(store, row->venue.id, &old);
	if (venue_rc && venue_rc != AS_E_NOT_FOUND)
		return venue_rc;
	if (row->has_gateway) {
		as_hex_encode(hex, row->gw_id, AS_GWID_LEN);
		gw_rc = cl_store_get_gateway(store, row->gw_id, &old_gw);
		if (gw_rc && gw_rc != AS_E_NOT_FOUND)
			return gw_rc;
	}
	if (venue_rc == 0 && venue_same(&old, &row->venue) &&
	    (!row->has_gateway || (gw_rc == 0 && old_gw.venue_id == row->venue.id))) {
		t->unchanged++;
		return 0;
	}
	memset(&gw, 0, sizeof gw);
	if (row->has_gateway) {
		memcpy(gw.gw_id, row->gw_id, AS_GWID_LEN);
		memcpy(gw.pk, row->gw_pk, AS_SIGN_PK_LEN);
		gw.venue_id = row->venue.id;
		gw.enrolled_at = (int64_t)time(NULL);
	}
	rc = cl_store_enroll(store, row->has_gateway ? &gw : NULL, &row->venue);
	if (rc)
		return rc;
	if (venue_rc == AS_E_NOT_FOUND && gw_rc == AS_E_NOT_FOUND)
		t->added++;
	else
		t->updated++;
	if (gw_rc == 0 && old_gw.venue_id != row->venue.id)
		printf("line %u: gateway %s moved from venue %u to venue %u\n", row->line, hex,
		       old_gw.venue_id, row->venue.id);
	if (gw_rc == 0 && old_gw.revoked)
		printf("line %u: gateway %s is revoked and stays revoked\n", row->line, hex);
	if (verbose)
		printf("line %u: venue %u %s%s%s\n", row->line, row->venue.id,
		       venue_rc == AS_E_NOT_FOUND ? "added" : "updated",
		       row->has_gateway ? " with gateway " : " (poster only)",
		       row->has_gateway ? hex : "");
	return 0;
}

static int enroll_csv(const char *path, int argc, char **argv, int verbose)
{
	struct cl_venuecsv *reader = NULL;
	struct cl_venuecsv_row row;
	struct csv_tally t = {0};
	struct cl_config cfg;
	struct cl_store *store;
	char why[256];
	time_t last_progress = time(NULL);
	FILE *in;
	int rc;

	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!in) {
		fprintf(stderr, "anshim-cloud: --csv %s: %s\n", path, strerror(errno));
		return 1;
	}
	rc = cl_venuecsv_open(&reader, in, why, sizeof why);
	if (rc) {
		fprintf(stderr, "anshim-cloud: %s: %s\n", path,
			rc == AS_E_CSV || rc == -ENOMEM || why[0] ? why : as_strerror(rc));
		if (in != stdin)
			fclose(in);
		return 1;
	}
	if (cl_cli_load_config(&cfg, argc, argv)) {
		rc = 1;
		goto out_reader;
	}
	if (as_mkdir_p(cfg.store_dir, 0700) || cl_cli_open_store(&store, &cfg, 0)) {
		cl_config_free(&cfg);
		rc = 1;
		goto out_reader;
	}
	/* Bounded by the file: each call consumes at least one record. */
	while ((rc = cl_venuecsv_next(reader, &row)) != 0) {
		if (rc == AS_E_CSV) {
			fprintf(stderr, "%s: line %u: %s\n", path, row.line, row.why);
			t.bad++;
			continue;
		}
		if (rc < 0)
			break;
		rc = enroll_row(store, &row, &t, verbose);
		if (rc) {
			fprintf(stderr, "%s: line %u: venue %u: cannot enrol: %s\n", path, row.line,
				row.venue.id, as_strerror(rc));
			break;
		}
		if (time(NULL) != last_progress) {
			last_progress = time(NULL);
			fprintf(stderr, "enroll: line %u: %u added, %u updated, %u unchanged, "
				"%u bad so far\n", row.line, t.added, t.updated, t.unchanged, t.bad);
		}
	}
	cl_store_close(store);
	cl_config_free(&cfg);
	if (rc < 0 && rc != AS_E_CSV)
		fprintf(stderr, "anshim-cloud: %s: stopped: %s; the rows before were enrolled, "
			"fix it and run the same command again\n", path, as_strerror(rc));
	printf("%s: %u venue(s) added, %u updated, %u unchanged, %u bad row(s)\n", path,
	       t.added, t.updated, t.unchanged, t.bad);
	if (!rc && t.added == 0 && t.updated == 0)
		printf("nothing changed: the registry already holds %s as it is\n",
		       t.bad ? "every good row" : "every row");
	if (!rc && t.bad)
		fprintf(stderr, "anshim-cloud: %u bad row(s) were not enrolled: fix them and run "
			"the same command again (the rows enrolled now stay unchanged)\n", t.bad);
	rc = rc || t.bad ? 1 : 0;
out_reader:
	cl_venuecsv_close(reader);
	if (in != stdin)
		fclose(in);
	return rc;
}

int cl_cmd_enroll(int argc, char **argv)
{
	static const struct option options[] = {
		{"gateway-key", required_argument, NULL, 'g'},
		{"venue", required_argument, NULL, 'v'},
		{"venue-name", required_argument, NULL, 'n'},
		{"address", required_argument, NULL, 'a'},
		{"category", required_argument, NULL, 'C'},
		{"dwell", required_argument, NULL, 'd'},
		{"csv", required_argument, NULL, 'F'},
		{"requests", required_argument, NULL, 'R'},
		{"approve-all", no_argument, NULL, 'Y'},
		{"reject-all", no_argument, NULL, 'N'},
		{"list", no_argument, NULL, 'L'},
		{"verbose", no_argument, NULL, 'V'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key = NULL, *csv = NULL, *requests = NULL;
	int verbose = 0, mode = 0;
	struct cl_gateway gw;
	struct cl_venue venue;
	struct cl_config cfg;
	struct cl_store *store;
	char id_hex[2 * AS_GWID_LEN + 1];
	int64_t venue_id = 0, dwell = CL_DEFAULT_DWELL;
	int c, rc, have_pk;

	memset(&gw, 0, sizeof gw);
	memset(&venue, 0, sizeof venue);
	optind = 2;
	while ((c = as_args_next("anshim-cloud", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'g': key = optarg; break;
		case 'v':
			if (as_parse_int64(optarg, 1, UINT32_MAX, &venue_id))
				return cl_usage_error("--venue '%s': a venue id is a number from 1",
						      optarg);
			break;
		case 'n':
			if (copy_text(venue.name, sizeof venue.name, optarg, "--venue-name"))
				return 1;
			break;
		case 'a':
			if (copy_text(venue.address, sizeof venue.address, optarg, "--address"))
				return 1;
			break;
		case 'C':
			if (as_policy_category_check(optarg))
				return cl_usage_error("--category '%s': a category is 1-24 letters "
						      "a-z, digits or '-' (e.g. bar, cafe)", optarg);
			if (copy_text(venue.category, sizeof venue.category, optarg, "--category"))
				return 1;
			break;
		case 'd':
			if (as_parse_int64(optarg, 1, 1440, &dwell))
				return cl_usage_error("--dwell '%s': minutes, 1 to 1440", optarg);
			break;
		case 'F': csv = optarg; break;
		case 'R': requests = optarg; break;
		case 'Y': case 'N': case 'L':
			if (mode && mode != (c == 'Y' ? 'A' : c == 'N' ? 'R' : 'l'))
				return cl_usage_error("%s", "give one of --approve-all, --reject-all "
						      "and --list");
			mode = c == 'Y' ? 'A' : c == 'N' ? 'R' : 'l';
			break;
		case 'V': verbose = 1; break;
		case 'c': break;
		case 'h': return cl_usage_error("%s", "see the enroll section of --help");
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s'", argv[optind]);
	if (csv && (key || venue_id || venue.name[0] || venue.address[0] || venue.category[0]))
		return cl_usage_error("%s", "enroll --csv FILE takes the venues from the file; "
				      "leave out --gateway-key, --venue, --venue-name, ...");
	if (mode && !requests)
		return cl_usage_error("%s", "--approve-all, --reject-all and --list go with "
				      "--requests FILE|DIR");
	if (requests && (csv || key || venue_id || venue.name[0]))
		return cl_usage_error("%s", "enroll --requests takes the gateways and venues from "
				      "the requests; leave out --csv, --gateway-key, --venue, ...");
	if (requests)
		return cl_enroll_requests(requests, mode, argc, argv);
	if (csv)
		return enroll_csv(csv, argc, argv, verbose);
	if (!key || !venue_id || !venue.name[0])
		return cl_usage_error("%s", "enroll needs --gateway-key KEY, --venue ID and "
				      "--venue-name NAME");
	rc = cl_cli_gateway_arg(key, gw.gw_id, gw.pk, &have_pk);
	if (rc || !have_pk) {
		fprintf(stderr, "anshim-cloud: --gateway-key %s: give the gateway's device.pub "
			"file or the 64-hex-digit public key that 'anshim-gw init' printed\n", key);
		return 1;
	}
	venue.id = (uint32_t)venue_id;
	venue.dwell_minutes = (uint16_t)dwell;
	gw.venue_id = venue.id;
	gw.enrolled_at = (int64_t)time(NULL);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (as_mkdir_p(cfg.store_dir, 0700) || cl_cli_open_store(&store, &cfg, 0)) {
		cl_config_free(&cfg);
		return 1;
	}
	rc = cl_store_enroll(store, &gw, &venue);
	cl_store_close(store);
	cl_config_free(&cfg);
	as_hex_encode(id_hex, gw.gw_id, AS_GWID_LEN);
	if (rc == AS_E_EXISTS) {
		fprintf(stderr, "anshim-cloud: gateway %s is enrolled with a different key\n", id_hex);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "anshim-cloud: cannot enroll gateway %s: %s\n", id_hex, as_strerror(rc));
		return 1;
	}
	printf("enrolled gateway %s at venue %u (%s), dwell %u min\n", id_hex, venue.id, venue.name,
	       venue.dwell_minutes);
	return 0;
}

int cl_cmd_revoke(int argc, char **argv)
{
	static const struct option options[] = {
		{"gateway", required_argument, NULL, 'g'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *gateway = NULL;
	struct cl_config cfg;
	struct cl_store *store;
	uint8_t id[AS_GWID_LEN], pk[AS_SIGN_PK_LEN];
	int c, rc, have_pk;

	optind = 2;
	while ((c = as_args_next("anshim-cloud", argc, argv, "h", options, NULL)) != -1) {
		if (c == 'g')
			gateway = optarg;
		else if (c == '?')
			return CL_EXIT_USAGE; /* as_args_next printed why */
		else if (c != 'c')
			return cl_usage_error("%s", "usage: anshim-cloud revoke --gateway ID");
	}
	if (!gateway || optind < argc)
		return cl_usage_error("%s", "usage: anshim-cloud revoke --gateway ID");
	if (cl_cli_gateway_arg(gateway, id, pk, &have_pk)) {
		fprintf(stderr, "anshim-cloud: --gateway %s: give the 32-hex-digit gateway id\n",
			gateway);
		return 1;
	}
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (cl_cli_open_store(&store, &cfg, 0)) {
		cl_config_free(&cfg);
		return 1;
	}
	rc = cl_store_revoke(store, id, (int64_t)time(NULL));
	cl_store_close(store);
	cl_config_free(&cfg);
	if (rc) {
		fprintf(stderr, "anshim-cloud: cannot revoke %s: %s\n", gateway,
			rc == AS_E_NOT_FOUND ? "no such gateway is enrolled" : as_strerror(rc));
		return 1;
	}
	printf("gateway %s revoked: its batches are refused from now on.\n"
	       "Publish it to gateways with 'anshim-cloud policy set --level N'.\n", gateway);
	return 0;
}

/* ---- stats ---- */

struct stats_ctx {
	int json;
	int first;
	int64_t now;
	struct cl_store *store;
};

static int print_reject(void *ctx, const char *reason, uint64_t count)
{
	struct stats_ctx *s = ctx;

	if (s->json)
		printf("%s\"%s\":%llu", s->first ? "" : ",", reason, (unsigned long long)count);
	else
		printf("  %-20s %llu\n", reason, (unsigned long long)count);
	s->first = 0;
	return 0;
}

/* How many chain events of each kind a gateway has (index: kind). */
static int count_chain_event(void *ctx, const struct cl_chain_event *ev)
{
	uint64_t *counts = ctx;

	counts[ev->kind <= CL_CHAIN_BREAK ? ev->kind : 0]++;
	return 0;
}

static int print_gateway(void *ctx, const struct cl_gateway *g)
{
	struct stats_ctx *s = ctx;
	struct cl_venue v;
	struct cl_chain_state chain;
	uint64_t events[CL_CHAIN_BREAK + 1] = {0};
	char hex[2 * AS_GWID_LEN + 1], seen[32], journal[2 * AS_JOURNAL_ID_LEN + 1] = "";
	long long lag = (long long)cl_gateway_lag(g);
	int rc;

	as_hex_encode(hex, g->gw_id, AS_GWID_LEN);
	if (cl_store_get_venue(s->store, g->venue_id, &v))
		snprintf(v.name, sizeof v.name, "?");
	if (cl_store_gateway_chain(s->store, g->gw_id, &chain) == 0)
		as_hex_encode(journal, chain.journal_id, AS_JOURNAL_ID_LEN);
	rc = cl_store_gateway_chain_events(s->store, g->gw_id, count_chain_event, events);
	if (rc)
		return rc;
	if (s->json) {
		printf("%s{\"gateway\":\"%s\",\"venue\":%u,\"revoked\":%s,\"records\":%llu,"
		       "\"batches\":%llu,\"through_seq\":%llu,\"last_seen\":%lld,\"lag_seconds\":%lld,"
		       "\"journal\":\"%s\",\"new_journals\":%llu,\"forks\":%llu,\"breaks\":%llu}",
		       s->first ? "" : ",", hex, g->venue_id, g->revoked ? "true" : "false",
		       (unsigned long long)g->records, (unsigned long long)g->batches,
		       (unsigned long long)g->through_seq, (long long)g->last_seen, lag, journal,
		       (unsigned long long)events[CL_CHAIN_NEW_JOURNAL],
		       (unsigned long long)events[CL_CHAIN_FORK],
		       (unsigned long long)events[CL_CHAIN_BREAK]);
	} else {
		printf("  %s  venue %-6u %-20.20s %s records %-8llu through %-8llu last seen %s "
		       "(lag %llds)\n", hex, g->venue_id, v.name, g->revoked ? "REVOKED" : "active ",
		       (unsigned long long)g->records, (unsigned long long)g->through_seq,
		       g->last_seen ? as_format_time(seen, g->last_seen) : "never", lag);
		if (events[CL_CHAIN_NEW_JOURNAL] || events[CL_CHAIN_FORK] || events[CL_CHAIN_BREAK])
			printf("    journal chain: %llu new journal(s), %llu fork(s), %llu break(s)\n",
			       (unsigned long long)events[CL_CHAIN_NEW_JOURNAL],
			       (unsigned long long)events[CL_CHAIN_FORK],
			       (unsigned long long)events[CL_CHAIN_BREAK]);
	}
	s->first = 0;
	return 0;
}

int cl_cmd_stats(int argc, char **argv)
{
	struct cl_config cfg;
	struct cl_store *store;
	struct cl_store_stats st;
	struct stats_ctx s = {0};
	int rc;

	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 2;
	while ((c = as_args_next("anshim-cloud", argc, argv, "", options, NULL)) != -1) {
		if (c == 'j')
			s.json = 1;
		else if (c != 'c')
			return CL_EXIT_USAGE; /* as_args_next printed why */
	}
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s' for 'stats'", argv[optind]);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (cl_cli_open_store(&store, &cfg, 1)) {
		cl_config_free(&cfg);
		return 1;
	}
	s.store = store;
	s.now = (int64_t)time(NULL);
	rc = cl_store_stats(store, &st);
	if (!rc) {
		if (s.json)
			printf("{\"visits\":%llu,\"people\":%llu,\"batches\":%llu,\"rejects_total\":%llu,"
			       "\"map_used\":%llu,\"tokens\":{\"known\":%llu,\"pending\":%llu,"
			       "\"replayed\":%llu},\"rejects\":{", (unsigned long long)st.visits,
			       (unsigned long long)st.people, (unsigned long long)st.batches,
			       (unsigned long long)st.rejects_total, (unsigned long long)st.map_used,
			       (unsigned long long)st.tokens, (unsigned long long)st.tokens_waiting,
			       (unsigned long long)st.tokens_replayed);
		else
			printf("visits stored   %llu\npeople          %llu\nbatches         %llu\n"
			       "store size      %.1f MiB\n"
			       "visit tokens    %llu issues known, pending-tokens %llu (waiting for "
			       "their issue), replayed-tokens %llu (refused)\n"
			       "rejected batches %llu, by reason:\n",
			       (unsigned long long)st.visits, (unsigned long long)st.people,
			       (unsigned long long)st.batches, (double)st.map_used / 1048576,
			       (unsigned long long)st.tokens, (unsigned long long)st.tokens_waiting,
			       (unsigned long long)st.tokens_replayed,
			       (unsigned long long)st.rejects_total);
		s.first = 1;
		rc = cl_store_each_reject(store, print_reject, &s);
	}
	if (!rc) {
		printf(s.json ? "},\"gateways\":[" : "gateways:\n");
		s.first = 1;
		rc = cl_store_each_gateway(store, print_gateway, &s);
		if (s.json)
			printf("]}\n");
	}
	cl_store_close(store);
	cl_config_free(&cfg);
	if (rc) {
		fprintf(stderr, "anshim-cloud: reading the store: %s\n", as_strerror(rc));
		return 1;
	}
	return 0;
}

/* ---- purge ---- */

int cl_cmd_purge(int argc, char **argv)
{
	struct cl_config cfg;
	struct cl_store *store;
	uint64_t deleted = 0;
	int64_t now, clock_behind = 0;
	int rc;

	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 2;
	while ((c = as_args_next("anshim-cloud", argc, argv, "", options, NULL)) != -1)
		if (c != 'c')
			return CL_EXIT_USAGE; /* as_args_next printed why */
	if (optind < argc)
		return cl_usage_error("unexpected argument '%s' for 'purge'", argv[optind]);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (cl_cli_open_store(&store, &cfg, 0)) {
		cl_config_free(&cfg);
		return 1;
	}
	now = (int64_t)time(NULL);
	/* Slices keep each write transaction short, so a running anshim-cloudd
	 * keeps ingesting between them.  What lies outside the window ingest
	 * accepts goes: older than retention, or later than now + time_skew. */
	rc = cl_store_purge_now(store, now, cfg.retention, cfg.time_skew, 20000, &deleted,
				&clock_behind);
	if (clock_behind) {
		char seen[32];

		fprintf(stderr,
			"anshim-cloud: this machine's clock reads earlier than a batch received at "
			"%s: the clock went back, so nothing dated in the future was purged; set the "
			"clock right (NTP)\n",
			as_format_time(seen, clock_behind));
	}
	cl_store_close(store);
	if (rc) {
		fprintf(stderr, "anshim-cloud: purge failed after %llu visits: %s\n",
			(unsigned long long)deleted, as_strerror(rc));
		cl_config_free(&cfg);
		return 1;
	}
	printf("purged %llu visits older than %lld days or dated later than %lld s from now (and "
	       "the capsules of people left with none); the audit log is kept\n",
	       (unsigned long long)deleted, (long long)(cfg.retention / 86400),
	       (long long)cfg.time_skew);
	cl_config_free(&cfg);
	return 0;
}
