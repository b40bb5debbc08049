/*
 * enrolreq_cmd.c - anshim-cloud enroll --requests FILE|DIR: import the
 * self-service enrolment requests gateways printed at 'anshim-gw init'
 * (anshim/enrolreq.h), and approve or reject each one: asked on the
 * terminal, or all at once with --approve-all / --reject-all, or only
 * listed with --list.
 *
 * Invariants: a request is acted on only when its device signature
 * verifies; each decision is appended (one line, fsynced) to
 * STORE/enrol-decisions before the next request is looked at, and a
 * request decided before (same gateway key and creation time) is not asked
 * again, so importing the same folder twice changes nothing.  An approved
 * request enrols its gateway exactly as 'enroll --gateway-key' does; a
 * venue id of 0 gets the next free one.  Single-threaded.
 */
#include "cli.h"
#include "commands.h"

#include "anshim/bytes.h"
#include "anshim/enrolreq.h"
#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 100000
#define LINE_MAX_BYTES (AS_ENROLREQ_TEXT_MAX + 64)

struct decided {
	uint8_t key[AS_SIGN_PK_LEN + 8];  /* gw_pk || created_at */
};

struct run {
	int mode;                         /* CL_ENROL_* */
	struct cl_store *store;
	const struct cl_config *cfg;
	char who[CL_CLI_USER_MAX + 1];
	char decisions_path[PATH_MAX];
	struct decided *decided;          /* from STORE/enrol-decisions */
	size_t n_decided, cap_decided;
	unsigned approved, rejected, skipped, already, bad, listed;
	int quit;
};

static void decided_key(uint8_t out[AS_SIGN_PK_LEN + 8], const struct as_enrolreq *r)
{
	memcpy(out, r->gw_pk, AS_SIGN_PK_LEN);
	as_put_be64(out + AS_SIGN_PK_LEN, (uint64_t)r->created_at);
}

static int decided_add(struct run *run, const uint8_t key[AS_SIGN_PK_LEN + 8])
{
	if (run->n_decided == run->cap_decided) {
		size_t cap = run->cap_decided ? 2 * run->cap_decided : 64;
		void *p = realloc(run->decided, cap * sizeof *run->decided);
		if (!p)
			return -ENOMEM;
		run->decided = p;
		run->cap_decided = cap;
	}
	memcpy(run->decided[run->n_decided++].key, key, sizeof run->decided->key);
	return 0;
}

static int decided_has(const struct run *run, const uint8_t key[AS_SIGN_PK_LEN + 8])
{
	for (size_t i = 0; i < run->n_decided; i++)
		if (memcmp(run->decided[i].key, key, sizeof run->decided->key) == 0)
			return 1;
	return 0;
}

/* Load the earlier decisions: lines holding "key":"HEX" (gw_pk||created). */
static int decided_load(struct run *run)
{
	char line[1024];
	FILE *f = fopen(run->decisions_path, "r");
	int rc = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!rc && fgets(line, sizeof line, f)) {
		const char *p = strstr(line, "\"key\":\"");
		uint8_t key[AS_SIGN_PK_LEN + 8];

		if (p && strlen(p + 7) > 2 * sizeof key && p[7 + 2 * sizeof key] == '"') {
			char hex[2 * sizeof key + 1];
			memcpy(hex, p + 7, 2 * sizeof key);
			hex[2 * sizeof key] = '\0';
			if (as_hex_decode(key, sizeof key, hex) == 0)
				rc = decided_add(run, key);
		}
	}
	fclose(f);
	return rc;
}

/* Append one decision line and fsync it. */
static int decided_write(struct run *run, const struct as_enrolreq *r, const char *decision,
			 uint32_t venue)
{
	uint8_t key[AS_SIGN_PK_LEN + 8], gw_id[AS_GWID_LEN];
	char hex[2 * sizeof key + 1], id_hex[2 * AS_GWID_LEN + 1], when[32];
	struct as_strbuf b = {0};
	int rc;

	decided_key(key, r);
	as_hex_encode(hex, key, sizeof key);
	as_gateway_id(gw_id, r->gw_pk);
	as_hex_encode(id_hex, gw_id, sizeof gw_id);
	as_strbuf_printf(&b, "{\"at\":\"%s\",\"gateway\":\"%s\",\"decision\":\"%s\",\"venue\":%u,"
			 "\"key\":\"%s\",\"who\":", as_format_time(when, (int64_t)time(NULL)),
			 id_hex, decision, venue, hex);
	as_strbuf_add_clean(&b, run->who, 1);
	as_strbuf_add(&b, "}\n");
	if (b.failed) {
		as_strbuf_free(&b);
		return -ENOMEM;
	}
	rc = as_file_append_durable(run->decisions_path, b.p, b.len, 0600);
	as_strbuf_free(&b);
	return rc ? rc : decided_add(run, key);
}

static int max_venue(void *ctx, const struct cl_venue *v)
{
	uint32_t *max = ctx;

	if (v->id > *max)
		*max = v->id;
	return 0;
}

/* Enrol r's gateway; *venue_out the venue it went to. */
static int approve(struct run *run, const struct as_enrolreq *r, uint32_t *venue_out)
{
	struct cl_gateway gw;
	struct cl_venue venue, old;
	uint32_t id = r->venue_id;
	int rc, venue_exists;

	if (id == 0) {
		uint32_t max = 0;
		rc = cl_store_each_venue(run->store, max_venue, &max);
		if (rc)
			return rc;
		if (max == UINT32_MAX)
			return AS_E_FULL;
		id = max + 1;
	}
	rc = cl_store_get_venue(run->store, id, &old);
	if (rc && rc != AS_E_NOT_FOUND)
		return rc;
	venue_exists = rc == 0;
	memset(&venue, 0, sizeof venue);
	venue.id = id;
	memcpy(venue.name, r->name, strlen(r->name) + 1);
	memcpy(venue.address, r->address, strlen(r->address) + 1);
	memcpy(venue.category, r->category, strlen(r->category) + 1);
	venue.dwell_minutes = r->dwell_minutes ? r->dwell_minutes : CL_DEFAULT_DWELL;
	memset(&gw, 0, sizeof gw);
	memcpy(gw.pk, r->gw_pk, AS_SIGN_PK_LEN);
	as_gateway_id(gw.gw_id, r->gw_pk);
	gw.venue_id = id;
	gw.enrolled_at = (int64_t)time(NULL);
	/* A second gateway at an enrolled venue leaves the venue as it is. */
	rc = cl_store_enroll(run->store, &gw, venue_exists ? NULL : &venue);
	if (!rc)
		*venue_out = id;
	return rc;
}

static void describe(const struct as_enrolreq *r, const char *where)
{
	uint8_t gw_id[AS_GWID_LEN];
	char hex[2 * AS_GWID_LEN + 1], when[32];

	as_gateway_id(gw_id, r->gw_pk);
	as_hex_encode(hex, gw_id, sizeof gw_id);
	printf("%s: gateway %s, made %s\n  venue: ", where, hex, as_format_time(when, r->created_at));
	if (r->venue_id)
		printf("%u ", r->venue_id);
	else
		printf("(a new number) ");
	printf("\"%s\"", r->name);
	if (r->address[0])
		printf(", %s", r->address);
	printf("\n  category %s, usual visit %u min\n", r->category[0] ? r->category : "(none)",
	       r->dwell_minutes ? r->dwell_minutes : CL_DEFAULT_DWELL);
}

/* Ask on the terminal: 'a' approve, 'r' reject, 's' skip, 'q' quit. */
static int ask(void)
{
	char answer[32];

	for (int tries = 0; tries < 10; tries++) {
		printf("  approve, reject, skip or quit? [a/r/s/q] ");
		fflush(stdout);
		if (!fgets(answer, sizeof answer, stdin))
			return 'q';
		if (answer[0] == 'a' || answer[0] == 'r' || answer[0] == 's' || answer[0] == 'q')
			return answer[0];
	}
	return 'q';
}

static void handle(struct run *run, const char *where, const char *text, size_t len)
{
	struct as_enrolreq r;
	struct cl_gateway existing;
	uint8_t key[AS_SIGN_PK_LEN + 8], gw_id[AS_GWID_LEN];
	uint32_t venue = 0;
	int rc = as_enrolreq_from_text(&r, text, len), choice;

	if (rc) {
		fprintf(stderr, "%s: not a valid enrolment request: %s%s\n", where, as_strerror(rc),
			rc == AS_E_SIGNATURE ? " (changed after the gateway signed it: ask the "
			"venue for a new one)" : " (copy the whole line starting AE1:)");
		run->bad++;
		return;
	}
	decided_key(key, &r);
	as_gateway_id(gw_id, r.gw_pk);
	if (decided_has(run, key)) {
		run->already++;
		return;
	}
	if (cl_store_get_gateway(run->store, gw_id, &existing) == 0 &&
	    memcmp(existing.pk, r.gw_pk, AS_SIGN_PK_LEN) == 0 && (!r.venue_id ||
								  r.venue_id == existing.venue_id)) {
		describe(&r, where);
		printf("  already enrolled as venue %u: nothing to do\n", existing.venue_id);
		run->already++;
		return;
	}
	describe(&r, where);
	if (run->mode == 'l') {
		run->listed++;
		return;
	}
	choice = run->mode == 'A' ? 'a' : run->mode == 'R' ? 'r' : ask();
	if (choice == 'q') {
		run->quit = 1;
		return;
	}
	if (choice == 's') {
		run->skipped++;
		return;
	}
	if (choice == 'a') {
		rc = approve(run, &r, &venue);
		if (rc) {
			fprintf(stderr, "%s: cannot enrol: %s\n", where, as_strerror(rc));
			run->bad++;
			return;
		}
	}
	rc = decided_write(run, &r, choice == 'a' ? "approved" : "rejected", venue);
	if (rc)
		fprintf(stderr, "anshim-cloud: %s: cannot record the decision: %s\n",
			run->decisions_path, as_strerror(rc));
	if (choice == 'a') {
		printf("  approved: enrolled as venue %u\n", venue);
		run->approved++;
	} else {
		printf("  rejected\n");
		run->rejected++;
	}
}

/* Every request line of one file ("AE1:..."; blank and '#' lines skipped). */
static int read_file(struct run *run, const char *path)
{
	char *line = malloc(LINE_MAX_BYTES), where[PATH_MAX + 32];
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	if (!f || !line) {
		int rc = !f ? -errno : -ENOMEM;
		fprintf(stderr, "anshim-cloud: %s: %s\n", path, as_strerror(rc));
		free(line);
		if (f)
			fclose(f);
		run->bad++;
		return 0;
	}
	/* Bounded by the file; a line is at most LINE_MAX_BYTES. */
	while (!run->quit && fgets(line, LINE_MAX_BYTES, f)) {
		size_t len = strlen(line);
		int too_long = len == LINE_MAX_BYTES - 1 && line[len - 1] != '\n';

		n++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		snprintf(where, sizeof where, "%s:%u", path, n);
		if (too_long) {
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			fprintf(stderr, "%s: the line is too long for an enrolment request\n", where);
			run->bad++;
			continue;
		}
		if (len == 0 || line[0] == '#')
			continue;
		handle(run, where, line, len);
	}
	fclose(f);
	free(line);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder: its regular files in name order. */
static int read_dir(struct run *run, const char *dir)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "anshim-cloud: --requests %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d)) != NULL && n < MAX_FILES) {
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			void *p = realloc(names, ncap * sizeof *names);
			if (!p)
				break;
			names = p;
			cap = ncap;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (!run->quit)
			read_file(run, path);
		free(names[i]);
	}
	free(names);
	return 0;
}

int cl_enroll_requests(const char *path, int mode, int argc, char **argv)
{
	struct run run;
	struct cl_config cfg;
	struct stat st;
	int rc;

	memset(&run, 0, sizeof run);
	run.mode = mode;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "anshim-cloud: --requests %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (mode == 0 && !isatty(STDIN_FILENO))
		return cl_usage_error("%s", "enroll --requests asks about each request on a "
				      "terminal; otherwise give --approve-all, --reject-all or --list");
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (as_mkdir_p(cfg.store_dir, 0700) || cl_cli_open_store(&run.store, &cfg, 0)) {
		cl_config_free(&cfg);
		return 1;
	}
	run.cfg = &cfg;
	cl_cli_unix_user(run.who);
	snprintf(run.decisions_path, sizeof run.decisions_path, "%s/enrol-decisions",
		 cfg.store_dir);
	rc = decided_load(&run);
	if (rc)
		fprintf(stderr, "anshim-cloud: %s: %s\n", run.decisions_path, as_strerror(rc));
	else if (S_ISDIR(st.st_mode))
		rc = read_dir(&run, path);
	else
		rc = read_file(&run, path);
	cl_store_close(run.store);
	cl_config_free(&cfg);
	free(run.decided);
	if (mode == 'l')
		printf("%u request(s) waiting, %u decided or enrolled before, %u bad\n", run.listed,
		       run.already, run.bad);
	else
		printf("%u approved, %u rejected, %u skipped, %u decided or enrolled before, "
		       "%u bad%s\n", run.approved, run.rejected, run.skipped, run.already, run.bad,
		       run.quit ? " (stopped: run it again for the rest)" : "");
	if (run.approved)
		printf("next: 'anshim-cloud policy set --level N' tells the new gateways their "
		       "venue's category, and give each venue its broker account\n");
	return rc || run.bad ? 1 : 0;
}
