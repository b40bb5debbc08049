/*
 * chaos_ledger.c - the chaos soak's direct reader of the cloud store
 * (tests/chaos/soak), a test tool, not a product program.
 *
 *   chaos_ledger pids KEYS_DIR       phones on stdin, one a line; prints
 *                                    "PHONE PID_HEX" for each (the pid the
 *                                    cloud derives with KEYS_DIR's
 *                                    pseudonym key)
 *   chaos_ledger visits STORE_DIR    every stored visit of every venue with
 *                                    entry within 400 days of now, one JSON
 *                                    object a line: venue, pid, kind,
 *                                    entry, exit, flags
 *
 * It opens the store read-only (a snapshot per venue; run it with the
 * daemon stopped for one consistent view) and the keys read-only.  The soak
 * counts these visits against what the gateways and wallets were told was
 * recorded.  Single-threaded.
 */
#include "authority.h"
#include "store.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WINDOW (400 * 86400LL)

static void print_hex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static int cmd_pids(const char *keys_dir)
{
	struct cl_authority a;
	const char *failed = NULL;
	char line[256];
	int rc, bad = 0;

	memset(&a, 0, sizeof a);
	rc = cl_authority_load(&a, keys_dir, CL_KEY_PSEUDONYM, &failed);
	if (rc) {
		fprintf(stderr, "chaos_ledger: cannot load %s: %s\n", failed ? failed : keys_dir,
			as_strerror(rc));
		return 1;
	}
	while (fgets(line, sizeof line, stdin)) {
		uint8_t pid[AS_PID_LEN];
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (as_pid_from_phone(pid, a.pseudonym_key, line) != 0) {
			fprintf(stderr, "chaos_ledger: not a phone number: %s\n", line);
			bad = 1;
			continue;
		}
		printf("%s ", line);
		print_hex(pid, sizeof pid);
		printf("\n");
	}
	cl_authority_wipe(&a);
	return bad;
}

struct venue_walk {
	struct cl_store *store;
	int64_t now;
	int rc;
};

static int print_visit(void *ctx, const struct cl_visit *v)
{
	(void)ctx;
	printf("{\"venue\":%" PRIu32 ",\"pid\":\"", v->venue_id);
	print_hex(v->pid, sizeof v->pid);
	printf("\",\"kind\":%u,\"entry\":%" PRId64 ",\"exit\":%" PRId64 ",\"flags\":%u}\n",
	       v->kind, v->entry, v->exit, v->flags);
	return 0;
}

static int each_venue(void *ctx, const struct cl_venue *v)
{
	struct venue_walk *w = ctx;

	w->rc = cl_store_visits_at(w->store, v->id, w->now - WINDOW, w->now + WINDOW, print_visit,
				   NULL);
	return w->rc != 0;
}

static int cmd_visits(const char *dir)
{
	struct venue_walk w;
	char err[512] = "";
	int rc;

	memset(&w, 0, sizeof w);
	w.now = (int64_t)time(NULL);
	rc = cl_store_open(&w.store, dir, 0, 1, err, sizeof err);
	if (rc) {
		fprintf(stderr, "chaos_ledger: cannot open the store %s: %s %s\n", dir,
			as_strerror(rc), err);
		return 1;
	}
	rc = cl_store_each_venue(w.store, each_venue, &w);
	if (!rc)
		rc = w.rc;
	cl_store_close(w.store);
	if (rc) {
		fprintf(stderr, "chaos_ledger: reading %s: %s\n", dir, as_strerror(rc));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (as_crypto_init()) {
		fprintf(stderr, "chaos_ledger: libsodium failed to initialise\n");
		return 1;
	}
	if (argc == 3 && strcmp(argv[1], "pids") == 0)
		return cmd_pids(argv[2]);
	if (argc == 3 && strcmp(argv[1], "visits") == 0)
		return cmd_visits(argv[2]);
	fprintf(stderr, "usage: chaos_ledger pids KEYS_DIR < phones\n"
			"       chaos_ledger visits STORE_DIR\n");
	return 2;
}
