/*
 * audit_witness - what the audit witness costs on a log of N entries: the
 * reads anshim-cloudd does in its thread pool before it publishes a head
 * (the last entry from the tail; the entry it published before, where its
 * line ended; or, for a head it did not publish itself, at connection, a
 * walk of the whole log, chain and hashes) and the walk 'anshim-cloud
 * audit verify --witness' does (signatures too).
 *
 *   audit_witness [--entries N] [--runs R] [--dir DIR]
 *
 * It writes N entries with cl_audit_append (each fsynced; DIR defaults to
 * a new directory under /dev/shm, where fsync is cheap, else $TMPDIR or
 * /tmp), then times each read R times and prints the median.  The
 * directory is removed at the end.  Single thread.
 */
#include "audit.h"
#include "stats.h"

#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/keyfile.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNS_MAX 101

static void usage(void)
{
	fprintf(stderr, "usage: audit_witness [--entries N] [--runs R] [--dir DIR]\n"
		"  --entries N  entries in the log (1-10000000, default 100000)\n"
		"  --runs R     timed runs of each read (1-%d, default 5)\n"
		"  --dir DIR    where to make the log (default: /dev/shm, $TMPDIR or /tmp)\n",
		RUNS_MAX);
	exit(2);
}

static long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	long entries = 100000, runs = 5;
	const char *base = NULL;
	char dir[512], path[600], log[600], err[600], why[300];
	uint8_t seed[32], pk[32], sk[64], hash[CL_AUDIT_HASH_LEN];
	struct cl_config cfg;
	struct cl_audit_keys keys;
	struct cl_audit_entry e;
	struct cl_audit_head head;
	double t0, append_s, last_s[RUNS_MAX], at_s[RUNS_MAX], walk_s[RUNS_MAX],
		verify_s[RUNS_MAX];
	struct cl_audit_head before;
	uint64_t before_end = 0;
	uint64_t n = 0, bad = 0;
	struct stat st;
	int reached = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc)
			entries = parse_num(argv[++i], 1, 10000000);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = parse_num(argv[++i], 1, RUNS_MAX);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else
			usage();
	}
	if (as_crypto_init() != 0)
		return 1;
	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
		       : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof dir, "%s/anshim-audit-witness.XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "audit_witness: cannot make a directory under %s: %s\n", base,
			strerror(errno));
		return 1;
	}
	memset(seed, 0x07, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	snprintf(path, sizeof path, "%s/audit.key", dir);
	rc = as_keyfile_write(path, AS_KEY_SIGN_SECRET, sk, 0);
	snprintf(path, sizeof path, "%s/audit.pub", dir);
	rc = rc ? rc : as_keyfile_write(path, AS_KEY_SIGN_PUBLIC, pk, 0);
	rc = rc ? rc : cl_audit_keys_load(&keys, dir, err, sizeof err);
	if (rc) {
		fprintf(stderr, "audit_witness: keys in %s: %s\n", dir, as_strerror(rc));
		goto out;
	}
	snprintf(log, sizeof log, "%s/audit.log", dir);
	memset(&cfg, 0, sizeof cfg);
	cfg.keys_dir = dir;
	cfg.audit_log = log;

	t0 = bench_now_sec();
	for (long i = 1; i <= entries && !rc; i++) {
		memset(&e, 0, sizeof e);
		e.time = INT64_C(1767225600) + i;
		snprintf(e.who, sizeof e.who, "investigator-%ld", i % 17);
		snprintf(e.action, sizeof e.action, CL_AUDIT_TRACE);
		snprintf(e.case_ref, sizeof e.case_ref, "%032lx", (unsigned long)i);
		e.window_from = e.time - 14 * 86400;
		e.window_to = e.time;
		e.depth = 2;
		e.contacts = (uint32_t)(i % 40);
		snprintf(e.reason, sizeof e.reason, "cluster %ld, contacts of the case", i % 300);
		snprintf(e.case_no, sizeof e.case_no, "JEJU-%ld", i % 1000);
		rc = cl_audit_append(&cfg, &e, NULL, err, sizeof err);
		if (!rc && i == entries - 1) { /* the head published before */
			rc = cl_audit_last(log, &keys, &before, err, sizeof err);
			before_end = before.end;
		}
	}
	append_s = bench_now_sec() - t0;
	if (rc) {
		fprintf(stderr, "audit_witness: append: %s\n", err);
		goto out;
	}
	for (long r = 0; r < runs && !rc; r++) {
		t0 = bench_now_sec();
		rc = cl_audit_last(log, &keys, &head, err, sizeof err);
		last_s[r] = bench_now_sec() - t0;
		t0 = bench_now_sec();
		if (!rc && before_end)
			rc = cl_audit_entry_ending(log, &keys, before_end, &before, err, sizeof err);
		at_s[r] = bench_now_sec() - t0;
		t0 = bench_now_sec();
		rc = rc ? rc : cl_audit_verify_at(log, NULL, (uint64_t)entries - (entries > 1),
						  hash, &reached, &n, &bad, why, sizeof why);
		walk_s[r] = bench_now_sec() - t0;
		t0 = bench_now_sec();
		rc = rc ? rc : cl_audit_verify_at(log, &keys, (uint64_t)entries, hash, &reached,
						  &n, &bad, why, sizeof why);
		verify_s[r] = bench_now_sec() - t0;
	}
	if (rc || !reached || n != (uint64_t)entries || head.seq != (uint64_t)entries) {
		fprintf(stderr, "audit_witness: reading the log failed: %s %s\n", as_strerror(rc),
			why);
		rc = rc ? rc : -EIO;
		goto out;
	}
	stat(log, &st);
	printf("log: %ld entries, %.1f MiB, in %s\n", entries, st.st_size / 1048576.0, dir);
	printf("append (fsync each): %.0f entries/s\n", entries / append_s);
	printf("median of %ld runs:\n", runs);
	printf("  last entry from the tail (cl_audit_last):          %10.3f ms\n",
	       1e3 * bench_median(last_s, (size_t)runs));
	if (before_end)
		printf("  the head before, where its line ended:             %10.3f ms\n",
		       1e3 * bench_median(at_s, (size_t)runs));
	printf("  walk, chain and hashes (a broker's head, connect): %10.3f ms\n",
	       1e3 * bench_median(walk_s, (size_t)runs));
	printf("  walk with signatures (audit verify --witness):     %10.3f ms\n",
	       1e3 * bench_median(verify_s, (size_t)runs));
out:
	unlink(log);
	snprintf(path, sizeof path, "%s/audit.key", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/audit.pub", dir);
	unlink(path);
	rmdir(dir);
	return rc ? 1 : 0;
}
