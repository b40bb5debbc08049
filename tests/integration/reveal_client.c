/*
 * reveal_client.c - a test helper that speaks to anshim-revealed through
 * cloud/revealclient.h exactly as the console does
 * (test_reveal_service.sh).  One call per run:
 *
 *   reveal_client SOCKET ask WHO PIDHEX FROM TO DEPTH REASON CASE_REF
 *   reveal_client SOCKET decide WHO ID approve|refuse REASON
 *   reveal_client SOCKET open WHO ID
 *   reveal_client SOCKET trace WHO PIDHEX FROM TO DEPTH REASON CONTACTS
 *
 * Prints the id or seq, or one line per opened contact ("PID PHONE
 * NAME" / "PID - why"); on a refusal prints "refused RC_NAME: message"
 * to stderr and exits 3 (1 for bad usage).  Single-threaded.
 */
#include "revealclient.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_contact(void *ctx, const struct cl_revealed_contact *c)
{
	char pid[2 * AS_PID_LEN + 1];

	(void)ctx;
	as_hex_encode(pid, c->pid, AS_PID_LEN);
	if (c->opened)
		printf("%s %s %s\n", pid, c->phone, c->name);
	else
		printf("%s - %s\n", pid, c->why);
	return 0;
}

static int scope_from(char **argv, struct cl_reveal_scope *sc)
{
	memset(sc, 0, sizeof *sc);
	cl_trace_params_init(&sc->params);
	if (strlen(argv[0]) != 2 * AS_PID_LEN || as_hex_decode(sc->params.pid, AS_PID_LEN, argv[0]))
		return -1;
	sc->params.from = strtoll(argv[1], NULL, 10);
	sc->params.to = strtoll(argv[2], NULL, 10);
	sc->params.depth = (unsigned)strtoul(argv[3], NULL, 10);
	snprintf(sc->reason, sizeof sc->reason, "%s", argv[4]);
	return 0;
}

int main(int argc, char **argv)
{
	struct cl_reveal_scope sc;
	char err[1024] = "";
	uint64_t id = 0;
	int rc;

	if (argc < 4)
		goto usage;
	if (strcmp(argv[2], "ask") == 0 && argc == 10) {
		if (scope_from(argv + 4, &sc))
			goto usage;
		snprintf(sc.case_ref, sizeof sc.case_ref, "%s", argv[9]);
		rc = cl_reveal_ask(argv[1], argv[3], &sc, &id, err, sizeof err);
	} else if (strcmp(argv[2], "trace") == 0 && argc == 10) {
		if (scope_from(argv + 4, &sc))
			goto usage;
		rc = cl_reveal_log_trace(argv[1], argv[3], &sc,
					 (uint32_t)strtoul(argv[9], NULL, 10), &id, err,
					 sizeof err);
	} else if (strcmp(argv[2], "decide") == 0 && argc == 7) {
		rc = cl_reveal_decide(argv[1], argv[3], strtoull(argv[4], NULL, 10),
				      strcmp(argv[5], "approve") == 0, argv[6], err, sizeof err);
	} else if (strcmp(argv[2], "open") == 0 && argc == 5) {
		rc = cl_reveal_open(argv[1], argv[3], strtoull(argv[4], NULL, 10), print_contact,
				    NULL, err, sizeof err);
	} else {
		goto usage;
	}
	if (rc) {
		fprintf(stderr, "refused %s: %s\n",
			rc == -EPERM ? "EPERM" : rc == -EALREADY ? "EALREADY" : as_errname(rc), err);
		return 3;
	}
	if (id)
		printf("%llu\n", (unsigned long long)id);
	return 0;
usage:
	fprintf(stderr, "usage: see reveal_client.c\n");
	return 1;
}
